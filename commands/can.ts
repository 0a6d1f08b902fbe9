/**
 * `can <command ...>`: what the authorization policy would decide for the caller, here and now
 * (allowed; refused and why; or who must approve), without running anything.
 */
import { z } from 'zod';
import { authorizationSubjectOf, CommandError, defineCommand } from './command.js';
import { canDocument } from './decision-documents.js';

export const can = defineCommand({
  name: 'can',
  summary: 'Explain whether you may run a command: at once, after approvals, or not and why (runs nothing)',
  usage: '<command ...>',
  examples: ['can scale policy-engine 3', 'can restart audit-engine', 'can lockdown', 'can run backup-verify id=20261206T152000Z-a1b2c3'],
  level: 'read',
  rawArguments: true,
  args: z.object({ line: z.string().trim().min(1, 'name the command to ask about, for example `can scale policy-engine 3`') }),
  async run(context, { line }) {
    const resolution = context.registry.resolve(line);
    if (!resolution.ok) throw new CommandError(`Cannot tell: ${resolution.error.message}`, resolution.error.hint ?? 'Type `help` for the list of commands.');
    const subject = authorizationSubjectOf(resolution.command, resolution.args, context.services);
    const { decision } = await context.authorization.decide({
      actor: context.actor,
      command: resolution.command,
      args: resolution.args,
      ...(context.channelId ? { channelId: context.channelId } : {}),
      ...(subject ? { subject } : {}),
    });
    const document = canDocument(resolution.line, decision);
    // An escalated command also needs its execution record in the trail first; say when that would stop it now.
    if (decision.allow && decision.level > 0) {
      const trail = context.services.trail;
      const availability = trail ? await trail.available() : { ok: false as const, reason: `The bot's audit trail is not set up in this process${context.services.trailProblem ? ` (${context.services.trailProblem})` : ''}.` };
      if (!availability.ok) {
        return { ...document, tone: 'fail', summary: `${document.summary} But right now it would be refused: ${availability.reason}` };
      }
    }
    return document;
  },
});
