/**
 * What people read about deployments: each service's running and previous version, one
 * service's history, and the deploy lock. Plain data in (commands/ports.ts), a document out.
 */
import { clip, formatAge, formatTimestamp } from './format.js';
import { RUN_STATE_WORDS, type DeploymentRecordInfo, type DeployLockInfo, type ForcedOpenRun, type RunDetailInfo, type ServiceReleaseInfo } from './ports.js';
import type { ResultAction, ResultDocument } from './result.js';

/** Whether `word` names the commit itself (a prefix of it, or all of it): then it says nothing more. */
const namesCommit = (word: string, commit: string | null) => commit !== null && /^[0-9a-f]{7,40}$/i.test(word) && commit.startsWith(word.toLowerCase());

/** `1.4.0 (v1.4.0 · 3f2a1c9)`: what people typed, and what it resolved to when that says more. */
export function versionText(record: Pick<DeploymentRecordInfo, 'version' | 'ref' | 'commit'>): string {
  const ref = record.ref && record.ref !== record.version && !namesCommit(record.ref, record.commit) ? record.ref : undefined;
  const commit = record.commit && !namesCommit(record.version, record.commit) ? record.commit.slice(0, 7) : undefined;
  const resolved = [ref, commit].filter(Boolean);
  return resolved.length > 0 ? `${record.version} (${resolved.join(' · ')})` : record.version;
}

/** The version before, saying so when it was rolled back (the release a rollback took back). */
const previousText = (record: DeploymentRecordInfo | null) => (record ? `${versionText(record)}${record.outcome === 'rolled-back' ? ' (rolled back)' : ''}` : 'none recorded');

const KIND_WORDS: Record<DeploymentRecordInfo['kind'], string> = { deploy: 'deploy', hotfix: 'hotfix', rollback: 'rollback', initial: 'found running' };

function byText(record: DeploymentRecordInfo): string {
  return `${record.requestedBy}, ${formatTimestamp(record.at)}`;
}

export function releasesDocument(services: readonly ServiceReleaseInfo[]): ResultDocument {
  const unrecorded = services.filter((entry) => !entry.current).map((entry) => entry.service);
  return {
    title: 'Releases',
    tone: unrecorded.length > 0 ? 'warn' : 'info',
    summary:
      unrecorded.length > 0
        ? `No record of what ${unrecorded.join(', ')} run${unrecorded.length === 1 ? 's' : ''}: the bot records a service's version the first time it answers its /health.`
        : 'What each service runs, from the bot\'s records. `releases <service>` shows one service\'s history.',
    blocks: [
      {
        type: 'table',
        columns: ['Service', 'Running', 'Previous', 'How', 'By, when'],
        rows: services.map((entry) =>
          entry.current
            ? [entry.service, versionText(entry.current), previousText(entry.previous), KIND_WORDS[entry.current.kind], byText(entry.current)]
            : [entry.service, 'not recorded yet', '', '', ''],
        ),
      },
    ],
    data: { services },
  };
}

export function serviceReleasesDocument(entry: ServiceReleaseInfo, history: readonly DeploymentRecordInfo[], limit: number): ResultDocument {
  const { current, previous } = entry;
  return {
    title: `Releases: ${entry.service}`,
    tone: current ? 'info' : 'warn',
    summary: current
      ? `Runs ${versionText(current)} since ${formatTimestamp(current.at)} (${KIND_WORDS[current.kind]} by ${current.requestedBy}).`
      : history.length > 0
        ? 'No deployment of it is live in the records: the last ones failed or were rolled back.'
        : 'No record yet: the bot records its version the first time it answers its /health.',
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Running', value: current ? versionText(current) : 'not recorded' },
          { label: 'Previous', value: previousText(previous) },
          ...(current?.artifact ? [{ label: 'Artifact', value: current.artifact.kind === 'image' ? `image ${current.artifact.image}` : `directory ${current.artifact.directory}` }] : []),
          ...(current?.runId ? [{ label: 'Run', value: current.runId }] : []),
        ],
      },
      ...(history.length > 0
        ? [
            {
              type: 'table' as const,
              columns: ['When', 'Version', 'How', 'Outcome', 'By', 'Replaced'],
              rows: history.map((record) => [formatTimestamp(record.at), versionText(record), KIND_WORDS[record.kind], record.outcome, record.requestedBy, record.replacedVersion ?? '']),
            },
          ]
        : []),
    ],
    ...(history.length >= limit ? { footer: `The ${limit} newest records.` } : {}),
    data: { service: entry.service, current, previous, history },
  };
}

/** Where the lock holder's run is now: the step it runs, or what it waits for. */
export function runPosition(detail: RunDetailInfo): string {
  const { run, attempts, steps } = detail;
  const latest = attempts.filter((attempt) => attempt.action === 'run').at(-1);
  const title = (index: number) => steps?.[index]?.title ?? attempts.find((attempt) => attempt.stepIndex === index)?.stepId ?? `step ${index + 1}`;
  const of = steps ? ` of ${steps.length}` : '';
  if (run.state === 'pending') return latest ? `waiting for a runner after step ${latest.stepIndex + 1}${of}` : 'waiting for a runner to start it';
  if (!latest) return `${RUN_STATE_WORDS[run.state] ?? run.state}, no step started yet`;
  const step = `step ${latest.stepIndex + 1}${of}: ${title(latest.stepIndex)}`;
  if (run.state === 'needs_decision') return `waiting for a decision at ${step}${run.reason ? ` (${clip(run.reason, 120)})` : ''}`;
  // The rollout and the watch tell how far they got (a service of four, the minutes left): said after the step.
  if (latest.outcome === 'running') return `${step}, running since ${formatTimestamp(latest.startedAt)}${latest.progress ? `: ${clip(latest.progress.text, 200)}` : ''}`;
  return `${RUN_STATE_WORDS[run.state] ?? run.state}; last ${step} (${latest.outcome})`;
}

export function deployStatusDocument(lock: DeployLockInfo | null, run?: { detail?: RunDetailInfo; problem?: string }): ResultDocument {
  if (!lock) return { title: 'Deploy status', tone: 'ok', summary: 'No deployment in progress: the deploy lock is free.', blocks: [], data: { lock: null } };
  const position = run?.detail ? runPosition(run.detail) : (run?.problem ?? 'unknown');
  const actions: ResultAction[] = [{ label: 'Run status', command: `run status ${lock.runId}` }];
  return {
    title: 'Deploy status',
    tone: 'warn',
    summary: `A ${lock.runbook} is in progress: ${lock.heldBy} holds the deploy lock since ${formatTimestamp(lock.since)} (${formatAge(lock.since)}).`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Held by', value: lock.heldBy },
          { label: 'Since', value: formatTimestamp(lock.since) },
          { label: 'Runbook', value: lock.runbook },
          { label: 'Run', value: lock.runId },
          { label: 'Now', value: position },
          ...(lock.takenFrom ? [{ label: 'Taken over from', value: `${lock.takenFrom.heldBy}, run ${lock.takenFrom.runId}` }] : []),
        ],
      },
    ],
    actions,
    people: [lock.heldBy, ...(lock.takenFrom ? [lock.takenFrom.heldBy] : [])],
    data: { lock, ...(run?.detail ? { run: { id: run.detail.run.id, state: run.detail.run.state, now: position } } : {}) },
  };
}

/** A free lock, with the runs still going that an admin forced it open under (none: nothing in progress). */
export function forcedOpenStatusDocument(forced: ReadonlyArray<{ entry: ForcedOpenRun; run: { detail?: RunDetailInfo; problem?: string } }>): ResultDocument {
  if (forced.length === 0) return deployStatusDocument(null);
  return {
    title: 'Deploy status',
    tone: 'warn',
    summary: `The deploy lock is free, but ${forced.length === 1 ? 'a run whose lock was forced open is' : `${forced.length} runs whose lock was forced open are`} still running: it may still change the stack. \`run abort <run>\` stops it.`,
    blocks: forced.map(({ entry, run }) => ({
      type: 'fields' as const,
      fields: [
        { label: 'Run', value: `${entry.runId} (${entry.runbook})` },
        { label: 'Held by', value: entry.heldBy },
        { label: 'Forced open', value: `by ${entry.unlockedBy}, ${formatTimestamp(entry.at)}: ${entry.reason}` },
        { label: 'Now', value: run.detail ? runPosition(run.detail) : (run.problem ?? 'unknown') },
      ],
    })),
    actions: forced.map(({ entry }) => ({ label: 'Run status', command: `run status ${entry.runId}` })),
    people: [...new Set(forced.flatMap(({ entry }) => [entry.heldBy, entry.unlockedBy]))],
    data: { lock: null, forcedOpen: forced.map(({ entry, run }) => ({ ...entry, ...(run.detail ? { state: run.detail.run.state, now: runPosition(run.detail) } : {}) })) },
  };
}

export function deployUnlockedDocument(freed: DeployLockInfo, reason: string, by: string): ResultDocument {
  return {
    title: 'Deploy lock forced open',
    tone: 'warn',
    summary: `${by} freed the deploy lock ${freed.heldBy} held for run ${freed.runId} (${freed.runbook}). The run itself goes on: \`run abort ${freed.runId}\` stops it.`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Was held by', value: freed.heldBy },
          { label: 'Since', value: formatTimestamp(freed.since) },
          { label: 'Run', value: freed.runId },
          { label: 'Reason', value: reason },
        ],
      },
    ],
    actions: [{ label: 'Run status', command: `run status ${freed.runId}` }],
    people: [by, freed.heldBy],
    data: { freed, reason, by },
  };
}
