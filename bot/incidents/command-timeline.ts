/**
 * Commands on an incident's timeline: a command that ran in the channel an incident runs in goes
 * on its timeline (kind `command`) at the time it started, with the runbook run it started or its
 * execution record as the reference. The command path calls this after every run
 * (CommandPathDependencies.afterCommand); a retried call records nothing twice (its request key).
 */
import type { CommandRan } from '../command-path/command-path-dependencies.js';
import type { IncidentStore } from './incident-store.js';
import type { RunTimeline } from './run-timeline.js';

/** The incident commands record what they do themselves (an update, a role change, a note). */
const RECORDS_ITSELF = /^incidents?( |$)/;

/**
 * With `runs`, a runbook run the command started gets its steps so far on the timeline too (later
 * ones follow from the engine), and a command that ran once approved gets its approval request.
 */
export function incidentCommandTimeline(store: Pick<IncidentStore, 'inChannel' | 'addToTimeline'>, more: { runs?: Pick<RunTimeline, 'recordRun' | 'recordApproval'> } = {}): (ran: CommandRan) => Promise<void> {
  return async (ran) => {
    const channel = ran.context.channelId;
    if (!channel || RECORDS_ITSELF.test(ran.command)) return;
    const open = (await store.inChannel(channel)).filter((incident) => incident.state !== 'closed');
    // A channel several incidents share (channels.ops) cannot say whose the command was.
    if (open.length !== 1) return;
    const incident = open[0]!;
    const runId = (ran.document.data as { run?: { id?: unknown } } | undefined)?.run?.id;
    const reference = typeof runId === 'string' ? `run:${runId}` : ran.context.execution?.key;
    await store.addToTimeline(
      incident.id,
      {
        kind: 'command',
        occurredAt: ran.startedAt,
        actor: ran.actor.id,
        text: `/acgs ${ran.line} (${ran.outcome === 'rejected' ? `refused: ${ran.document.summary ?? ran.document.title}` : `${ran.outcome}: ${ran.document.title}`})`.slice(0, 4000),
        ...(reference ? { reference } : {}),
        ...(ran.context.requestId ? { requestKey: `command:${ran.context.requestId}` } : {}),
      },
      new Date(),
    );
    // The approval path runs the command with request id `approval:<id>` (bot/command-path/approval-flow.ts).
    const approval = /^approval:(.+)$/.exec(ran.context.requestId ?? '')?.[1];
    if (approval) await more.runs?.recordApproval(incident.key, approval);
    if (typeof runId === 'string') await more.runs?.recordRun(incident.key, runId);
  };
}
