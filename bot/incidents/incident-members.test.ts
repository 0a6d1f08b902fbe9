import { describe, expect, it } from 'vitest';
import { escalationMatrix } from '../alerts/escalation-matrix.js';
import { incidentMembers } from './incident-members.js';

const roles = { oncall: ['U0ONCALL', 'S0ONCALLGROUP'], approvers: ['U0APPROVER1', 'U0ONCALL'], admins: ['U0ADMIN'], security: ['U0SEC'] };

describe('incidentMembers', () => {
  it('asks on-call, the commander and the whole matrix row of the type, each once, in that order', () => {
    const members = incidentMembers({ incident: { type: 'performance', declaredBy: 'U0DECLARER', roles: {} }, roles, matrix: escalationMatrix(undefined) });
    expect(members).toEqual({ ids: ['U0ONCALL', 'S0ONCALLGROUP', 'U0DECLARER', 'U0APPROVER1', 'U0ADMIN'], emptyRoles: [] });
  });

  it("takes the current commander over the declarer, and the type's own row with its contacts' Slack people", () => {
    const matrix = escalationMatrix({ issue_types: { security: { primary: ['security'], secondary: ['sec-team'], escalation: ['U0CISO'] } } });
    const contacts = new Map([['sec-team', { slack: { mention: ['S0SECGROUP'], dm: ['U0SECLEAD'] } }]]);
    const members = incidentMembers({ incident: { type: 'security', declaredBy: 'U0DECLARER', roles: { commander: 'U0LEAD' } }, roles, matrix, contacts });
    expect(members.ids).toEqual(['U0ONCALL', 'S0ONCALLGROUP', 'U0LEAD', 'U0SEC', 'S0SECGROUP', 'U0SECLEAD', 'U0CISO']);
    const other = incidentMembers({ incident: { type: 'infrastructure', declaredBy: 'U0DECLARER', roles: {} }, roles, matrix, contacts });
    expect(other.ids).not.toContain('U0SEC');
  });

  it('says which named roles nobody holds, and never takes a CLI user or a non-Slack role entry for a person', () => {
    const members = incidentMembers({ incident: { type: 'constitutional', declaredBy: 'cli:olivia', roles: {} }, roles: { approvers: ['U0APPROVER1', 'level-one'] }, matrix: escalationMatrix(undefined) });
    expect(members).toEqual({ ids: ['U0APPROVER1'], emptyRoles: ['oncall', 'admins'] });
  });
});
