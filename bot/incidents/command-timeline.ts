/**
 * Commands on an incident's timeline: a command that ran in the channel an incident runs in goes
 * on its timeline (kind `command`) at the time it started, with the runbook run it started or its
 * execution record as the reference. The command path calls this after every run
 * (CommandPathDependencies.afterCommand); a retried call records nothing twice (its request key).
 */
import type { CommandRan } from '../command-path/command-path-dependencies.js';
import type { IncidentStore } from './incident-store.js';

/** The incident commands record what they do themselves (an update, a role change, a note). */
const RECORDS_ITSELF = /^incidents?( |$)/;

export function incidentCommandTimeline(store: Pick<IncidentStore, 'inChannel' | 'addToTimeline'>): (ran: CommandRan) => Promise<void> {
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
  };
}
