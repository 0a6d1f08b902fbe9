/** `releases [service]`: what each service runs and ran before, from the bot's records; with a service, its history. */
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../services/kit/service-ports.js';
import { choiceArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { deploymentRefused, requireDeployments } from './deploy-access.js';
import { releasesDocument, serviceReleasesDocument } from './deploy-documents.js';

/** Enough history to see the last few deploys and what they replaced, short enough for one Slack message. */
const HISTORY_LIMIT = 15;

export const releases = defineCommand({
  name: 'releases',
  summary: "Show each service's running and previous version, who deployed it and when; with a service, its history",
  usage: '[service]',
  examples: ['releases', 'releases policy-engine'],
  // The records and the lock are kept per stack: the CLI builds the stack to know which.
  usesStack: true,
  level: 'read',
  positionals: ['service'],
  args: z.object({ service: choiceArgument(SERVICE_NAMES as [ServiceName, ...ServiceName[]], 'a service').optional() }).strict(),
  async run(context, { service }) {
    const deployments = requireDeployments(context);
    const listed = await deployments.releases().catch(deploymentRefused);
    if (!service) return releasesDocument(listed);
    const entry = listed.find((candidate) => candidate.service === service) ?? { service, current: null, previous: null };
    return serviceReleasesDocument(entry, await deployments.history(service, HISTORY_LIMIT).catch(deploymentRefused), HISTORY_LIMIT);
  },
});
