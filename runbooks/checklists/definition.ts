/**
 * What a checklist is: the runbook's "Maintenance Checklists" as data. Each item is either a check
 * the bot runs itself (through the ports commands use) and that returns pass, fail or unknown with
 * one sentence of evidence, or a box a person ticks. Manual items say why the bot cannot check
 * them, so nobody mistakes a tick for a measurement.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';

export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface CheckOutcome {
  status: CheckStatus;
  /** One sentence: what the check saw (figures, ids, ages), shown beside the item. */
  evidence: string;
}

export interface CheckContext {
  /** What commands talk to: the service clients, the Stack, the backups catalog, the bot's trail. */
  services: CommandDependencies;
  signal: AbortSignal;
  now: Date;
}

interface ItemBase {
  /** kebab-case, unique in its checklist: what a tick names (`checklist tick <id> <item>`). */
  id: string;
  /** The runbook's words for the item. */
  text: string;
}

export interface AutomaticItem extends ItemBase {
  mode: 'auto';
  /** What the check looks at, in a few words a person reads beside the evidence. */
  note: string;
  check(context: CheckContext): Promise<CheckOutcome>;
}

export interface ManualItem extends ItemBase {
  mode: 'manual';
  /** Why a person ticks it: what the bot cannot see. */
  note: string;
}

export type ChecklistItem = AutomaticItem | ManualItem;

export interface ChecklistDefinition {
  /** kebab-case: what `/acgs checklist <name>` takes. */
  name: string;
  title: string;
  summary: string;
  items: readonly ChecklistItem[];
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Words the `checklist` commands take after `checklist`: a checklist of that name could never be started. */
const RESERVED = new Set(['tick', 'untick', 'rerun', 'show']);
/** Item ids travel in button values next to a UUID; Slack allows 2000 characters, we keep them short. */
const MAX_ID_LENGTH = 40;
const MAX_TEXT_LENGTH = 120;
/** Slack shows one section per item in a message of at most 50 blocks (header, summary and buttons take a few). */
const MAX_ITEMS = 40;

/** Checks the definition where it is written, so a bad one fails at import (and in its test), never at a tick. */
export function defineChecklist(definition: ChecklistDefinition): ChecklistDefinition {
  const problem = (what: string) => new Error(`checklist "${definition.name}": ${what}`);
  if (!KEBAB.test(definition.name) || RESERVED.has(definition.name)) throw problem('the name must be kebab-case and not a word the checklist commands take');
  if (definition.title.trim() === '' || definition.summary.trim() === '') throw problem('needs a title and a summary');
  if (definition.items.length === 0) throw problem('has no items');
  if (definition.items.length > MAX_ITEMS) throw problem(`has ${definition.items.length} items; at most ${MAX_ITEMS} fit in one Slack message`);
  const seen = new Set<string>();
  for (const item of definition.items) {
    if (!KEBAB.test(item.id) || item.id.length > MAX_ID_LENGTH) throw problem(`item id "${item.id}" must be kebab-case, at most ${MAX_ID_LENGTH} characters`);
    if (seen.has(item.id)) throw problem(`item id "${item.id}" is used twice`);
    seen.add(item.id);
    if (item.text.trim() === '' || item.text.length > MAX_TEXT_LENGTH) throw problem(`item "${item.id}" needs a text of at most ${MAX_TEXT_LENGTH} characters`);
    if (item.note.trim() === '') throw problem(`item "${item.id}" needs a note (what the check looks at, or why a person ticks it)`);
  }
  return definition;
}
