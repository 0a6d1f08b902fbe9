/**
 * A worker thread running one of our TypeScript modules: it registers tsx itself before loading
 * the module, whatever loader this process was started with (tsx's CLI, node --import tsx, vitest).
 */
import { Worker } from 'node:worker_threads';

export function startTypeScriptWorker(module: URL, workerData: unknown): Worker {
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
