/**
 * `security-breach` (Level 2; admins may break glass): the runbook's "Security Breach Detected"
 * procedure as a run with an incident. Started as `run security-breach [incident=INC-n]`:
 *
 * 1. `open-incident`: attaches to the given incident or declares one (sev1, type security, which
 *    the store makes private), through the commands' Incidents port;
 * 2. `strict-mode`: containment at once: the Policy Engine's strict mode, which is Level 2 like
 *    `strict-mode on`: the run's own approval (bound to its plan, which names it) is that one;
 * 3. `request-lockdown`: the emergency lockdown proposed as an approval request through the
 *    command path as the requester (Level 4: two approvers; an admin may break glass instead).
 *    The run does not wait for it: evidence is preserved while approvers decide;
 * 4. `preserve-evidence`: the audit chains with their head hashes, every service's recent logs,
 *    the versions, the config and settings redacted, archived with a MANIFEST.sha256 whose own hash
 *    goes into the bot's trail;
 * 5. `impact-assessment`: the impact assessment checklist started, its automatic items checked;
 * 6. `notify-security-contacts`: the security contacts (config `contacts:` named by the escalation
 *    matrix's security column) told by e-mail and signed webhook.
 *
 * Every step lands on the incident's timeline. Forensics happen outside the bot, on the archive.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { placeIncident } from '../../commands/incident-declare.js';
import { defineRunbook, type StepDefinition } from '../engine/definition.js';
import { RunFailedError } from '../engine/errors.js';
import { callService, commandPorts } from '../troubleshooting/troubleshooting-support.js';
import { archiveFinished, archiveProblemsSentence, removeUnfinishedArchive, verifyEvidenceArchive, writeEvidenceArchive, type ArchivedFile } from './evidence-archive.js';
import { gatherEvidence, type ChainReading } from './evidence-gathering.js';
import { INCIDENT_KEY, incidentResponsePorts, incidentsOf, linkedIncident, onTimeline, stableRequestId } from './incident-link.js';

const Args = z.object({ incident: z.string().regex(INCIDENT_KEY, { message: 'name the incident as INC-<number>' }).optional() }).strict();
type Args = z.output<typeof Args>;

export const SECURITY_BREACH = 'security-breach';
export const IMPACT_CHECKLIST = 'security-impact-assessment';
/** The trail record that ties an evidence archive to the chain. */
export const EVIDENCE_RECORD_KIND = 'evidence_archive';

interface Summary {
  summary: string;
}

/** A step whose outcome goes on the incident's timeline once it is done. */
function onIncident(step: StepDefinition<Args>): StepDefinition<Args> {
  return {
    ...step,
    async run(context) {
      const output = (await step.run(context)) as Summary & Record<string, unknown>;
      const incident = step.id === 'open-incident' ? (output.incident as { key: string }) : linkedIncident(context.outputs, 'open-incident');
      await onTimeline(context, incident.key, step, output.summary);
      return output;
    },
  };
}

const openIncident: StepDefinition<Args> = {
  id: 'open-incident',
  kind: 'act',
  title: 'Attach to the incident, or declare one (sev1, security, private)',
  timeoutMs: 30_000,
  idempotent: true,
  skippable: false,
  async run(context) {
    const incidents = incidentsOf(incidentResponsePorts(context.ports));
    if (context.args.incident) {
      const found = await incidents.find(context.args.incident);
      if (!found) throw new RunFailedError(`There is no incident ${context.args.incident.toUpperCase()}: start the run again with an existing one, or without incident= to declare one.`);
      if (found.state === 'closed') throw new RunFailedError(`${found.key} is closed: nothing more can be recorded on it; start the run without incident= to declare a new one.`);
      return { summary: `Attached to ${found.key} (${found.severity}, ${found.type}${found.private ? ', private' : ''}): ${found.title}.`, incident: { key: found.key, channelId: found.channelId, title: found.title }, created: false };
    }
    // Keyed by the run: a takeover that runs this again finds the same incident, using up no INC number.
    const declared = await incidents.declare({ title: `Security breach (run ${context.runId.slice(0, 8)})`, severity: 'sev1', type: 'security', by: context.requester, at: new Date(), requestKey: `run:${context.runId}:incident` });
    // Its own private channel, with its people and briefing, as a typed declaration gets (placed once: a retry finds it placed).
    const { incident, where } = await placeIncident(incidents, declared.incident, undefined);
    const created = declared.created;
    return { summary: `${created ? 'Declared' : 'Declared earlier by this run:'} ${incident.key} (sev1, security${incident.private ? ', private' : ''}), commander ${incident.roles.commander ?? context.requester}. ${where}`, incident: { key: incident.key, channelId: incident.channelId, title: incident.title }, created };
  },
  async dryRun(context) {
    const incidents = incidentsOf(incidentResponsePorts(context.ports));
    if (!context.args.incident) return { mode: 'description', text: 'Declares a sev1 security incident (private), with you as commander.', target: 'incident new sev1 security' };
    const found = await incidents.find(context.args.incident);
    return { mode: 'read-only-check', text: found ? `Attaches to ${found.key} (${found.state}): ${found.title}.` : `There is no incident ${context.args.incident}: the run would fail here.`, target: `incident ${found?.key ?? context.args.incident}` };
  },
};

const strictMode: StepDefinition<Args> = {
  id: 'strict-mode',
  kind: 'act',
  title: "Contain: turn the Policy Engine's strict mode on (Level 2, approved with the run)",
  timeoutMs: 30_000,
  idempotent: true,
  async run(context) {
    const commands = commandPorts(context.ports, ['policyEngine']);
    const incident = linkedIncident(context.outputs, 'open-incident');
    const response = await callService('policy-engine', commands, () => commands.policyEngine.setMode('enable-strict-mode', `security breach ${incident.key} (run ${context.runId})`));
    if (!response.modes.strict) throw new Error('the Policy Engine answered the change without strict mode on; retry, or turn it on with /acgs strict-mode on');
    return { summary: response.changed ? 'Strict mode is on: every decision is held to the strict rules.' : 'Strict mode was on already.', changed: response.changed, modes: response.modes };
  },
  async dryRun(context) {
    const commands = commandPorts(context.ports, ['policyEngine']);
    const metrics = await callService('policy-engine', commands, () => commands.policyEngine.metrics());
    return { mode: 'read-only-check', text: `Strict mode is ${metrics.mode.strict ? 'on already' : 'off: turned on at once'}.`, target: 'policy-engine strict mode on' };
  },
};

const requestLockdown: StepDefinition<Args> = {
  id: 'request-lockdown',
  kind: 'act',
  title: 'Contain: ask approvers for the emergency lockdown (Level 4; admins may break glass)',
  timeoutMs: 60_000,
  idempotent: true,
  async run(context) {
    const host = incidentResponsePorts(context.ports);
    const incident = linkedIncident(context.outputs, 'open-incident');
    const reason = `security breach ${incident.key} (run ${context.runId})`;
    // Started in lockdown (runbooks.security-breach.in_lockdown): there is nothing to ask for, and asking would read as a refusal.
    const modes = (context.outputs['strict-mode'] as { modes?: { lockdown?: boolean } } | undefined)?.modes;
    if (modes?.lockdown) return { summary: 'The stack is in lockdown already: no lockdown was asked for.', state: 'in-place' };
    const outcome = await host.requestCommand({ line: `lockdown ${reason}`, actor: context.requester, runId: context.runId, approvalId: stableRequestId(context.runId, 'lockdown') });
    const breakGlass = `an admin may instead type /acgs break-glass "${reason}" lockdown ${reason}`;
    // Neither a refusal nor a pending vote stops the run: strict mode already contains, and the evidence must not wait.
    const summary =
      outcome.state === 'approval'
        ? `Lockdown asked of the approvers (request ${outcome.approvalId}); ${breakGlass}.`
        : outcome.state === 'ran'
          ? `Lockdown engaged at once: ${outcome.said}.`
          : `No lockdown was requested: ${outcome.said}. Ask for it by hand (/acgs lockdown ${reason}), or ${breakGlass}.`;
    return { summary, state: outcome.state, ...(outcome.approvalId ? { approvalId: outcome.approvalId } : {}) };
  },
  async dryRun() {
    return { mode: 'description', text: 'Asks for `lockdown` through the command path as you: two approvers decide; the run goes on meanwhile.', target: 'lockdown request' };
  },
};

interface EvidenceOutput extends Summary {
  dir: string;
  manifestSha256: string;
  files: ArchivedFile[];
  chains: { auditEngine: ChainReading; botTrail: ChainReading };
  gaps: string[];
}

const preserveEvidence: StepDefinition<Args> = {
  id: 'preserve-evidence',
  kind: 'act',
  title: 'Preserve evidence: audit chains and heads, logs, versions, config, with a SHA-256 manifest',
  timeoutMs: 180_000,
  idempotent: true,
  skippable: false,
  async run(context): Promise<EvidenceOutput> {
    const host = incidentResponsePorts(context.ports);
    const incident = linkedIncident(context.outputs, 'open-incident');
    const dir = join(host.evidenceDir, `${SECURITY_BREACH}-${context.runId}`);
    let archive: { dir: string; manifestSha256: string; files: ArchivedFile[] };
    let chains: EvidenceOutput['chains'];
    let gaps: string[];
    if (await archiveFinished(dir)) {
      // Written by an attempt a takeover interrupted before it recorded: kept as it is, if it is intact.
      const verification = await verifyEvidenceArchive(dir);
      if (!verification.valid) throw new RunFailedError(`The evidence archive ${dir} written earlier by this run does not match its manifest: ${archiveProblemsSentence(verification)}. Keep it for the forensics and start a new run.`);
      const about = JSON.parse(await readFile(join(dir, 'about.json'), 'utf8')) as { gaps?: string[] };
      const heads = JSON.parse(await readFile(join(dir, 'audit-chains.json'), 'utf8')) as { audit_engine: ChainReading; bot_trail: ChainReading };
      archive = { dir, manifestSha256: verification.manifestSha256!, files: await Promise.all(verification.listed.map(async (file) => ({ ...file, bytes: (await stat(join(dir, file.name))).size }))) };
      chains = { auditEngine: heads.audit_engine, botTrail: heads.bot_trail };
      gaps = about.gaps ?? [];
    } else {
      await removeUnfinishedArchive(dir);
      const gathered = await gatherEvidence(context.ports.commands ?? {}, host, { runId: context.runId, incident: incident.key, now: new Date() });
      archive = await writeEvidenceArchive(dir, gathered.files);
      chains = gathered.chains;
      gaps = gathered.gaps;
    }
    await host.record({
      kind: EVIDENCE_RECORD_KIND,
      // The trail's keys are at most 100 characters: 40 hex digits of the hash are plenty to tell archives apart.
      key: `${EVIDENCE_RECORD_KIND}:${context.runId}:${archive.manifestSha256.slice(0, 40)}`,
      runId: context.runId,
      outcome: gaps.length === 0 ? 'complete' : 'with-gaps',
      details: { run: context.runId, incident: incident.key, dir, manifest_sha256: archive.manifestSha256, files: archive.files, chains, gaps },
    });
    const head = (reading: ChainReading, name: string) => ('error' in reading ? `${name} not read (${reading.error})` : `${name} #${reading.sequence} ${reading.hash.slice(0, 16)}…${reading.valid ? '' : ' (NOT valid)'}`);
    return {
      summary: `Archived in ${dir}: MANIFEST.sha256 ${archive.manifestSha256} (in the audit trail); heads ${head(chains.auditEngine, 'Audit Engine')}, ${head(chains.botTrail, 'bot trail')}${gaps.length > 0 ? `; not read: ${gaps.join('; ')}` : ''}.`,
      dir,
      manifestSha256: archive.manifestSha256,
      files: archive.files,
      chains,
      gaps,
    };
  },
  async dryRun(context) {
    const host = incidentResponsePorts(context.ports);
    return { mode: 'description', text: `Writes the audit chains' heads, the last hour of every service's logs, the versions and the redacted config into ${host.evidenceDir}/${SECURITY_BREACH}-<run>, with MANIFEST.sha256, whose hash goes into the audit trail.`, target: `evidence ${host.evidenceDir}` };
  },
};

const impactAssessment: StepDefinition<Args> = {
  id: 'impact-assessment',
  kind: 'check',
  title: 'Assess impact: start the impact assessment checklist',
  timeoutMs: 60_000,
  // Starting it again makes a second checklist: after a takeover a person decides.
  idempotent: false,
  async run(context) {
    const checklists = incidentResponsePorts(context.ports).services()?.checklists;
    if (!checklists) throw new Error("the bot's checklists are not ready (it is still starting, or has no database for them); retry the step");
    const incident = linkedIncident(context.outputs, 'open-incident');
    const started = await checklists.start({ checklist: IMPACT_CHECKLIST, startedBy: context.requester, origin: 'schedule', ...(incident.channelId ? { channel: incident.channelId } : {}) });
    const checked = started.items.filter((item) => item.mode === 'auto');
    const failing = checked.filter((item) => item.state === 'fail');
    return {
      summary: `Checklist ${started.id} started: ${checked.map((item) => `${item.id} ${item.state}`).join(', ')}; ${started.items.length - checked.length} items for people to tick (/acgs checklist show ${started.id}).${failing.length > 0 ? ` Failing: ${failing.map((item) => `${item.id}: ${item.evidence ?? ''}`).join('; ')}` : ''}`,
      checklist: started.id,
      items: started.items.map((item) => ({ id: item.id, state: item.state })),
    };
  },
  async dryRun() {
    return { mode: 'description', text: 'Starts the security-impact-assessment checklist: audit chains and health checked, the rest ticked by people.', target: `checklist ${IMPACT_CHECKLIST}` };
  },
};

const notifyContacts: StepDefinition<Args> = {
  id: 'notify-security-contacts',
  kind: 'notify',
  title: 'Notify the security contacts (e-mail, signed webhook)',
  timeoutMs: 60_000,
  // A page twice is better than never: the delivery id is the same on a retry, so a receiver can drop it.
  idempotent: true,
  async run(context) {
    const host = incidentResponsePorts(context.ports);
    const incident = linkedIncident(context.outputs, 'open-incident');
    const evidence = context.outputs['preserve-evidence'] as EvidenceOutput | undefined;
    const lockdown = context.outputs['request-lockdown'] as { summary?: string } | undefined;
    const delivery = await host.notifyContacts({
      issueType: 'security',
      key: `${SECURITY_BREACH}:${context.runId}`,
      subject: `[ACGS] SECURITY BREACH ${incident.key}: contained, evidence preserved`,
      text: [
        `A security breach is being handled as ${incident.key} (${incident.title}), run ${context.runId} started by ${context.requester}.`,
        'Strict mode is on.',
        lockdown?.summary ?? 'The lockdown was not asked for.',
        evidence ? `Evidence: ${evidence.dir}, MANIFEST.sha256 ${evidence.manifestSha256}.` : 'Evidence was not archived.',
      ].join('\n'),
      details: { incident: incident.key, run: context.runId, requester: context.requester, ...(evidence ? { evidence_dir: evidence.dir, manifest_sha256: evidence.manifestSha256 } : {}) },
    });
    if (delivery.attempted === 0) throw new Error('no security contact is configured: name contacts (config contacts:) in escalation.issue_types.security, or tell the security team by hand and skip this step');
    if (delivery.delivered === 0) throw new Error(`no security contact was reached: ${delivery.summary}`);
    return { summary: `Told ${delivery.delivered} of ${delivery.attempted}: ${delivery.summary}`, delivered: delivery.delivered, attempted: delivery.attempted };
  },
  async dryRun() {
    return { mode: 'description', text: 'Tells the security contacts of the escalation matrix by e-mail and signed webhook.', target: 'contacts security' };
  },
};

export const securityBreach = defineRunbook({
  source: import.meta.url,
  name: SECURITY_BREACH,
  summary: 'Security breach: incident, strict mode, lockdown asked, evidence archived with a SHA-256 manifest, impact checklist, security contacts told',
  level: 2,
  args: Args,
  steps: [openIncident, strictMode, requestLockdown, preserveEvidence, impactAssessment, notifyContacts].map(onIncident),
  async validate(args, ports) {
    if (!ports.incidentResponse) return { message: 'This process cannot run the security breach runbook: it has no incidents, command path or contacts.', hint: 'Run it in Slack or the console, where the bot has them.' };
    if (!args.incident) return undefined;
    const incidents = ports.incidentResponse.services()?.incidents;
    if (!incidents) return undefined;
    const found = await incidents.find(args.incident);
    if (!found) return { message: `There is no incident ${args.incident.toUpperCase()}.`, hint: '`/acgs incidents` lists them; leave out incident= to declare one.' };
    if (found.state === 'closed') return { message: `${found.key} is closed: nothing more can be recorded on it.`, hint: 'Leave out incident= to declare a new one.' };
    return undefined;
  },
  outcome(outputs) {
    const incident = (outputs['open-incident'] as { incident?: { key: string } } | undefined)?.incident?.key;
    const evidence = outputs['preserve-evidence'] as EvidenceOutput | undefined;
    const lockdown = outputs['request-lockdown'] as { state?: string } | undefined;
    const told = outputs['notify-security-contacts'] as { delivered?: number; attempted?: number } | undefined;
    // Only what the steps' outputs show: a skipped step has none, and is said so.
    const parts = [
      outputs['strict-mode'] ? 'strict mode on' : 'strict mode not turned on',
      lockdown?.state === 'approval' ? 'lockdown asked of the approvers' : lockdown?.state === 'ran' || lockdown?.state === 'in-place' ? 'in lockdown' : 'no lockdown asked',
      evidence ? `evidence archived (MANIFEST.sha256 ${evidence.manifestSha256.slice(0, 16)}…)` : 'no evidence archived',
      told?.delivered ? `${told.delivered} of ${told.attempted} security contacts told` : 'NO security contact told: tell them by hand',
    ];
    return `${incident ?? 'The incident'}: ${parts.join(', ')}.`;
  },
});
