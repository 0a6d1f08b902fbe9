import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { PolicyInput } from './contract.js';

/**
 * The inputs `GET|POST /v1/cache/warm` evaluates (README.md, "Cache warm set"): the requests
 * the other services and the bot send most often, so that a fresh replica or a new policy
 * version answers them from L1 at once. Parsed with the contract so they carry the same
 * defaults, and so the same cache keys, as real requests.
 */
const trusted = { id: 'warm-set-agent', trust_level: 0.95 };
const guarded = { sandbox_enabled: true, audit_enabled: true };

function action(name: string, explanation?: string) {
  return {
    type: 'action_authorization',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: name,
    context: { agent: trusted, environment: guarded, ...(explanation ? { explanation } : {}) },
  };
}

const rawWarmSet = [
  // Read-only observation: what dashboards, the bot and health checks ask all day.
  action('health.check'),
  action('metrics.read'),
  action('policy.read'),
  action('audit.read'),
  action('evolution.read'),
  // Routine agent work.
  action('data.read'),
  action('model.infer'),
  action('code.analyze'),
  // The Sandbox Controller's question before every execution.
  action('sandbox.execute', 'run the submitted snippet in the sandbox'),
  action('code.execute', 'run the submitted snippet in the sandbox'),
  action('compute.allocate', 'allocate compute for a scheduled job'),
  // Dangerous actions agents keep trying; always denied.
  action('system.execute_shell'),
  action('auth.escalate_privileges'),
  // A low-risk evolution from the Evolution Oversight service.
  {
    type: 'evolution_approval',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: 'evolution.approve',
    context: { agent: trusted, environment: guarded, explanation: 'routine prompt tuning' },
    evolution_request: {
      agent_id: 'warm-set-agent',
      change_description: 'tune the summariser prompt',
      new_version: '1.0.1',
      priority: 'low',
      privilege_escalation: false,
      external_dependencies: false,
      experimental_features: false,
      rollback_plan: 'redeploy 1.0.0',
    },
  },
  // Public data access with a purpose.
  {
    type: 'data_access',
    constitutional_hash: CONSTITUTIONAL_HASH,
    action: 'data.read',
    context: { agent: trusted, environment: guarded },
    data_request: { classification: 'public', purpose: 'reporting', consent: true, retention_days: 30, encrypted: true },
  },
];

export const WARM_SET: readonly PolicyInput[] = Object.freeze(rawWarmSet.map((input) => PolicyInput.parse(input)));
