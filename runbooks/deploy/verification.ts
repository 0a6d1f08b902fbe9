/**
 * The deployment's verification (OPERATIONAL_RUNBOOK.md, "Post-deployment verification"): after
 * each service and once at the end, the service's health, the Policy Engine's decisions on two
 * inputs whose answer is known (a compliant request is allowed, a shell for an agent is denied),
 * and the Audit Engine's hash chain. Each check gives a figure a person can read; any that is not
 * ok fails the verification and the rollout rolls back.
 */
import { runHealthChecks } from '../../commands/health.js';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { CONSTITUTIONAL_HASH } from '../../services/kit/constitution.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { PolicyInputInit } from '../../services/clients/policy-engine.js';
import type { StepPorts, VerificationFigure } from '../engine/ports.js';

/** A request every mode but lockdown allows: a trusted, sandboxed, audited agent reading data. */
export const KNOWN_ALLOWED: PolicyInputInit = {
  type: 'action_authorization',
  constitutional_hash: CONSTITUTIONAL_HASH,
  action: 'data.read',
  context: {
    agent: { id: 'acgs-deploy-verification', trust_level: 0.95 },
    environment: { sandbox_enabled: true, audit_enabled: true },
    explanation: 'post-deployment verification: a request that must be allowed',
  },
};

/** A request every policy denies: a shell for an agent. */
export const KNOWN_DENIED: PolicyInputInit = {
  ...KNOWN_ALLOWED,
  action: 'system.execute_shell',
  context: { ...KNOWN_ALLOWED.context, explanation: 'post-deployment verification: a request that must be denied' },
};

function servicesOf(ports: StepPorts): CommandDependencies {
  const services = ports.commands;
  if (!services?.endpoints || !services.policyEngine || !services.auditEngine || services.checkTimeoutMs === undefined) {
    throw new Error('this process has no service clients (ports.commands) to verify the stack with');
  }
  return services as CommandDependencies;
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 200);

/** Each named service's health checks (the `health` command's), as figures. */
export async function healthFigures(ports: StepPorts, services: readonly ServiceName[], signal: AbortSignal): Promise<VerificationFigure[]> {
  const deps = servicesOf(ports);
  const checks = (await Promise.all(services.map((service) => runHealthChecks({ services: deps, signal }, service)))).flat();
  return checks.map((check) => ({ name: `${check.name} health`, value: check.detail ? `${check.status} (${check.detail})` : check.status, ok: check.tone !== 'fail' }));
}

/** The Policy Engine's answers to the two known inputs. */
export async function decisionFigures(ports: StepPorts): Promise<VerificationFigure[]> {
  const { policyEngine } = servicesOf(ports);
  const figures: VerificationFigure[] = [];
  for (const [name, input, expected] of [
    ['known allowed request', KNOWN_ALLOWED, true],
    ['known denied request', KNOWN_DENIED, false],
  ] as const) {
    try {
      const decision = await policyEngine.decide(input);
      // Lockdown denies everything: a denial of the allowed request then is the policy working.
      const wanted = expected && !decision.mode.lockdown;
      figures.push({ name, value: `${decision.allow ? 'allowed' : 'denied'}${decision.mode.lockdown ? ' (lockdown)' : ''}`, limit: wanted ? 'allowed' : 'denied', ok: decision.allow === wanted });
    } catch (error) {
      figures.push({ name, value: `no decision: ${reason(error)}`, limit: expected ? 'allowed' : 'denied', ok: false });
    }
  }
  return figures;
}

/** The Audit Engine's chain, checked from its last signed checkpoint. */
export async function auditChainFigure(ports: StepPorts): Promise<VerificationFigure> {
  const { auditEngine } = servicesOf(ports);
  try {
    const result = await auditEngine.verify(undefined, { scope: 'checkpoint' });
    return {
      name: 'audit chain',
      value: result.valid ? `intact (${result.events_checked} records checked up to #${result.head.sequence})` : `broken at #${result.first_broken?.sequence ?? '?'}`,
      ok: result.valid,
    };
  } catch (error) {
    return { name: 'audit chain', value: `not checked: ${reason(error)}`, ok: false };
  }
}

/** Health of `services`, plus the decisions when the Policy Engine is among them (or `all`), plus the audit chain when `all`. */
export async function verifyRelease(ports: StepPorts, services: readonly ServiceName[], signal: AbortSignal, all = false): Promise<VerificationFigure[]> {
  const figures = await healthFigures(ports, services, signal);
  if (all || services.includes('policy-engine')) figures.push(...(await decisionFigures(ports)));
  if (all || services.includes('audit-engine')) figures.push(await auditChainFigure(ports));
  return figures;
}

export const failedFigures = (figures: readonly VerificationFigure[]) => figures.filter((figure) => !figure.ok);

export function describeFigures(figures: readonly VerificationFigure[]): string {
  return figures.map((figure) => `${figure.name}: ${figure.value}${figure.limit && !figure.ok ? ` (wanted ${figure.limit})` : ''}`).join('; ');
}
