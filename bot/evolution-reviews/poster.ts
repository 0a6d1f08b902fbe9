/**
 * The review card poster: every few seconds (and once at start) it asks Evolution Oversight for
 * the proposals in `human_review`, posts a card for each one that has none (after winning its
 * claim in the card store, so once across restarts and replicas), and brings up to date the open
 * cards of proposals that were decided elsewhere (the REST API, another card, a typed command). A post
 * that fails gives its claim back and is tried again next round. A post that Slack accepted is
 * never posted again: when its place cannot be recorded, the claim is kept and the place is
 * recorded by a later round. Slack-free: the Slack layer gives the publisher.
 */
import { ServiceCallError } from '../../services/clients/http.js';
import type { EvolutionOversightClient } from '../../services/clients/evolution-oversight.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import { startPeriodicJob } from '../../services/kit/periodic.js';
import type { CardClaim, CardRef, ReviewCardStore } from './card-store.js';

/** What the poster asks the Slack layer to do. */
export interface ReviewCardPublisher {
  /** Posts a new card for a proposal waiting for review; returns where it went. */
  post(channel: string, evolution: Evolution): Promise<CardRef>;
  /** Shows the proposal as it now stands on its card; `undefined`: the service no longer knows it. */
  update(ref: CardRef, evolutionId: string, evolution: Evolution | undefined): Promise<void>;
}

export const DEFAULT_REVIEW_POLL_MS = 15_000;
/** The service's largest page; more proposals than this waiting at once are posted over several rounds as older ones are decided. */
export const REVIEW_LIST_LIMIT = 500;
export const REVIEW_STATUS = 'human_review';

export interface RoundReport {
  /** Proposals this round posted a card for. */
  posted: string[];
  /** Cards this round brought up to date because their proposal was decided (or is gone). */
  updated: string[];
  /** Proposals whose post or update failed; tried again next round. */
  failed: string[];
  /** Proposals whose card is posted but whose place the store has not recorded yet; recorded by a later round, never posted again. */
  unrecorded: string[];
}

/** A card Slack accepted whose place the store did not record; the claim is still held for it. */
export interface UnrecordedCard {
  claim: CardClaim;
  ref: CardRef;
}

export interface ReviewPosterOptions {
  client: Pick<EvolutionOversightClient, 'list' | 'get'>;
  store: ReviewCardStore;
  publisher: ReviewCardPublisher;
  /** The approvals channel (or the ops channel). */
  channel: string;
  intervalMs?: number;
  /** A failed round or card, for the log; the poster carries on. */
  onError?: (error: unknown, what: string) => void;
  /**
   * Cards posted whose place is still to be recorded, by proposal id, kept from round to round
   * (the poster keeps one); a round records them first and never posts them again.
   */
  unrecorded?: Map<string, UnrecordedCard>;
}

export interface ReviewPoster {
  /** One round now; concurrent calls share the round in progress. Rejects when the proposals cannot be listed. */
  runOnce(): Promise<RoundReport>;
  /** Stops the timer and waits for the round in progress. */
  stop(): Promise<void>;
}

async function currentEvolution(client: ReviewPosterOptions['client'], id: string): Promise<Evolution | undefined> {
  try {
    return await client.get(id);
  } catch (error) {
    if (error instanceof ServiceCallError && error.status === 404) return undefined;
    throw error;
  }
}

/** One round, as a function of its parts: list, post what has no card, update what was decided. */
export async function postReviewCards(options: ReviewPosterOptions): Promise<RoundReport> {
  const { client, store, publisher, channel } = options;
  const unrecorded = options.unrecorded ?? new Map<string, UnrecordedCard>();
  const report: RoundReport = { posted: [], updated: [], failed: [], unrecorded: [] };
  for (const [id, card] of unrecorded) {
    if (await recordPlace(options, card)) unrecorded.delete(id);
  }
  const waiting = (await client.list({ status: REVIEW_STATUS, limit: REVIEW_LIST_LIMIT })).evolutions;
  const open = await store.open();
  const posted = new Set(open.filter((card) => card.ref).map((card) => card.evolutionId));

  // Oldest first, so that the channel shows the proposals in the order they were made.
  for (const evolution of [...waiting].reverse()) {
    // Posted already, its place not yet recorded: our claim still holds it, and its lease may be over.
    if (posted.has(evolution.id) || unrecorded.has(evolution.id)) continue;
    const claim = await store.claim(evolution.id);
    if (!claim) continue;
    let ref: CardRef;
    try {
      ref = await publisher.post(channel, evolution);
    } catch (error) {
      // Only a post that did not happen gives its claim back: the next round (any replica) posts it.
      await store.release(claim).catch(() => undefined);
      report.failed.push(evolution.id);
      options.onError?.(error, `posting the card of ${evolution.id}`);
      continue;
    }
    report.posted.push(evolution.id);
    // Slack has the card now: releasing the claim would let the next round post a second one,
    // and this one would never be updated. Keep the claim and record the place later.
    if (!(await recordPlace(options, { claim, ref }))) unrecorded.set(evolution.id, { claim, ref });
  }
  report.unrecorded.push(...unrecorded.keys());

  const stillWaiting = new Set(waiting.map((evolution) => evolution.id));
  for (const card of open) {
    if (stillWaiting.has(card.evolutionId)) continue;
    try {
      if (!card.ref) {
        await store.dropAbandoned(card.evolutionId);
        continue;
      }
      const now = await currentEvolution(client, card.evolutionId);
      // Still waiting, but beyond the page the list returned: nothing to change.
      if (now?.status === REVIEW_STATUS) continue;
      await publisher.update(card.ref, card.evolutionId, now);
      await store.close(card.evolutionId, now?.status ?? 'gone');
      report.updated.push(card.evolutionId);
    } catch (error) {
      report.failed.push(card.evolutionId);
      options.onError?.(error, `updating the card of ${card.evolutionId}`);
    }
  }
  return report;
}

/** Records a posted card's place; false when it must be tried again (the store failed). */
async function recordPlace(options: ReviewPosterOptions, { claim, ref }: UnrecordedCard): Promise<boolean> {
  try {
    const recorded = await options.store.posted(claim, ref);
    if (!recorded) {
      // The lease ran out and another replica took the claim over: it posts (or posted) its own card.
      options.onError?.(new Error(`the claim on ${claim.evolutionId} was taken over before its card's place was recorded; the card in ${ref.channel} at ${ref.ts} will not be updated`), `recording the card of ${claim.evolutionId}`);
    }
    return true;
  } catch (error) {
    options.onError?.(error, `recording the card of ${claim.evolutionId}`);
    return false;
  }
}

export function startEvolutionReviewPoster(options: ReviewPosterOptions): ReviewPoster {
  options = { ...options, unrecorded: options.unrecorded ?? new Map() };
  const intervalMs = options.intervalMs ?? DEFAULT_REVIEW_POLL_MS;
  let running: Promise<RoundReport> | undefined;

  const runOnce = (): Promise<RoundReport> => {
    running ??= postReviewCards(options).finally(() => {
      running = undefined;
    });
    return running;
  };
  // The next round is timed from the end of this one, so rounds never overlap.
  const rounds = startPeriodicJob({
    intervalMs,
    run: runOnce,
    onError: (error) => options.onError?.(error, 'listing the proposals waiting for review'),
  });

  return {
    runOnce,
    async stop() {
      await rounds.stop();
      // A round asked for by runOnce() outside the schedule finishes too.
      await running?.catch(() => undefined);
    },
  };
}

/** ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS: whole seconds from 1 to 3600, or 0 to post no cards. */
export function reviewIntervalFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_REVIEW_POLL_MS;
  if (!/^\d{1,4}$/.test(value.trim()) || Number(value) > 3600) {
    throw new Error(`ACGS_EVOLUTION_REVIEW_INTERVAL_SECONDS must be a whole number of seconds from 0 (no review cards) to 3600 (got "${value.slice(0, 20)}")`);
  }
  return Number(value) * 1000;
}
