/**
 * The App Home tab: the stack's live status and the commands the viewer may run. The status
 * is the `health` command's document (the same words as `/acgs health`): run through the command
 * path when the registry has the command, else from the same checks directly.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { CommandDefinition } from '../../commands/command.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import { usageLine } from '../../commands/registry.js';
import { healthDocument, runHealthChecks } from '../../commands/health.js';
import type { ResultDocument } from '../../commands/result.js';
import { escapeText, fitText, packLines } from './mrkdwn.js';
import { renderDocument, SLACK_LIMITS } from './render.js';

type KnownBlock = slackTypes.KnownBlock;

/**
 * Who may run (or request) what: `npm start` asks the command gate (the authorization policy).
 * Without one, every command is listed; running it still goes through the gate.
 */
export type MayRun = (userId: string, command: CommandDefinition) => boolean | Promise<boolean>;

export interface HomeView {
  type: 'home';
  blocks: KnownBlock[];
}

/** Room kept for the command list below the status. */
const COMMAND_LIST_BLOCKS = 12;

export async function buildHomeView(deps: ExecutionDeps, userId: string, mayRun: MayRun = () => true): Promise<HomeView> {
  const status = await stackStatus(deps, userId);
  const statusBlocks = renderDocument({ ...status, actions: [] }, { maxBlocks: SLACK_LIMITS.homeBlocks - COMMAND_LIST_BLOCKS }).blocks;

  const allowed: CommandDefinition[] = [];
  for (const command of deps.registry.list()) if (await mayRun(userId, command)) allowed.push(command);
  const lines = allowed.map((command) => `*/acgs ${escapeText(usageLine(command))}*  ${escapeText(command.summary)}`);
  const listBlocks: KnownBlock[] = [
    { type: 'divider' },
    { type: 'header', text: { type: 'plain_text', text: 'Commands you can run', emoji: true } },
    ...packLines(lines.length > 0 ? lines : ['_No commands are open to you._'], SLACK_LIMITS.sectionText)
      .slice(0, COMMAND_LIST_BLOCKS - 3)
      .map((text): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } })),
    { type: 'context', elements: [{ type: 'mrkdwn', text: fitText('Type /acgs help <command> in any channel for details and examples.', SLACK_LIMITS.contextText) }] },
  ];
  return { type: 'home', blocks: [...statusBlocks, ...listBlocks] };
}

async function stackStatus(deps: ExecutionDeps, userId: string): Promise<ResultDocument> {
  if (deps.registry.find('health')) {
    const outcome = await executeCommandLine(deps, { line: 'health', actor: { id: userId }, origin: 'home' });
    return outcome.document;
  }
  // A registry without `health` (a trimmed one): the same checks and document, run directly and unrecorded.
  const checks = await runHealthChecks({ services: deps.services, signal: new AbortController().signal });
  return healthDocument(checks, deps.services.checkTimeoutMs);
}
