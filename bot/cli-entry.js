#!/usr/bin/env node
// The `acgs` bin: the package is TypeScript run by tsx (a runtime dependency), so this launcher
// registers tsx's ESM loader and hands over to bot/cli.ts. No build step, nothing to keep in sync.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
await main();
