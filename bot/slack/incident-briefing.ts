/**
 * The briefing an incident's channel opens with (issue 16): what the incident is, who holds its
 * roles, what is known (current health, open alerts, recent deploys and rollbacks, recent
 * commands) and the first steps of the runbook procedure for its type, shown as the checklist
 * message shows items (checklist-message.ts).
 *
 * Pure: everything comes in as plain arrays, gathered by the caller, so the briefing is the same
 * whoever renders it. A part the caller could not read comes as `{ problem }` and says so rather
 * than showing as empty. Every Block Kit limit is met here: long lists are cut with "and N more",
 * long texts with a visible note, and every text a person or service wrote is escaped.
 */
import type { types as slackTypes } from '@slack/bolt';
import type { Tone } from '../../commands/result.js';
import { incidentProcedures } from '../../runbooks/checklists/incident-procedures.js';
import type { ChecklistDefinition } from '../../runbooks/checklists/definition.js';
import { redactText } from '../audit-trail/redaction.js';
import type { IncidentRole, IncidentType } from '../incidents/incident-input.js';
import type { Incident } from '../incidents/incident-store.js';
import { sentenceMrkdwn } from './approval-message.js';
import { checklistItemLine } from './checklist-message.js';
import { escapeText, fitText } from './mrkdwn.js';
import { SLACK_LIMITS, type SlackMessage } from './render.js';

type KnownBlock = slackTypes.KnownBlock;

export interface HealthRow {
  service: string;
  tone: Tone;
  /** What the check saw, for example `2 ms` or `connection refused`. */
  detail: string;
}

export interface OpenAlertRow {
  title: string;
  severity: string;
  since: Date;
}

export interface DeploymentRow {
  service: string;
  version: string;
  kind: 'deploy' | 'hotfix' | 'rollback' | 'initial';
  at: Date;
  by?: string;
  outcome?: string;
}

export interface CommandRow {
  /** The command line as typed; secrets in it are redacted here as the trail redacts them. */
  line: string;
  actor: string;
  at: Date;
  outcome?: string;
}

/** A part the caller could not read: shown as such, never as "nothing". */
export interface UnreadPart {
  problem: string;
}

export interface IncidentBriefingInput {
  incident: Pick<Incident, 'key' | 'title' | 'severity' | 'type' | 'private' | 'declaredBy' | 'declaredAt' | 'roles'>;
  health: readonly HealthRow[] | UnreadPart;
  openAlerts: readonly OpenAlertRow[] | UnreadPart;
  recentDeploys: readonly DeploymentRow[] | UnreadPart;
  recentCommands: readonly CommandRow[] | UnreadPart;
  /** How many of the procedure's steps to show (default FIRST_STEPS). */
  firstSteps?: number;
}

/** Every incident type has its procedure: a new type fails to compile until it gets one. */
const PROCEDURES: Record<IncidentType, ChecklistDefinition> = incidentProcedures;

export const FIRST_STEPS = 5;
/** Rows shown per part; the rest are counted in "and N more". */
export const MAX_ROWS = { health: 12, openAlerts: 10, recentDeploys: 6, recentCommands: 8 } as const;
/** One row's text, so that a part stays far inside a section's 3000 characters. */
const ROW_TEXT = 180;

const TONE_EMOJI: Record<Tone, string> = { ok: ':large_green_circle:', warn: ':large_yellow_circle:', fail: ':red_circle:', info: ':information_source:' };
const SEVERITY_EMOJI: Record<string, string> = { sev1: ':rotating_light:', sev2: ':red_circle:', sev3: ':large_orange_circle:', sev4: ':large_yellow_circle:' };
const ROLE_WORDS: Record<IncidentRole, string> = { commander: 'Commander', communications: 'Communications', scribe: 'Scribe' };
const DEPLOY_WORDS: Record<DeploymentRow['kind'], string> = { deploy: 'deployed', hotfix: 'hotfixed', rollback: 'rolled back to', initial: 'first recorded at' };

const person = (id: string) => sentenceMrkdwn([{ user: id }]);

/** `18:30 UTC` on the declaration's day, with the date on any other. */
function when(at: Date, declaredAt: Date): string {
  const iso = at.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === declaredAt.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

function isUnread<T>(part: readonly T[] | UnreadPart): part is UnreadPart {
  return !Array.isArray(part);
}

/** Room kept in a section for its "and N more" line. */
const MORE_LINE_ROOM = 24;

/**
 * A titled section of rows: at most `max` shown, and no more than fit in one section, the rest
 * counted in "and N more"; an unread part says why.
 */
function partSection(title: string, part: readonly string[] | UnreadPart, max: number, none: string): KnownBlock {
  const count = isUnread(part) || part.length === 0 ? '' : ` (${part.length})`;
  const heading = `*${title}*${count}`;
  let body: string;
  if (isUnread(part)) body = `:grey_question: _Could not be read: ${fitText(part.problem, 300)}_`;
  else if (part.length === 0) body = `_${none}_`;
  else {
    const budget = SLACK_LIMITS.sectionText - heading.length - 1 - MORE_LINE_ROOM;
    const shown: string[] = [];
    let used = 0;
    for (const row of part.slice(0, max)) {
      if (used + row.length + 1 > budget) break;
      shown.push(row);
      used += row.length + 1;
    }
    const more = part.length - shown.length;
    body = [...shown, ...(more > 0 ? [`_and ${more} more_`] : [])].join('\n');
  }
  return { type: 'section', text: { type: 'mrkdwn', text: `${heading}\n${body}` } };
}

function rows<T>(part: readonly T[] | UnreadPart, line: (row: T) => string): readonly string[] | UnreadPart {
  return isUnread(part) ? part : part.map(line);
}

function roleFields(incident: IncidentBriefingInput['incident']): string[] {
  return (Object.keys(ROLE_WORDS) as IncidentRole[]).map((role) => {
    // The declarer is commander from the declaration, even before the store lists the role.
    const holder = incident.roles[role]?.holder ?? (role === 'commander' ? incident.declaredBy : undefined);
    return `*${ROLE_WORDS[role]}*\n${holder ? person(holder) : '_not named yet_'}`;
  });
}

export function renderIncidentBriefing(input: IncidentBriefingInput): SlackMessage {
  const { incident } = input;
  const at = (date: Date) => when(date, incident.declaredAt);
  const procedure = PROCEDURES[incident.type];
  const firstSteps = procedure.items.slice(0, Math.max(1, input.firstSteps ?? FIRST_STEPS));

  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: fitText(`${incident.key} · ${incident.severity} · ${incident.title}`, SLACK_LIMITS.headerText), emoji: true } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Severity*\n${SEVERITY_EMOJI[incident.severity] ?? ''} ${escapeText(incident.severity)}` },
        { type: 'mrkdwn', text: `*Type*\n${escapeText(incident.type)}${incident.private ? ' (private)' : ''}` },
        { type: 'mrkdwn', text: `*Declared*\nby ${person(incident.declaredBy)} at ${incident.declaredAt.toISOString().slice(0, 10)} ${at(incident.declaredAt)}` },
        ...roleFields(incident).map((text) => ({ type: 'mrkdwn' as const, text })),
      ],
    },
    { type: 'divider' },
    partSection(
      'Current health',
      rows(input.health, (row) => `${TONE_EMOJI[row.tone]} *${fitText(row.service, 60)}* ${fitText(row.detail, ROW_TEXT)}`),
      MAX_ROWS.health,
      'No service reported its health.',
    ),
    partSection(
      'Open alerts',
      rows(input.openAlerts, (row) => `:warning: *${fitText(row.severity, 20)}* ${fitText(row.title, ROW_TEXT)} _(since ${at(row.since)})_`),
      MAX_ROWS.openAlerts,
      'No open alerts.',
    ),
    partSection(
      'Recent deploys and rollbacks',
      rows(
        input.recentDeploys,
        (row) =>
          `${row.kind === 'rollback' ? ':leftwards_arrow_with_hook:' : ':package:'} ${at(row.at)} *${fitText(row.service, 60)}* ${DEPLOY_WORDS[row.kind]} ${fitText(row.version, 60)}${row.by ? ` by ${person(row.by)}` : ''}${row.outcome ? ` · ${fitText(row.outcome, 40)}` : ''}`,
      ),
      MAX_ROWS.recentDeploys,
      'No deploys or rollbacks recently.',
    ),
    partSection(
      'Recent commands',
      rows(input.recentCommands, (row) => `${at(row.at)} ${person(row.actor)} \`${fitText(redactText(row.line), ROW_TEXT)}\`${row.outcome ? ` · ${fitText(row.outcome, 60)}` : ''}`),
      MAX_ROWS.recentCommands,
      'No commands recently.',
    ),
    { type: 'divider' },
    { type: 'section', text: { type: 'mrkdwn', text: `*First steps: ${escapeText(procedure.title)}*\n${escapeText(procedure.summary)}` } },
  ];
  for (const item of firstSteps) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: checklistItemLine({ id: item.id, text: item.text, mode: item.mode, note: item.note, state: 'open', evidence: null, checkedAt: null, tickedBy: null, tickedAt: null }) },
    });
  }
  const rest = procedure.items.length - firstSteps.length;
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${rest > 0 ? `${rest} more step${rest === 1 ? '' : 's'} in the runbook's procedure (\`${procedure.name}\`)` : `The runbook's whole procedure (\`${procedure.name}\`)`} · post status updates with \`/acgs incident update <text>\``,
      },
    ],
  });
  const fallback = `${incident.key} (${incident.severity}, ${incident.type}): ${incident.title}`;
  return { text: fitText(fallback, SLACK_LIMITS.fallbackText), blocks };
}
