/** `incidents`: the open incidents and the ones of the last 30 days, with their median times. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireIncidents } from './incident-access.js';
import { incidentListDocument } from './incident-documents.js';

/** The period the list and its medians cover: a month shows a trend without a year's noise. */
export const INCIDENT_LIST_DAYS = 30;

export const incidents = defineCommand({
  name: 'incidents',
  summary: 'List the open incidents and those of the last 30 days, with the median times to declare and to resolve',
  examples: ['incidents'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const port = requireIncidents(context);
    const to = new Date();
    const from = new Date(to.getTime() - INCIDENT_LIST_DAYS * 86_400_000);
    const [listed, times] = await Promise.all([port.list(from), port.times({ from, to })]);
    return incidentListDocument(listed, times, { days: INCIDENT_LIST_DAYS, timeZone: port.timezone });
  },
});
