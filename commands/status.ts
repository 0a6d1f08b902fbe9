/**
 * `status [service]` (alias `ps`): the runbook's `docker-compose ps`: every service of the stack
 * with its replicas, state, health, image (or command line) and uptime, and a verdict per service.
 */
import { z } from 'zod';
import type { ServiceHealthStatus, ServiceStatus, Stack } from '../services/stack/stack.js';
import { serviceHealthOf } from '../services/stack/stack.js';
import { defineCommand } from './command.js';
import { capitalized, formatDuration } from './format.js';
import { worstTone, type CheckLine, type ResultAction, type ResultDocument } from './result.js';
import { SERVICE_HEALTH_TONES, onStackService, serviceArgument, stackLabel } from './stack-access.js';

/** Buttons for the first few services in trouble: the runbook's Service Down response (logs, then restart). */
const MAX_TROUBLE_ACTIONS = 3;

function serviceLine(service: ServiceStatus): CheckLine & { status: ServiceHealthStatus } {
  const status = serviceHealthOf(service.replicas);
  const running = service.replicas.filter((replica) => replica.state === 'running').length;
  const others = [...new Set(service.replicas.filter((replica) => replica.state !== 'running').map((replica) => replica.state))];
  const text = `${status} · ${running} of ${service.replicas.length} replica${service.replicas.length === 1 ? '' : 's'} running${others.length > 0 ? ` (others: ${others.join(', ')})` : ''}`;
  return { name: service.name, tone: SERVICE_HEALTH_TONES[status], text, status };
}

export function statusDocument(stack: Pick<Stack, 'kind' | 'description'>, services: ServiceStatus[], now = Date.now()): ResultDocument {
  const where = stackLabel(stack);
  if (services.length === 0) {
    return {
      title: 'Stack status',
      tone: 'warn',
      summary: `${capitalized(where)} has no services.`,
      blocks: [],
      footer: stack.kind === 'docker' ? 'Start the stack with `docker-compose -p acgs up -d`.' : 'Start the stack with `npm start`.',
      data: { stack: { kind: stack.kind, description: stack.description }, services: [] },
    };
  }
  const lines = services.map(serviceLine);
  const tone = worstTone(lines.map((line) => line.tone));
  const trouble = lines.filter((line) => line.tone !== 'ok');
  const actions: ResultAction[] = trouble.slice(0, MAX_TROUBLE_ACTIONS).flatMap((line) => [
    { label: `Logs of ${line.name}`, command: `logs ${line.name} --tail 50` },
    {
      label: `Restart ${line.name}`,
      command: `restart ${line.name}`,
      style: 'danger' as const,
      confirm: { title: `Restart ${line.name}?`, text: `Every replica of ${line.name} is restarted one after another.`, confirm: 'Restart', deny: 'Cancel' },
    },
  ]);
  const rows = services.flatMap((service) =>
    service.replicas.map((replica) => {
      const uptime = replica.uptimeSeconds;
      return [
        service.name,
        replica.name,
        replica.state,
        replica.health,
        replica.image,
        replica.state === 'running' && uptime !== null ? formatDuration(uptime) : '-',
        replica.pid !== undefined ? String(replica.pid) : String(replica.restarts),
      ];
    }),
  );
  const anyPid = services.some((service) => service.replicas.some((replica) => replica.pid !== undefined));
  return {
    title: 'Stack status',
    tone,
    summary:
      trouble.length === 0
        ? `All ${services.length} services are healthy.`
        : `${trouble.length} of ${services.length} services need attention: ${trouble.map((line) => `${line.name} (${line.status})`).join(', ')}.`,
    blocks: [
      { type: 'checks', items: lines.map(({ status: _status, ...line }) => line) },
      { type: 'table', columns: ['service', 'replica', 'state', 'health', stack.kind === 'docker' ? 'image' : 'command', 'uptime', anyPid ? 'pid' : 'restarts'], rows },
    ],
    ...(actions.length > 0 ? { actions } : {}),
    footer: `${capitalized(where)}; health \`none\` means no health check (up while running)`,
    data: {
      stack: { kind: stack.kind, description: stack.description },
      services: services.map((service) => ({ ...service, health: serviceHealthOf(service.replicas) })),
      checked_at: new Date(now).toISOString(),
    },
  };
}

export const status = defineCommand({
  name: 'status',
  aliases: ['ps'],
  summary: "The stack's services: replicas, state, health, image, uptime (docker-compose ps)",
  usage: '[service]',
  examples: ['status', 'status policy-engine', 'ps'],
  level: 'read',
  usesStack: true,
  positionals: ['service'],
  args: z.object({ service: serviceArgument.optional() }),
  run: (context, { service }) =>
    onStackService(context, 'status', service, async (stack) => {
      const services = await stack.list();
      return statusDocument(stack, service ? services.filter((candidate) => candidate.name === service) : services);
    }),
});
