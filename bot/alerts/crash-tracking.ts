/**
 * Crashes the supervisor (or Docker's restart policy) healed before ServiceDown's `for` could see
 * them, told from the Stack port's per-replica crash count (`restarts`, which requested restarts,
 * stops and deploys never raise). Pure: the stack's listing and the sample's time in, reports and
 * observations out.
 *
 * - ServiceRestarted: a replica's count went up. One alert per crash (its labels carry when the new
 *   run started, so each crash has its own message and its own last log lines), fired at once and
 *   resolved by the tracker once the replica answers healthy, saying how it ended, who restarted it
 *   and how long until it was healthy. A replica that crashes again before it is healthy stays in
 *   the same alert (its value counts the crashes).
 * - ServiceCrashLooping: an observation per service of its crashes within CRASH_LOOP_WINDOW_MS, for
 *   the rule evaluator. While a service loops, its further crashes raise no ServiceRestarted: the
 *   loop's alert is the one to read.
 *
 * The first listing after the bot starts is the baseline: a crash while no monitor ran is not told.
 */
import type { ReplicaExit, ServiceStatus, StackKind } from '../../services/stack/stack.js';
import { ALERT_RULES, CRASH_LOOP_WINDOW_MS } from './alert-rules.js';
import type { ReportedAlert } from './intake.js';
import { monitorFingerprint, type FiringAlert, type Observation } from './rule-evaluation.js';

export interface CrashListing {
  at: Date;
  kind: StackKind;
  services: readonly ServiceStatus[];
}

export interface CrashTracker {
  track(listing: CrashListing): { reports: ReportedAlert[]; observations: Observation[] };
  /** Takes over open ServiceRestarted alerts (from the store after a restart) so that they still resolve. */
  adopt(alerts: readonly FiringAlert[]): void;
}

interface Episode {
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  firedAt: Date;
  /** When it went down: the last exit's time when the driver knows it, else when the count was seen going up. */
  crashedAt: Date;
  exit?: ReplicaExit;
  crashes: number;
}

const RULE = ALERT_RULES.ServiceRestarted;
const HEALTHY = new Set(['healthy', 'none']);
const episodeKey = (service: string, replica: string) => `${service}\u0000${replica}`;

/** `killed by SIGKILL`, `exit code 1`, or nothing when the driver does not know. */
export function exitWords(exit: ReplicaExit | undefined): string | undefined {
  if (!exit) return undefined;
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === null ? undefined : `exit code ${exit.code}`;
}

const restarter = (kind: StackKind) => (kind === 'docker' ? "Docker's restart policy" : 'the supervisor');
const clock = (at: Date) => `${at.toISOString().slice(11, 19)} UTC`;
const crashTimes = (count: number) => (count === 1 ? 'crashed' : `crashed ${count} times`);

function firingSummary(service: string, episode: Episode, kind: StackKind): string {
  const how = exitWords(episode.exit);
  return `${service} ${crashTimes(episode.crashes)}${how ? ` (${how})` : ''} at ${clock(episode.crashedAt)}; ${restarter(kind)} restarted it; waiting for it to answer healthy`;
}

function resolvedSummary(service: string, episode: Episode, kind: StackKind, at: Date): string {
  const how = exitWords(episode.exit);
  const seconds = Math.max(0, Math.round((at.getTime() - episode.crashedAt.getTime()) / 1000));
  return `${service} ${crashTimes(episode.crashes)}${how ? ` (${how})` : ''} at ${clock(episode.crashedAt)}; ${restarter(kind)} restarted it; healthy again after ${seconds} s`;
}

export function createCrashTracker(): CrashTracker {
  /** The crash count last seen per replica id: a new id (a recreated container) starts a new baseline. */
  const counts = new Map<string, number>();
  const open = new Map<string, Episode>();
  const crashes = new Map<string, Date[]>();

  function report(episode: Episode, status: 'firing' | 'resolved', summary: string, at: Date): ReportedAlert {
    return {
      source: 'monitor',
      fingerprint: episode.fingerprint,
      rule: RULE.name,
      status,
      labels: { alertname: RULE.name, ...episode.labels },
      annotations: { summary },
      startsAt: episode.firedAt,
      ...(status === 'resolved' ? { endsAt: at } : {}),
      value: episode.crashes,
    };
  }

  function recentCrashes(service: string, at: Date): Date[] {
    const kept = (crashes.get(service) ?? []).filter((time) => at.getTime() - time.getTime() < CRASH_LOOP_WINDOW_MS);
    crashes.set(service, kept);
    return kept;
  }

  return {
    adopt(alerts) {
      for (const alert of alerts) {
        const { service, replica } = alert.labels;
        if (alert.rule !== RULE.name || !service || !replica) continue;
        const key = episodeKey(service, replica);
        if (!open.has(key)) open.set(key, { fingerprint: alert.fingerprint, labels: alert.labels, firedAt: alert.firedAt, crashedAt: alert.firedAt, crashes: 1 });
      }
    },

    track({ at, kind, services }) {
      const reports: ReportedAlert[] = [];
      const observations: Observation[] = [];
      const present = new Set<string>();
      for (const status of services) {
        for (const replica of status.replicas) {
          const key = episodeKey(status.name, replica.name);
          present.add(key);
          const previous = counts.get(replica.id);
          counts.set(replica.id, replica.restarts);
          const added = previous === undefined ? 0 : replica.restarts - previous;
          if (added > 0) {
            const times = recentCrashes(status.name, at);
            for (let index = 0; index < added; index += 1) times.push(at);
            const looping = times.length >= ALERT_RULES.ServiceCrashLooping.threshold;
            const exit = replica.lastExit;
            const exitAt = exit ? new Date(exit.at) : undefined;
            const crashedAt = exitAt && exitAt.getTime() <= at.getTime() ? exitAt : at;
            const episode = open.get(key);
            if (episode) {
              episode.crashes += added;
              if (exit) episode.exit = exit;
            } else if (!looping) {
              const labels = { service: status.name, replica: replica.name, restarted_at: replica.startedAt ?? at.toISOString() };
              const opened: Episode = { fingerprint: monitorFingerprint(RULE.name, labels), labels, firedAt: at, crashedAt, ...(exit ? { exit } : {}), crashes: added };
              open.set(key, opened);
              reports.push(report(opened, 'firing', firingSummary(status.name, opened, kind), at));
            }
          }
          const episode = open.get(key);
          if (episode && replica.state === 'running' && HEALTHY.has(replica.health)) {
            reports.push(report(episode, 'resolved', resolvedSummary(status.name, episode, kind, at), at));
            open.delete(key);
          }
        }
        const value = recentCrashes(status.name, at).length;
        observations.push({ rule: 'ServiceCrashLooping', labels: { service: status.name }, value, breaching: value >= ALERT_RULES.ServiceCrashLooping.threshold });
      }
      // A replica that is gone (recreated, scaled away) cannot be waited for any more.
      for (const [key, episode] of open) {
        if (present.has(key)) continue;
        const service = episode.labels.service ?? 'the service';
        reports.push(report(episode, 'resolved', `${service} crashed; the replica ${episode.labels.replica ?? ''} is gone since (replaced or removed)`, at));
        open.delete(key);
      }
      return { reports, observations };
    },
  };
}
