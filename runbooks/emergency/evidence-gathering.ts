/**
 * What a security breach's evidence archive holds, read from the stack as it is now: the two audit
 * chains with their head hashes (the Audit Engine's and the bot's own trail, each verified from its
 * newest signed checkpoint), every service's recent log lines (the Stack port), each service's
 * running version and the Policy Engine's modes (/health), and the config and settings, redacted.
 * A part that cannot be read is kept as the reason why, never left out silently: a gap in the
 * evidence is itself evidence.
 */
import { readFile } from 'node:fs/promises';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import type { IncidentResponsePorts } from '../engine/ports.js';
import type { EvidenceFile } from './evidence-archive.js';
import { redactText, redactValue } from './evidence-redaction.js';

/** How far back the logs go, and how many lines of each service at most (the Stack's limit). */
export const EVIDENCE_LOG_WINDOW_MS = 60 * 60 * 1000;
export const EVIDENCE_LOG_LINES = 1000;

export interface GatheredEvidence {
  files: EvidenceFile[];
  /** The chains' heads as read, for the step's output and the trail. */
  chains: { auditEngine: ChainReading; botTrail: ChainReading };
  /** The parts that could not be read, in words. */
  gaps: string[];
}

export type ChainReading = { valid: boolean; sequence: number; hash: string } | { error: string };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function gatherEvidence(
  commands: Partial<CommandDependencies>,
  host: Pick<IncidentResponsePorts, 'configFiles' | 'settings' | 'secrets'>,
  context: { runId: string; incident: string; now: Date },
): Promise<GatheredEvidence> {
  const gaps: string[] = [];
  const redact = (text: string) => redactText(text, host.secrets);

  const [auditEngine, botTrail] = await Promise.all([auditEngineChain(commands), botTrailChain(commands)]);
  if ('error' in auditEngine) gaps.push(`the Audit Engine's chain: ${auditEngine.error}`);
  if ('error' in botTrail) gaps.push(`the bot's trail: ${botTrail.error}`);

  const files: EvidenceFile[] = [
    {
      name: 'audit-chains.json',
      content: json({ read_at: context.now.toISOString(), audit_engine: auditEngine, bot_trail: botTrail }),
    },
  ];

  const since = new Date(context.now.getTime() - EVIDENCE_LOG_WINDOW_MS);
  for (const service of SERVICE_NAMES) {
    if (!commands.stack) {
      gaps.push(`${service} logs: ${commands.stackProblem ?? 'this process has no Stack to read logs from'}`);
      files.push({ name: `logs-${service}.txt`, content: `# not read: ${commands.stackProblem ?? 'no Stack in this process'}\n` });
      continue;
    }
    try {
      const logs = await commands.stack.logs(service, { since, tail: EVIDENCE_LOG_LINES });
      const header = `# ${service}: ${logs.lines.length} lines since ${since.toISOString()}${logs.truncated ? ' (more were written: the newest are kept)' : ''}\n`;
      files.push({ name: `logs-${service}.txt`, content: header + logs.lines.map((line) => `${line.time} ${line.replica} ${line.stream} ${redact(line.text)}\n`).join('') });
    } catch (error) {
      gaps.push(`${service} logs: ${message(error)}`);
      files.push({ name: `logs-${service}.txt`, content: `# not read: ${redact(message(error))}\n` });
    }
  }

  files.push({ name: 'versions.json', content: json(redactValue(await serviceHealth(commands, gaps), host.secrets)) });

  for (const config of host.configFiles) {
    try {
      files.push({ name: `config-${config.name}`, content: redact(await readFile(config.path, 'utf8')) });
    } catch (error) {
      gaps.push(`config ${config.name}: ${message(error)}`);
    }
  }
  files.push({ name: 'settings.json', content: json(redactValue(host.settings, host.secrets)) });
  files.push({
    name: 'about.json',
    content: json({ run: context.runId, incident: context.incident, gathered_at: context.now.toISOString(), log_window_ms: EVIDENCE_LOG_WINDOW_MS, gaps }),
  });
  return { files, chains: { auditEngine, botTrail }, gaps };
}

async function auditEngineChain(commands: Partial<CommandDependencies>): Promise<ChainReading> {
  if (!commands.auditEngine) return { error: 'this process has no Audit Engine client' };
  try {
    const verified = await commands.auditEngine.verify(60_000, { scope: 'checkpoint' });
    return { valid: verified.valid, sequence: verified.head.sequence, hash: verified.head.chain_hash };
  } catch (error) {
    return { error: message(error) };
  }
}

async function botTrailChain(commands: Partial<CommandDependencies>): Promise<ChainReading> {
  if (!commands.trail) return { error: commands.trailProblem ?? "this process has no audit trail" };
  try {
    const verified = await commands.trail.verify({ scope: 'checkpoint' });
    return { valid: verified.valid, sequence: verified.head.sequence, hash: verified.head.hash };
  } catch (error) {
    return { error: message(error) };
  }
}

/** Each service's /health as it answered (its version, and the Policy Engine's modes), or why it did not. */
async function serviceHealth(commands: Partial<CommandDependencies>, gaps: string[]): Promise<Record<ServiceName, unknown>> {
  const clients: Record<ServiceName, { health(): Promise<unknown> } | undefined> = {
    'policy-engine': commands.policyEngine,
    'audit-engine': commands.auditEngine,
    'evolution-oversight': commands.evolutionOversight,
    'sandbox-controller': commands.sandboxController,
  };
  const entries = await Promise.all(
    SERVICE_NAMES.map(async (service) => {
      const client = clients[service];
      if (!client) return [service, { error: 'no client in this process' }] as const;
      try {
        return [service, await client.health()] as const;
      } catch (error) {
        gaps.push(`${service} /health: ${message(error)}`);
        return [service, { error: message(error) }] as const;
      }
    }),
  );
  return Object.fromEntries(entries) as Record<ServiceName, unknown>;
}
