/**
 * Where the local console may run. It plays every person of its workspace, so whoever uses it can
 * request an escalated action as one person and approve it as two others: the two-person rule
 * means nothing there. That is right for trying the bot on a laptop's local stack, and wrong
 * anywhere else, so the console never listens beyond loopback and refuses a real stack (a Docker
 * stack, or a database given by DATABASE_URL) unless the operator says they mean it.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The setting that lets the console run against a real stack anyway. */
export const CONSOLE_WITH_REAL_STACK = 'ACGS_CONSOLE_WITH_REAL_STACK';

const WHY = 'the console lets one person act as every user of its workspace, approvers and admins included, so its two-person approvals are one person’s';
const USE_SLACK = 'configure Slack instead (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (isIPv6(bare)) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/** Why the console may not listen on this address, or undefined when it may. */
export function consoleHostRefusal(host: string): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  return `the local Slack console listens on loopback only and will not serve on ${host.slice(0, 100)}: ${WHY}, and anyone who can reach it could use it; unset BOT_HOST (default 127.0.0.1) or ${USE_SLACK}`;
}

/** Throws when the console would listen beyond loopback (the stand-in's own listen uses it). */
export function assertConsoleHost(host: string): void {
  const refusal = consoleHostRefusal(host);
  if (refusal) throw new Error(refusal);
}

export interface ConsoleStackInput {
  /** Reads DATABASE_URL, ACGS_STACK and the opt-in. */
  env: Record<string, string | undefined>;
  /** The stack the bot controls, once chosen ('docker' or 'local'); unknown before the choice. */
  stackKind?: string;
}

/**
 * Why the console may not run against this stack, or undefined when it may: a Docker stack or a
 * DATABASE_URL is a real stack unless the operator set ACGS_CONSOLE_WITH_REAL_STACK=1.
 */
export function consoleStackRefusal({ env, stackKind }: ConsoleStackInput): string | undefined {
  if (env[CONSOLE_WITH_REAL_STACK] === '1') return undefined;
  const reasons: string[] = [];
  if ((env.DATABASE_URL ?? '') !== '') reasons.push('DATABASE_URL is set');
  if (stackKind === 'docker') reasons.push('the bot controls a Docker stack');
  else if (stackKind === undefined && env.ACGS_STACK?.trim() === 'docker') reasons.push('ACGS_STACK=docker');
  if (reasons.length === 0) return undefined;
  const optIn = env[CONSOLE_WITH_REAL_STACK] === undefined ? '' : ` (${CONSOLE_WITH_REAL_STACK} is "${env[CONSOLE_WITH_REAL_STACK]!.slice(0, 20)}", not 1)`;
  return `the local Slack console will not run against a real stack (${reasons.join('; ')}): ${WHY}; ${USE_SLACK}, or set ${CONSOLE_WITH_REAL_STACK}=1 to run it anyway${optIn}`;
}
