/**
 * Level 1 auto-resolution (the runbook's "automatic resolution", issue 14): when an alert whose
 * rule has a `levelOne` action fires (not silenced, snoozed or acknowledged), the bot runs the
 * rule's response line through the command path as itself (origin `auto`: authorization, the audit
 * trail and approvals apply), verifies the result, and notes what it did on the alert with the
 * evidence (`auto-action`, actor `level-1`). The guard rails (level-one-guards.ts) decide first;
 * every refusal is noted too, and one that Level 1 cannot get past escalates through the injected
 * `escalateNow`. Each action is claimed in PostgreSQL first, so one replica acts once.
 */
import type { ResultDocument } from '../../commands/result.js';
import { ALERT_RULES, alertResponse, isAlertRuleName, type LevelOneAction } from './alert-rules.js';
import type { AlertChange, AlertRecord, AlertStore } from './alert-store.js';
import type { LevelOneClaims } from './level-one-claims.js';
import { decideLevelOne, type LevelOneDecision, type LevelOneLimits, type StackConditions } from './level-one-guards.js';

/** The actor of Level 1's notes on alerts. */
export const LEVEL_ONE_NOTE_ACTOR = 'level-1';

export interface LevelOnePlan {
  action: LevelOneAction;
  /** The command line, without `/acgs`: the rule's response (alert-rules.ts alertResponse). */
  command: string;
  /** The service acted on, which the guard rails count by. */
  service: string;
}

/** What Level 1 would do for an alert, or undefined when its rule has no Level 1 action (or lacks what it needs). */
export function levelOnePlan(alert: Pick<AlertRecord, 'rule' | 'labels'>): LevelOnePlan | undefined {
  if (!isAlertRuleName(alert.rule)) return undefined;
  const action = ALERT_RULES[alert.rule].levelOne;
  const response = action ? alertResponse(alert.rule, alert.labels) : undefined;
  if (!action || !response) return undefined;
  const service = action === 'restart-service' ? alert.labels.service! : action === 'cache-warm' ? 'policy-engine' : 'sandbox-controller';
  return { action, command: response.command, service };
}

/** What running a line through the command path gave (a subset of ExecutionOutcome). */
export interface LevelOneRun {
  outcome: 'ok' | 'warn' | 'fail' | 'info' | 'rejected' | 'error';
  document: ResultDocument;
  /** Set when the policy made the line wait for approvals: people decide now. */
  approval?: { id: string };
}

/** An alert's condition as read now: whether it is no longer breached, and one phrase saying what was read. */
export interface LevelOneCondition {
  cleared: boolean;
  /** E.g. `the cache hit rate was 97.2 % (threshold 95 %)`. */
  detail: string;
}

export interface LevelOneOptions {
  alerts: Pick<AlertStore, 'get' | 'note' | 'listOpen' | 'events'>;
  claims: LevelOneClaims;
  limits: LevelOneLimits;
  /** Runs a line through the command path as the bot, origin `auto`. */
  run(line: string, signal: AbortSignal): Promise<LevelOneRun>;
  /** Whether the service answers its health check now, and what it said. */
  health(service: string): Promise<{ healthy: boolean; detail: string }>;
  /**
   * The condition of a cache warm's or a prune's alert read again after the action (the cache hit
   * rate against its threshold); undefined when only the alert's source can tell (SandboxFailures:
   * only Prometheus counts failures), and then only the alert resolving shows that it helped.
   */
  condition(action: Exclude<LevelOneAction, 'restart-service'>): Promise<LevelOneCondition | undefined>;
  /** Lockdown and the deploy lock, read just before acting. */
  conditions(): Promise<StackConditions>;
  /** Escalation's hook (the escalation matrix): Level 1 gave up on this alert. */
  escalateNow?(alert: AlertRecord, reason: string): Promise<void> | void;
  /** This replica's id, on each claim. */
  holder: string;
  now?: () => Date;
  /** Between two health checks while verifying a restart. */
  verifyPollMs?: number;
  log(message: string, error?: unknown): void;
}

export interface LevelOne {
  /** The alert store's listener: a fired alert is considered without holding up the store. */
  onChange(change: AlertChange): void;
  /** Considers an alert now (and schedules the next look when the guard rails say to wait). */
  consider(alertId: string): Promise<void>;
  /**
   * Considers every open alert Level 1 may handle, as if each had just fired: the store only tells
   * of changes, so alerts firing before this process started (or before this replica took over the
   * monitor from one that stopped, with its retry timers) would otherwise get no action. Resolves
   * with how many were looked at, once those looks are done.
   */
  sweep(): Promise<number>;
  /**
   * A run that held Level 1 back may have ended (a restore, a deploy: `runbook-running`,
   * `deploy-lock`): the alerts waiting on it are looked at now, not at their re-look a backoff
   * later. A restart is then only run when the service still does not answer healthy: its alert
   * may be one its source has yet to resolve (the run brought the service back); while it answers,
   * it is asked again every `verifyPollMs` until the alert resolves or the service fails again.
   */
  stackChanged(): void;
  /** Resolves once nothing is being considered (nor swept). */
  idle(): Promise<void>;
  /** No further actions; a running one is aborted (its claim stays, unfinished, and counts as failed later). */
  stop(): Promise<void>;
}

/** Refusals for a run holding Level 1 back, whose end `stackChanged` tells. */
const RUN_REFUSALS: readonly string[] = ['runbook-running', 'deploy-lock'];

/** Refusals that escalate (the guard rails' `escalate`): noted once, the episode went up already. */
const ESCALATING_REFUSALS: readonly string[] = ['circuit-open', 'rate-limit'];

const ACTION_WORDS: Record<LevelOneAction, string> = { 'restart-service': 'restart', 'cache-warm': 'cache warm', 'prune-sandboxes': 'sandbox prune' };

const commandFailed = (run: LevelOneRun) => run.outcome === 'fail' || run.outcome === 'rejected' || run.outcome === 'error';

function documentSentence(document: ResultDocument): string {
  return [document.title, document.summary].filter(Boolean).join(': ');
}

export function createLevelOne(options: LevelOneOptions): LevelOne {
  const now = options.now ?? (() => new Date());
  const verifyPollMs = options.verifyPollMs ?? 1000;
  const stopping = new AbortController();
  /** One look at a time per alert, in order. */
  const queues = new Map<string, Promise<void>>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** Refusals already noted (alert, episode, code, attempts), so that a look again says nothing new. */
  const noted = new Set<string>();
  const escalated = new Set<string>();
  const sweeps = new Set<Promise<number>>();
  /** Alerts whose last look was refused because of a run (RUN_REFUSALS). */
  const waitingOnRun = new Set<string>();
  /**
   * Alerts whose next look asks the service first (their alert was not just judged down by its
   * source), with when that began: for `verify_seconds` at most, after which an alert its source
   * still holds firing is acted on as any other (the source may see what the health check does not).
   */
  const askFirst = new Map<string, number>();

  const episodeKey = (alert: AlertRecord) => `${alert.id}@${alert.firedAt.toISOString()}`;

  function later(alertId: string, at: Date): void {
    if (stopping.signal.aborted) return;
    clearTimeout(timers.get(alertId));
    const timer = setTimeout(() => {
      timers.delete(alertId);
      void enqueue(alertId);
    }, Math.max(0, at.getTime() - now().getTime()));
    timer.unref();
    timers.set(alertId, timer);
  }

  async function note(alert: AlertRecord, details: Record<string, unknown>): Promise<void> {
    await options.alerts.note(alert.id, { kind: 'auto-action', actor: LEVEL_ONE_NOTE_ACTOR, details }).catch((error: unknown) => options.log(`level 1: could not note on alert ${alert.id}`, error));
  }

  async function refuse(alert: AlertRecord, plan: LevelOnePlan, decision: Extract<LevelOneDecision, { act: false }>, attempts: number): Promise<void> {
    const key = `${episodeKey(alert)}:${decision.code}:${attempts}`;
    // Another replica's attempt still running notes its own outcome: nothing to add but a look later.
    if (decision.code === 'in-progress') noted.add(key);
    if (!noted.has(key) || (decision.escalate && !escalated.has(episodeKey(alert)))) {
      noted.add(key);
      // A sweep after a start (or on another replica) may look at what was already said: each
      // refusal is noted once per episode and attempt, and Level 1 escalates an episode once.
      const earlier = await refusalsOfEpisode(alert);
      if (!earlier.some((refusal) => refusal.code === decision.code && refusal.attempt === attempts + 1)) {
        await note(alert, { action: plan.action, command: plan.command, outcome: 'refused', refusal: decision.code, reason: decision.reason, summary: decision.reason, attempt: attempts + 1, service: plan.service });
      }
      if (earlier.some((refusal) => ESCALATING_REFUSALS.includes(refusal.code))) escalated.add(episodeKey(alert));
    }
    if (decision.escalate && options.escalateNow && !escalated.has(episodeKey(alert))) {
      escalated.add(episodeKey(alert));
      try {
        await options.escalateNow(alert, decision.reason);
      } catch (error) {
        options.log(`level 1: escalating alert ${alert.id} failed`, error);
      }
    }
    if (RUN_REFUSALS.includes(decision.code)) waitingOnRun.add(alert.id);
    if (decision.retryAt && !decision.escalate) later(alert.id, decision.retryAt);
  }

  /** The refusals already noted on this episode of the alert, by any replica. */
  async function refusalsOfEpisode(alert: AlertRecord): Promise<{ code: string; attempt: unknown }[]> {
    const events = await options.alerts.events(alert.id).catch((error: unknown) => {
      options.log(`level 1: could not read the notes of alert ${alert.id}`, error);
      return [];
    });
    return events
      .filter((event) => event.kind === 'auto-action' && event.at.getTime() >= alert.firedAt.getTime() && typeof event.details?.refusal === 'string')
      .map((event) => ({ code: event.details!.refusal as string, attempt: event.details!.attempt }));
  }

  const pause = () => new Promise((resolve) => setTimeout(resolve, verifyPollMs).unref());

  /**
   * A cache warm or a prune helped when the alert's condition cleared (read again) or its source
   * resolved the alert within `verify_seconds`; a command that merely succeeded is not evidence.
   */
  async function verifyCondition(alert: AlertRecord, plan: LevelOnePlan & { action: Exclude<LevelOneAction, 'restart-service'> }, run: LevelOneRun, startedAt: number): Promise<{ ok: boolean; evidence: string }> {
    const ran = `\`${plan.command}\` ran (${documentSentence(run.document)})`;
    const deadline = startedAt + options.limits.verifyMs;
    let last = 'the alert was still firing';
    for (;;) {
      const [reading, current] = await Promise.all([
        options.condition(plan.action).catch((error: unknown): LevelOneCondition => ({ cleared: false, detail: `its condition could not be read (${(error as Error)?.message ?? String(error)})` })),
        options.alerts.get(alert.id).catch(() => undefined),
      ]);
      const elapsed = ((now().getTime() - startedAt) / 1000).toFixed(1);
      // Resolved by its source, not by a person: the source no longer sees the condition.
      if (current?.state === 'resolved' && current.resolvedBy === null) return { ok: true, evidence: `${ran}; its source resolved the alert ${elapsed} s later.` };
      if (reading?.cleared) return { ok: true, evidence: `${ran}; ${reading.detail} ${elapsed} s later.` };
      // A person closed it: nothing left to verify, and nothing shows that the action helped.
      if (current?.state === 'resolved') return { ok: false, evidence: `${ran}; ${current.resolvedBy} resolved the alert by hand ${elapsed} s later, before anything showed that it helped.` };
      if (reading) last = reading.detail;
      if (now().getTime() >= deadline || stopping.signal.aborted) break;
      await pause();
    }
    return { ok: false, evidence: `${ran} but did not help: ${last} ${Math.round(options.limits.verifyMs / 1000)} s after Level 1 began.` };
  }

  /** After the command ran: is it fixed? The evidence is one sentence a person can check. */
  async function verify(alert: AlertRecord, plan: LevelOnePlan, run: LevelOneRun, startedAt: number): Promise<{ ok: boolean; evidence: string }> {
    if (commandFailed(run)) return { ok: false, evidence: `\`${plan.command}\` did not succeed: ${documentSentence(run.document)}` };
    if (plan.action !== 'restart-service') return verifyCondition(alert, { ...plan, action: plan.action }, run, startedAt);
    const deadline = startedAt + options.limits.verifyMs;
    let last = 'not asked yet';
    for (;;) {
      const probe = await options.health(plan.service).catch((error: unknown) => ({ healthy: false, detail: (error as Error)?.message ?? String(error) }));
      const elapsed = ((now().getTime() - startedAt) / 1000).toFixed(1);
      if (probe.healthy) return { ok: true, evidence: `${plan.service} answered its health check healthy ${elapsed} s after Level 1 began the restart.` };
      last = probe.detail;
      if (now().getTime() >= deadline || stopping.signal.aborted) break;
      await pause();
    }
    return { ok: false, evidence: `${plan.service} was still not healthy ${Math.round(options.limits.verifyMs / 1000)} s after Level 1 began the restart (last health check: ${last}).` };
  }

  function mayHandle(alert: AlertRecord): boolean {
    // Only a firing alert: an acknowledged one is a person's, a resolved one needs nothing.
    if (alert.state !== 'firing') return false;
    // Quiet on purpose: a silence or a snooze keeps Level 1 out too.
    if (alert.silencedBy !== null || (alert.snoozedUntil && alert.snoozedUntil.getTime() > now().getTime())) return false;
    return levelOnePlan(alert) !== undefined;
  }

  /**
   * Whether a restart is still needed when the alert was not just judged down: a service its source
   * has yet to see recovered answers healthy, and restarting it would only interrupt it.
   */
  async function stillDown(plan: LevelOnePlan): Promise<boolean> {
    if (plan.action !== 'restart-service') return true;
    const probe = await options.health(plan.service).catch(() => ({ healthy: false }));
    return !probe.healthy;
  }

  async function consider(alertId: string): Promise<void> {
    if (stopping.signal.aborted) return;
    waitingOnRun.delete(alertId);
    const askingSince = askFirst.get(alertId);
    askFirst.delete(alertId);
    const checkFirst = askingSince !== undefined && now().getTime() - askingSince < options.limits.verifyMs;
    const alert = await options.alerts.get(alertId);
    if (!alert || !mayHandle(alert)) return;
    const plan = levelOnePlan(alert);
    if (!plan) return;
    const at = now();
    const [episode, serviceActions, conditions] = await Promise.all([
      options.claims.ofEpisode(alert.id, alert.firedAt),
      options.claims.ofService(plan.service, new Date(at.getTime() - 3_600_000), options.limits.breakerFailures),
      options.conditions(),
    ]);
    const decision = decideLevelOne({ now: at, service: plan.service, action: plan.action, episode, serviceActions, stack: conditions, limits: options.limits });
    if (!decision.act) return refuse(alert, plan, decision, episode.length);
    if (checkFirst && !(await stillDown(plan))) {
      askFirst.set(alert.id, askingSince!);
      later(alert.id, new Date(now().getTime() + verifyPollMs));
      return;
    }

    const claimed = await options.claims.claim({ alertId: alert.id, episode: alert.firedAt, attempt: decision.attempt, rule: alert.rule, service: plan.service, command: plan.command, claimedBy: options.holder, at });
    // Another replica claimed this attempt: it acts and notes; nothing for us to do.
    if (!claimed) return;
    const startedAt = now().getTime();
    let run: LevelOneRun;
    try {
      run = await options.run(plan.command, stopping.signal);
    } catch (error) {
      options.log(`level 1: \`${plan.command}\` for alert ${alert.id} could not run`, error);
      run = { outcome: 'error', document: { title: 'The command path failed', summary: (error as Error)?.message ?? String(error), tone: 'fail', blocks: [] } };
    }
    if (run.approval) {
      // The policy wants people for this line here: they decide; Level 1 does not try again.
      await options.claims.finish(claimed.id, 'failed', now(), { waiting_for_approval: run.approval.id });
      await note(alert, { action: plan.action, command: plan.command, outcome: 'awaiting-approval', duration_ms: now().getTime() - startedAt, evidence: `\`${plan.command}\` needs approval here (request ${run.approval.id}); Level 1 leaves it to the approvers.`, attempt: decision.attempt, service: plan.service });
      return;
    }
    const verdict = await verify(alert, plan, run, startedAt);
    const durationMs = now().getTime() - startedAt;
    const outcome = verdict.ok ? 'succeeded' : 'failed';
    await options.claims.finish(claimed.id, outcome, now(), { evidence: verdict.evidence, command_outcome: run.outcome, duration_ms: durationMs });
    await note(alert, { action: plan.action, command: plan.command, outcome, duration_ms: durationMs, evidence: verdict.evidence, attempt: decision.attempt, service: plan.service, summary: `Level 1 ran ${ACTION_WORDS[plan.action]} (${plan.command}): ${verdict.ok ? 'succeeded' : commandFailed(run) ? 'failed' : 'did not help'}` });
    options.log(`level 1: ${plan.command} for alert ${alert.id} (${alert.rule}), attempt ${decision.attempt}: ${outcome}; ${verdict.evidence}`);
    // A failure is looked at again at once: the guard rails say when (backoff) or whether (breaker).
    // Queued behind this look, not on a timer, so that idle() waits for it too.
    if (!verdict.ok && !stopping.signal.aborted) void enqueue(alert.id);
  }

  async function sweepOpen(): Promise<number> {
    if (stopping.signal.aborted) return 0;
    const open = await options.alerts.listOpen();
    // Not one this replica is already looking at or waiting on, nor one whose action worked (its
    // source has yet to see it resolve): a sweep adds the looks that were lost, nothing more.
    const candidates = open.filter((alert) => mayHandle(alert) && !queues.has(alert.id) && !timers.has(alert.id));
    const handled: AlertRecord[] = [];
    for (const alert of candidates) {
      const episode = await options.claims.ofEpisode(alert.id, alert.firedAt);
      if (episode.at(-1)?.outcome !== 'succeeded') handled.push(alert);
    }
    await Promise.all(handled.map((alert) => enqueue(alert.id)));
    return handled.length;
  }

  function enqueue(alertId: string): Promise<void> {
    const previous = queues.get(alertId) ?? Promise.resolve();
    const next = previous
      .then(() => consider(alertId))
      .catch((error: unknown) => options.log(`level 1: alert ${alertId} could not be considered`, error))
      .finally(() => {
        if (queues.get(alertId) === next) queues.delete(alertId);
      });
    queues.set(alertId, next);
    return next;
  }

  return {
    onChange(change) {
      if (change.event.kind !== 'fired') return;
      // Just judged down by its source: nothing to ask first.
      askFirst.delete(change.alert.id);
      void enqueue(change.alert.id);
    },
    consider: enqueue,
    stackChanged() {
      for (const alertId of [...waitingOnRun]) {
        waitingOnRun.delete(alertId);
        clearTimeout(timers.get(alertId));
        timers.delete(alertId);
        askFirst.set(alertId, now().getTime());
        void enqueue(alertId);
      }
    },
    sweep() {
      // One after another: a second sweep (the start, then the monitor's lease) sees what the first did.
      const previous = [...sweeps].at(-1) ?? Promise.resolve(0);
      const sweep: Promise<number> = previous
        .catch(() => 0)
        .then(sweepOpen)
        .finally(() => sweeps.delete(sweep));
      sweeps.add(sweep);
      return sweep;
    },
    async idle() {
      while (queues.size > 0 || sweeps.size > 0) await Promise.allSettled([...sweeps, ...queues.values()]);
    },
    async stop() {
      stopping.abort();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...sweeps]);
      await Promise.all([...queues.values()]);
    },
  };
}
