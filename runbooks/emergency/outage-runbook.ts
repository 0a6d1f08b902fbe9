/**
 * `outage` (Level 1): the runbook's "System-wide Outage Response", its first five minutes, as a
 * run with an incident: assess the impact (every service's health and the stack's processes or
 * containers), join the incident named or declare a sev1 infrastructure one, tell the
 * stakeholders (a status update on the incident, and the contacts the matrix names for
 * infrastructure paged), then the quick recovery: each service found down restarted through the
 * command path as the requester (`restart <service>`, Level 1 by the rules: run at once for
 * on-call, an approval request otherwise), and every service checked again. Each step's result
 * goes on the incident's timeline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { probeJson } from '../../commands/health-probes.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import type { RunCommandOutcome } from '../engine/ports.js';
import { errorText, evidenceOf, type Finding } from '../troubleshooting/troubleshooting-support.js';
import { commandLinesOf, EmergencyArgs, incidentStep, onTimeline, pageContacts, runIncidentOf, validateIncident } from './incident-run-steps.js';

const RUNBOOK = 'outage';
type Context = StepContext<EmergencyArgs>;

const PROBE_TIMEOUT_MS = 3000;
/** How long the recovery check waits for restarted services to say healthy. */
const RECOVERY_WAIT_MS = 60_000;
const RECOVERY_POLL_MS = 1000;

export interface ServiceImpact {
  service: ServiceName;
  /** `healthy`, `degraded`, `unhealthy`, `unreachable`. */
  status: string;
  problem?: string;
}

export interface ImpactAssessment {
  services: ServiceImpact[];
  down: ServiceName[];
  /** The stack's own view (process or container state), when it could be read. */
  stack: Record<string, string> | null;
  stackProblem?: string;
}

async function readServices(context: Context): Promise<ServiceImpact[]> {
  const endpoints = context.ports.commands?.endpoints;
  if (!endpoints) throw new Error('this process has no service endpoints to check; the bot hands them to the runbook engine (bot/main.ts)');
  return Promise.all(
    SERVICE_NAMES.map(async (service): Promise<ServiceImpact> => {
      const result = await probeJson(`${endpoints[service]}/health`, PROBE_TIMEOUT_MS, context.signal);
      if (!result.ok) return { service, status: 'unreachable', problem: result.problem };
      const body = result.value.body as { status?: unknown } | undefined;
      return { service, status: typeof body?.status === 'string' ? body.status : result.value.status < 400 ? 'answering' : 'unhealthy' };
    }),
  );
}

/** Down is what cannot serve: no answer, or unhealthy. Degraded serves (a dependency is away). */
const isDown = (impact: ServiceImpact) => impact.status === 'unreachable' || impact.status === 'unhealthy';

async function assess(context: Context): Promise<Finding<ImpactAssessment>> {
  const services = await readServices(context);
  let stack: Record<string, string> | null = null;
  let stackProblem: string | undefined;
  const port = context.ports.commands?.stack;
  if (port) {
    try {
      stack = Object.fromEntries((await port.list()).map((entry) => [entry.name, entry.replicas.map((replica) => replica.state).join('/') || 'no replica']));
    } catch (error) {
      stackProblem = errorText(error);
    }
  } else stackProblem = context.ports.commands?.stackProblem ?? 'no Stack port';
  const down = services.filter(isDown).map((impact) => impact.service);
  return { summary: impactSentence(services, stack, stackProblem), evidence: { services, down, stack, ...(stackProblem ? { stackProblem } : {}) } };
}

function impactSentence(services: readonly ServiceImpact[], stack: Record<string, string> | null, stackProblem: string | undefined): string {
  const down = services.filter(isDown);
  const head = down.length === 0 ? `All ${services.length} services answer` : `${down.length} of ${services.length} services down: ${down.map((impact) => `${impact.service} ${impact.status}${impact.problem ? ` (${impact.problem})` : ''}`).join(', ')}`;
  const rest = services.filter((impact) => !isDown(impact)).map((impact) => `${impact.service} ${impact.status}`);
  const stackWords = stack ? `; the stack: ${Object.entries(stack).map(([name, state]) => `${name} ${state}`).join(', ')}` : `; the stack could not be read (${stackProblem})`;
  return `${head}${down.length > 0 && rest.length > 0 ? `; ${rest.join(', ')}` : ''}${stackWords}.`;
}

function restartWords(service: string, outcome: RunCommandOutcome): string {
  switch (outcome.kind) {
    case 'ran':
      return `${service}: restarted (${outcome.title}${outcome.summary ? `: ${outcome.summary}` : ''})`;
    case 'approval':
      return `${service}: the restart waits for approval request ${outcome.request}`;
    case 'refused':
      return `${service}: the restart was refused (${outcome.title}${outcome.summary ? `: ${outcome.summary}` : ''})`;
  }
}

export const outageRunbook = defineRunbook({
  source: import.meta.url,
  name: RUNBOOK,
  summary: "System-wide outage, the first 5 minutes: assess the impact, an incident, the stakeholders told, each service that is down restarted (restart's own level), every service checked again",
  level: 1,
  args: EmergencyArgs,
  validate: validateIncident,
  steps: [
    {
      id: 'assess-impact',
      kind: 'check',
      title: "Assess the impact: every service's health and the stack's processes or containers",
      timeoutMs: 15_000,
      idempotent: true,
      run: (context) => assess(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await assess(context)).summary }),
    },
    incidentStep({ runbook: RUNBOOK, type: 'infrastructure', defaultTitle: 'System-wide outage', startNote: (outputs) => `Impact: ${(outputs['assess-impact'] as { summary?: string } | undefined)?.summary ?? 'not assessed'}` }),
    onTimeline(RUNBOOK, {
      id: 'notify-stakeholders',
      kind: 'notify',
      title: 'Tell the stakeholders: a status update on the incident, and the infrastructure contacts paged',
      timeoutMs: 60_000,
      idempotent: true,
      async run(context) {
        const incident = runIncidentOf(context.outputs);
        const impact = evidenceOf<ImpactAssessment>(context.outputs, 'assess-impact');
        const text = `Outage: ${impactSentence(impact.services, impact.stack, impact.stackProblem)} Quick recovery under way (run ${context.runId}).`;
        const incidents = context.ports.incidents!;
        const at = new Date();
        await incidents.postUpdate(incident.key, { author: context.requester, text, at, requestKey: `run:${context.runId}:update` });
        const info = await incidents.find(incident.key);
        let announced = '';
        if (info && incidents.announceUpdate) {
          announced = await incidents.announceUpdate(info, { author: context.requester, text, at }).then(
            () => ' and announced',
            (error: unknown) => ` (not announced: ${errorText(error)})`,
          );
        }
        const paged = await pageContacts(context, 'infrastructure contacts', text);
        return { summary: `Status update posted on ${incident.key}${announced}. ${paged.summary}`, evidence: { update: text, paged: paged.evidence } };
      },
      dryRun: async () => ({ mode: 'description', text: "Would post the impact as the incident's status update and page the contacts the escalation matrix names for infrastructure incidents" }),
    }),
    onTimeline(RUNBOOK, {
      id: 'quick-recovery',
      kind: 'act',
      title: 'Quick recovery: restart each service that is down, through `restart` at its own level',
      timeoutMs: 180_000,
      // It reads the services again first: run twice, it restarts only what is still down.
      idempotent: true,
      async run(context) {
        const down = (await readServices(context)).filter(isDown).map((impact) => impact.service);
        if (down.length === 0) return { summary: 'Nothing to restart: every service answers.', evidence: { restarts: [] as { service: string; outcome: RunCommandOutcome }[] } };
        const lines = commandLinesOf(context.ports);
        const restarts: { service: string; outcome: RunCommandOutcome }[] = [];
        // One after another: restarting the Policy Engine beside its dependants gives muddled answers.
        for (const service of down) {
          const outcome = await lines.run(`restart ${service}`, { runId: context.runId, requester: context.requester });
          restarts.push({ service, outcome });
          context.progress({ text: restartWords(service, outcome) });
        }
        return { summary: `${restarts.map(({ service, outcome }) => restartWords(service, outcome)).join('; ')}.`, evidence: { restarts } };
      },
      dryRun: async (context) => {
        const down = (await readServices(context)).filter(isDown).map((impact) => impact.service);
        return { mode: 'read-only-check', text: down.length === 0 ? 'Every service answers now: nothing would be restarted' : `Would run \`restart ${down.join('`, `restart ')}\` as you (Level 1)` };
      },
    }),
    onTimeline(RUNBOOK, {
      id: 'verify-recovery',
      kind: 'verify',
      title: 'Check every service again: healthy after the recovery?',
      timeoutMs: RECOVERY_WAIT_MS + 15_000,
      idempotent: true,
      async run(context) {
        const started = Date.now();
        for (;;) {
          const services = await readServices(context);
          const down = services.filter(isDown);
          if (down.length === 0) return { summary: `Recovered: ${services.map((impact) => `${impact.service} ${impact.status}`).join(', ')}.`, evidence: { services } };
          if (Date.now() - started >= RECOVERY_WAIT_MS) throw new Error(`still down after ${RECOVERY_WAIT_MS / 1000} s: ${down.map((impact) => `${impact.service} ${impact.status}${impact.problem ? ` (${impact.problem})` : ''}`).join(', ')}; next: the 5-30 minute steps (\`/acgs logs <service>\`, \`/acgs troubleshoot\`), then retry`);
          await sleep(RECOVERY_POLL_MS, undefined, { signal: context.signal });
        }
      },
      dryRun: async () => ({ mode: 'description', text: `Would ask every service's /health again, for up to ${RECOVERY_WAIT_MS / 1000} s, and require none down` }),
    }),
  ],
  outcome(outputs) {
    const incident = (outputs['incident'] as { evidence?: { key?: string } } | undefined)?.evidence;
    const recovery = (outputs['quick-recovery'] as { summary?: string } | undefined)?.summary;
    if (!incident?.key) return undefined;
    return `${incident.key}: ${recovery ?? 'no recovery ran.'} Every service answers.`;
  },
});
