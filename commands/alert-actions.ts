/**
 * `alerts ack <id>`, `alerts snooze <id> <1h|4h|tomorrow>`, `alerts resolve <id>`: what the
 * buttons of an alert's message run, and what people type. Each goes through the bot's alert store
 * as the person, who is recorded; a second click finds it done and changes nothing.
 */
import { z } from 'zod';
import { alertIdArgument, alertRefused, requireAlerts } from './alert-access.js';
import { alertActionDocument } from './alert-documents.js';
import { snoozeArgument, snoozeEnd } from './alert-times.js';
import { defineCommand } from './command.js';

export const alertsAck = defineCommand({
  name: 'alerts ack',
  summary: 'Acknowledge an alert: you are looking at it (recorded with your name)',
  usage: '<alert id>',
  examples: ['alerts ack 12'],
  level: 1,
  positionals: ['id'],
  args: z.object({ id: alertIdArgument }).strict(),
  async run(context, { id }) {
    const alerts = requireAlerts(context);
    const outcome = await alerts.acknowledge(id, context.actor.id).catch(alertRefused);
    return alertActionDocument('acknowledge', outcome, context.actor.id, alerts.timezone);
  },
});

export const alertsSnooze = defineCommand({
  name: 'alerts snooze',
  summary: "Snooze an open alert for 1 h, 4 h or until 09:00 tomorrow (the bot's timezone): no reminders until then",
  usage: '<alert id> <1h|4h|tomorrow>',
  examples: ['alerts snooze 12 1h', 'alerts snooze 12 tomorrow'],
  level: 1,
  positionals: ['id', 'duration'],
  args: z.object({ id: alertIdArgument, duration: snoozeArgument }).strict(),
  async run(context, { id, duration }) {
    const alerts = requireAlerts(context);
    const outcome = await alerts.snooze(id, snoozeEnd(duration, new Date(), alerts.timezone), context.actor.id).catch(alertRefused);
    return alertActionDocument('snooze', outcome, context.actor.id, alerts.timezone);
  },
});

export const alertsResolve = defineCommand({
  name: 'alerts resolve',
  summary: 'Resolve an alert by hand (its source fires it again if the condition still holds)',
  usage: '<alert id>',
  examples: ['alerts resolve 12'],
  level: 1,
  positionals: ['id'],
  args: z.object({ id: alertIdArgument }).strict(),
  async run(context, { id }) {
    const alerts = requireAlerts(context);
    const outcome = await alerts.resolve(id, context.actor.id).catch(alertRefused);
    return alertActionDocument('resolve', outcome, context.actor.id, alerts.timezone);
  },
});
