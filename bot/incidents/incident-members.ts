/**
 * Who is asked into an incident's channel (issue 16): the on-call people, the commander, and
 * everyone the escalation matrix names for the incident's type, in all three columns (primary,
 * secondary, escalation): an incident is already past the levels an alert climbs one at a time.
 *
 * Pure and Slack-free: the answer is Slack user and user group IDs, each once, in that order; the
 * Slack side expands the groups and leaves out bots (bot/slack/incident-slack.ts).
 */
import { CONTACT_COLUMNS, type ContactSlackReach, type EscalationMatrix } from '../alerts/escalation-matrix.js';
import type { IncidentType } from './incident-input.js';

const SLACK_ID = /^[UWS][A-Z0-9]{2,20}$/;

export interface IncidentMembersInput {
  incident: { type: IncidentType; declaredBy: string; roles: { commander?: string } };
  /** The config's roles (`oncall`, `approvers`, `admins`, ...): user and user group IDs. */
  roles: Readonly<Record<string, readonly string[]>>;
  matrix: Pick<EscalationMatrix, 'issueTypes'>;
  /** The config's `contacts`: only their Slack people are invited (e-mail and webhooks are paging's). */
  contacts?: ReadonlyMap<string, ContactSlackReach>;
}

export interface IncidentMembers {
  /** Slack user (U…, W…) and user group (S…) IDs, each once. */
  ids: string[];
  /** Roles named (on-call, or by the matrix) that the config gives nobody: said, not dropped. */
  emptyRoles: string[];
}

export function incidentMembers(input: IncidentMembersInput): IncidentMembers {
  const ids: string[] = [];
  const emptyRoles: string[] = [];
  const once = (list: string[], value: string) => {
    if (!list.includes(value)) list.push(value);
  };
  const add = (entry: string) => {
    if (SLACK_ID.test(entry)) return once(ids, entry);
    const contact = input.contacts?.get(entry);
    if (contact) {
      [...contact.slack.mention, ...contact.slack.dm].forEach((id) => once(ids, id));
      return;
    }
    const members = input.roles[entry] ?? [];
    if (members.length === 0) once(emptyRoles, entry);
    // Role entries may be anything the config accepts; only Slack IDs can be invited.
    members.filter((member) => SLACK_ID.test(member)).forEach((member) => once(ids, member));
  };
  add('oncall');
  // A declaration from the CLI has a `cli:<user>` commander, who has no Slack account to invite.
  const commander = input.incident.roles.commander ?? input.incident.declaredBy;
  if (SLACK_ID.test(commander)) once(ids, commander);
  const row = input.matrix.issueTypes[input.incident.type];
  for (const column of CONTACT_COLUMNS) row[column].forEach(add);
  return { ids, emptyRoles };
}
