/**
 * Keeps each alert shown in the alerts channel as one message, told from the alert store's
 * changes (`onChange`), whichever replica committed them:
 *
 * - `changed` only hands the change on (a chain per alert in this process) and returns: the
 *   webhook's answer waits for the store's listeners and must never wait for Slack;
 * - an alert's first firing decides in PostgreSQL (alert-message-store.ts) whether it gets a
 *   message of its own or joins a storm's summary; the replica that wins the decision posts, with
 *   a context reply in its thread (log lines, restart count, recent deploys);
 * - every later change edits the message from the store's rows (renderAlertMessage) and posts the
 *   replies of the events not told yet, taken with compare-and-set so each is posted once; a
 *   replica that finds the message not posted yet leaves it to the poster, which catches up;
 * - silenced reports post nothing; while an alert flaps, its firings and resolutions only edit
 *   the message (the `flapping` event is told once, in the thread);
 * - a message Slack lost (deleted, a workspace that started afresh) is posted again at the next
 *   change, by the one replica that forgets the lost ts;
 * - every write goes through the channel's write queue (posts paced to Slack's one a second per
 *   channel, edits coalesced and under chat.update's Tier 3, Retry-After honoured by the
 *   WebClient); a Slack error is logged and nothing else: never a Slack message about itself.
 */
import { z } from 'zod';
import { parseEnv, WholeNumber } from '../../services/kit/env.js';
import type { AlertChange, AlertEvent, AlertRecord, AlertStore } from '../alerts/alert-store.js';
import type { AlertContext } from '../alerts/alert-context.js';
import { isMessageNotFound, type ChannelWriteQueue } from './channel-write-queue.js';
import { escalatedLevel, renderAlertContext, renderAlertMessage, renderAlertReply, renderStormSummary } from './alert-message.js';
import type { AlertMessageStore, PostClaim } from './alert-message-store.js';
import type { SlackMessage } from './render.js';

export const DEFAULT_STORM_THRESHOLD = 10;

/** `ACGS_ALERT_STORM_THRESHOLD` (default 10); a bad value stops the start, naming the variable. */
export function stormThresholdFromEnv(env: Record<string, string | undefined>): number {
  return parseEnv(z.object({ ACGS_ALERT_STORM_THRESHOLD: WholeNumber(1, 100_000).optional() }), 'alerts', env).ACGS_ALERT_STORM_THRESHOLD ?? DEFAULT_STORM_THRESHOLD;
}

export interface AlertMessagesOptions {
  queue: ChannelWriteQueue;
  alerts: Pick<AlertStore, 'get' | 'events'>;
  messages: AlertMessageStore;
  /** Where alerts are posted: the config's channels.alerts, else channels.ops. */
  channel: string;
  /** More alerts than this decided within a minute go into one storm summary (default 10). */
  stormThreshold?: number;
  /** The first reply's context; without it there is none. */
  context?(alert: AlertRecord): Promise<AlertContext | undefined>;
  log?(message: string, error?: unknown): void;
}

export interface AlertMessages {
  /** The store's listener: hands the change on and returns at once. */
  changed(change: AlertChange): void;
  /** Resolves when every change handed on so far is shown (or failed and was logged). */
  idle(): Promise<void>;
}

/** Messages whose last state this process remembers, newest kept. */
const SHOWN_REMEMBERED = 2000;
/** Catch-up rounds after which a message that still lags is left to the next change. */
const MAX_ROUNDS = 5;

/** Event kinds a thread reply tells; `fired` only when it is a firing again. */
const TOLD = new Set<AlertEvent['kind']>(['acknowledged', 'snoozed', 'auto-action', 'escalated', 'note', 'fired', 'resolved', 'flapping']);

/**
 * The events after `from` worth a reply: not silenced reports, not the firings and resolutions of
 * a flapping alert, not the firings while it is snoozed.
 */
export function repliesOf(events: readonly AlertEvent[], from: string): AlertEvent[] {
  let flapping = false;
  let snoozedUntil = 0;
  const worth: AlertEvent[] = [];
  for (const event of events) {
    const before = flapping;
    if (event.kind === 'flapping') flapping = true;
    if (event.kind === 'settled') flapping = false;
    if (event.kind === 'snoozed') snoozedUntil = typeof event.details?.until === 'string' ? Date.parse(event.details.until) || 0 : 0;
    if (BigInt(event.id) <= BigInt(from) || !TOLD.has(event.kind)) continue;
    if ((event.kind === 'fired' || event.kind === 'resolved') && (before || event.silenced)) continue;
    // A snooze keeps its alert's firings quiet until it ends; the message still shows the state.
    if (event.kind === 'fired' && event.at.getTime() < snoozedUntil) continue;
    worth.push(event);
  }
  return worth;
}

export function createAlertMessages(options: AlertMessagesOptions): AlertMessages {
  const { queue, alerts, messages, channel } = options;
  const stormThreshold = options.stormThreshold ?? DEFAULT_STORM_THRESHOLD;
  const log = options.log ?? (() => undefined);
  const chains = new Map<string, Promise<void>>();
  // What this process last asked Slack to show, per message: an unchanged message is not edited again.
  // Bounded: a message forgotten here is only edited once more than it needs.
  const shown = new Map<string, string>();
  const remember = (ts: string, rendered: string) => {
    shown.delete(ts);
    shown.set(ts, rendered);
    if (shown.size > SHOWN_REMEMBERED) shown.delete(shown.keys().next().value!);
  };

  function chain(key: string, work: () => Promise<void>): void {
    const next = (chains.get(key) ?? Promise.resolve()).then(work).catch((error: unknown) => log(`alert messages: ${key} could not be brought up to date`, error));
    chains.set(key, next);
    void next.finally(() => {
      if (chains.get(key) === next) chains.delete(key);
    });
  }

  /**
   * A storm's summary is brought up to date by one run that reads the database when it starts: a
   * run already waiting covers every member that joins before it starts, so a storm of a thousand
   * alerts is not a thousand edits queued one after another.
   */
  const stormsWaiting = new Set<string>();
  function showStormOnce(stormId: string, claim: PostClaim | undefined): void {
    if (!claim && stormsWaiting.has(stormId)) return;
    stormsWaiting.add(stormId);
    chain(`storm ${stormId}`, () => {
      stormsWaiting.delete(stormId);
      return showStorm(stormId, claim);
    });
  }

  /** Posts `message`; the claim is given back when Slack refuses, so the next change tries again. */
  async function post(where: string, what: string, message: SlackMessage, release: () => Promise<void>): Promise<string | undefined> {
    try {
      return await queue.post(where, message);
    } catch (error) {
      log(`alert messages: Slack refused to post ${what} in ${where}; the next change tries again`, error);
      await release().catch((releaseError: unknown) => log(`alert messages: could not give back the claim on ${what}`, releaseError));
      return undefined;
    }
  }

  /** Edits a message; false when Slack no longer has it (the caller posts it again). */
  async function edit(where: string, what: string, ts: string, message: SlackMessage): Promise<boolean> {
    const rendered = JSON.stringify(message);
    if (shown.get(ts) === rendered) return true;
    try {
      await queue.update(where, ts, message);
      remember(ts, rendered);
      return true;
    } catch (error) {
      if (isMessageNotFound(error)) {
        log(`alert messages: ${what} is gone from ${where} (deleted, or the workspace started afresh); posting it again`);
        return false;
      }
      log(`alert messages: an edit of ${what} failed; the next change tries again`, error);
      return true;
    }
  }

  async function postContext(where: string, alert: AlertRecord, ts: string): Promise<void> {
    if (!options.context) return;
    let context: AlertContext | undefined;
    try {
      context = await options.context(alert);
    } catch (error) {
      log(`alert messages: the context of alert ${alert.id} could not be read`, error);
      return;
    }
    if (!context) return;
    await queue.post(where, renderAlertContext(context), ts).catch((error: unknown) => log(`alert messages: Slack refused the context reply of alert ${alert.id}`, error));
  }

  async function showAlert(alertId: string, initial: PostClaim | undefined, firstPost: boolean): Promise<void> {
    let claim = initial;
    let fresh = firstPost;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const row = await messages.get(alertId);
      const alert = await alerts.get(alertId);
      if (!row || !alert || row.stormId) return;
      const events = await alerts.events(alertId);
      const escalatedTo = escalatedLevel(alert, events);
      const message = renderAlertMessage({ alert, autoActions: events.filter((event) => event.kind === 'auto-action'), ...(escalatedTo ? { escalatedTo } : {}) });
      const ts = row.ts;
      if (!ts) {
        // Not posted yet: only the claim's holder posts; the others leave it to the poster's next round.
        if (!claim) return;
        const held = claim;
        const posted = await post(row.channel, `alert ${alertId}'s message`, message, () => messages.release(alertId, held));
        if (!posted) return;
        if (!(await messages.posted(alertId, held, posted))) {
          log(`alert messages: another message of alert ${alertId} was recorded first; this one (${posted}) is not kept current`);
          return;
        }
        remember(posted, JSON.stringify(message));
        claim = undefined;
        if (fresh) await postContext(row.channel, alert, posted);
        fresh = false;
        // Once more: a change another replica committed while this post was on its way is shown now.
        continue;
      } else if (!(await edit(row.channel, `alert ${alertId}'s message`, ts, message))) {
        claim = await messages.forget(alertId, ts);
        shown.delete(ts);
        if (!claim) return;
        continue;
      }
      const replies = repliesOf(events, row.toldThrough);
      const last = events.at(-1)?.id;
      if (last === undefined || BigInt(last) <= BigInt(row.toldThrough)) return;
      // Taken before posting: a reply is never posted twice. One Slack refuses is given back with
      // the ones after it, in order, so that the alert's next change posts them.
      if (!(await messages.takeReplies(alertId, row.toldThrough, last))) continue;
      for (const event of replies) {
        const reply = renderAlertReply(event, alert);
        if (!reply) continue;
        const refused = await queue.post(row.channel, reply, ts).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (refused === undefined) continue;
        const givenBack = await messages.takeReplies(alertId, last, (BigInt(event.id) - 1n).toString()).catch(() => false);
        log(`alert messages: Slack refused the reply of alert ${alertId}'s ${event.kind}; ${givenBack ? 'the next change tries again' : 'another change took the thread on, so it is not retried'}`, refused);
        return;
      }
      return;
    }
  }

  async function showStorm(stormId: string, initial: PostClaim | undefined): Promise<void> {
    let claim = initial;
    let lastTotal = -1;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const storm = await messages.storm(stormId);
      if (!storm) return;
      const message = renderStormSummary({ startedAt: storm.startedAt, total: storm.total, open: storm.open, byRule: storm.byRule, byService: storm.byService, threshold: stormThreshold });
      if (!storm.ts) {
        claim ??= await messages.reclaimStorm(stormId);
        if (!claim) return;
        const held = claim;
        const posted = await post(storm.channel, `the summary of storm ${stormId}`, message, () => messages.releaseStorm(stormId, held));
        if (!posted || !(await messages.stormPosted(stormId, held, posted))) return;
        remember(posted, JSON.stringify(message));
        claim = undefined;
      } else if (!(await edit(storm.channel, `the summary of storm ${stormId}`, storm.ts, message))) {
        claim = await messages.forgetStorm(stormId, storm.ts);
        shown.delete(storm.ts);
        if (!claim) return;
        continue;
      }
      // Members that joined while the summary was being posted are shown by one more round.
      if (storm.total === lastTotal) return;
      lastTotal = storm.total;
    }
  }

  async function show(change: AlertChange): Promise<void> {
    const alertId = change.alert.id;
    const row = await messages.get(alertId);
    if (row?.stormId) {
      // A member firing again after its storm ended is decided afresh: a message of its own, or a new storm's.
      const again = change.event.kind === 'fired' && !change.event.silenced ? await messages.refire(alertId, { channel, stormThreshold, toldThrough: change.event.id }) : undefined;
      showStormOnce(row.stormId, undefined);
      if (again?.kind === 'message') return showAlert(alertId, again.claim, true);
      if (again?.kind === 'storm') showStormOnce(again.stormId, again.claim);
      return;
    }
    if (row) {
      // Unposted with its claim run out (the poster died, Slack refused the post): this change posts it.
      const claim = row.ts ? undefined : await messages.reclaim(alertId);
      return showAlert(alertId, claim, false);
    }
    // Only a firing nobody silenced makes a message.
    if (change.event.kind !== 'fired' || change.event.silenced) return;
    const decision = await messages.decide(alertId, { channel, stormThreshold, toldThrough: change.event.id });
    if (decision.kind === 'storm') return showStormOnce(decision.stormId, decision.claim);
    if (decision.kind === 'decided') return show(change);
    return showAlert(alertId, decision.claim, true);
  }

  return {
    changed(change) {
      chain(`alert ${change.alert.id}`, () => show(change));
    },
    async idle() {
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}
