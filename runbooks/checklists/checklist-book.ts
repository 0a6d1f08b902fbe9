/**
 * The commands' `Checklists` port (commands/ports.ts) over the definitions and the store: starting
 * one runs its automatic checks first (each with its own deadline, in parallel) and records them
 * with the checklist in one transaction; a re-run does the same for a started one. Every change is
 * told to `onChanged` (the bot keeps the checklist's Slack message current); its failure never
 * undoes the change.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { withDeadline } from '../../commands/health-probes.js';
import { clip } from '../../commands/format.js';
import { ChecklistRequestError, type ChecklistInfo, type Checklists } from '../../commands/ports.js';
import type { CheckOutcome, ChecklistDefinition } from './definition.js';
import { createChecklistStore, refuseCompleted, type ChecklistStore, type CheckResults } from './checklist-store.js';

/** Longer than a health probe and a checkpoint verification take; a check that takes longer says unknown. */
export const DEFAULT_CHECK_TIMEOUT_MS = 15_000;

export interface ChecklistBookOptions {
  pool: pg.Pool;
  definitions: readonly ChecklistDefinition[];
  /** What the automatic checks read: the same dependencies commands get. */
  services: CommandDependencies;
  checkTimeoutMs?: number;
  /** Told of every checklist that changed (started, ticked, re-checked). */
  onChanged?(checklist: ChecklistInfo): Promise<unknown>;
  log?(message: string, error?: unknown): void;
}

export function createChecklistBook(options: ChecklistBookOptions): Checklists & { store: ChecklistStore } {
  const store = createChecklistStore(options.pool);
  const timeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const byName = new Map(options.definitions.map((definition) => [definition.name, definition]));

  const definitionOf = (name: string): ChecklistDefinition => {
    const definition = byName.get(name);
    if (!definition) {
      throw new ChecklistRequestError('unknown-checklist', `There is no checklist "${clip(name, 40)}"; the checklists are ${[...byName.keys()].join(', ')}.`);
    }
    return definition;
  };

  async function runChecks(definition: ChecklistDefinition): Promise<CheckResults> {
    const results = new Map<string, CheckOutcome>();
    await Promise.all(
      definition.items.map(async (item) => {
        if (item.mode !== 'auto') return;
        try {
          const outcome = await withDeadline(timeoutMs, new AbortController().signal, (signal) => item.check({ services: options.services, signal, now: new Date() }));
          results.set(item.id, { status: outcome.status, evidence: clip(outcome.evidence, 600) });
        } catch (error) {
          results.set(item.id, { status: 'unknown', evidence: `The check could not finish: ${clip(error instanceof Error ? error.message : String(error), 200)}.` });
        }
      }),
    );
    return results;
  }

  async function changed(checklist: ChecklistInfo): Promise<ChecklistInfo> {
    await options.onChanged?.(checklist).catch((error: unknown) => options.log?.(`checklist ${checklist.id}: showing the change failed`, error));
    return checklist;
  }

  async function existing(id: string): Promise<ChecklistInfo> {
    const checklist = await store.get(id);
    if (!checklist) throw new ChecklistRequestError('unknown-instance', `No checklist has the id ${clip(id, 40)}; \`checklists\` lists the open and recent ones.`);
    return checklist;
  }

  return {
    store,
    definitions() {
      return options.definitions.map((definition) => ({
        name: definition.name,
        title: definition.title,
        summary: definition.summary,
        items: definition.items.map((item) => ({ id: item.id, text: item.text, mode: item.mode, note: item.note })),
      }));
    },
    async start({ checklist: name, startedBy, origin, channel }) {
      const definition = definitionOf(name);
      const results = await runChecks(definition);
      const created = await store.create({
        id: randomUUID(),
        checklist: definition.name,
        title: definition.title,
        startedBy,
        origin,
        ...(channel ? { channel } : {}),
        items: definition.items.map((item) => ({ id: item.id, text: item.text, mode: item.mode, note: item.note, ...(results.has(item.id) ? { check: results.get(item.id)! } : {}) })),
      });
      return changed(created);
    },
    async tick(id, itemId, by) {
      return changed(await store.mark(id, itemId, by, 'tick'));
    },
    async untick(id, itemId, by) {
      return changed(await store.mark(id, itemId, by, 'untick'));
    },
    async rerun(id, by) {
      const checklist = await existing(id);
      // Refused before the checks run: a completed checklist records nothing more.
      refuseCompleted(checklist);
      const definition = byName.get(checklist.checklist);
      if (!definition) throw new ChecklistRequestError('unknown-checklist', `This process no longer knows the ${clip(checklist.checklist, 40)} checklist, so it cannot run its checks.`);
      return changed(await store.recordChecks(id, by, await runChecks(definition)));
    },
    async get(id) {
      const checklist = await existing(id);
      return { checklist, events: await store.events(id) };
    },
    async recent(limit) {
      const [open, completed] = await Promise.all([store.open(), store.completed(limit)]);
      return { open, completed };
    },
  };
}
