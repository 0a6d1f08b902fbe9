/**
 * `incident review [INC-n]`: the post-incident review kept at the close (its short form here, its
 * whole Markdown in the answer's data: `npx acgs incident review INC-7 --json`), or for an
 * incident not closed yet a draft written now from what is recorded so far, which says so.
 */
import { z } from 'zod';
import { formatInZone } from './alert-times.js';
import { CommandError, defineCommand } from './command.js';
import { clip } from './format.js';
import { incidentFor, incidentRefused, incidentWords, rawLine, requireIncidents } from './incident-access.js';

export const incidentReview = defineCommand({
  name: 'incident review',
  summary: "Show an incident's post-incident review (kept at its close), or a draft of it while it is open",
  usage: '[INC-n]',
  examples: ['incident review INC-3'],
  level: 'read',
  rawArguments: true,
  args: rawLine.transform(({ line }, context) => {
    const words = incidentWords(line);
    if (words.words.length > 0) {
      context.addIssue({ code: 'custom', message: `\`incident review\` takes only the incident's key (INC-n); unexpected ${words.words.map((word) => `\`${clip(word, 30)}\``).join(' ')}` });
      return z.NEVER;
    }
    return words.key ? { key: words.key } : {};
  }),
  async run(context, { key }) {
    const port = requireIncidents(context);
    if (!port.review) throw new CommandError('Reviews are not set up in this process.', 'The bot writes them from its database: ask in Slack, the console or `npx acgs` with DATABASE_URL.', 'unavailable');
    const incident = await incidentFor(context, port, key, 'incident review <INC-n>');
    const review = await port.review(incident.key, context.actor.id, new Date()).catch(incidentRefused);
    const written = `${formatInZone(review.generatedAt, port.timezone)} by ${review.generatedBy}`;
    return {
      ...review.summary,
      title: review.draft ? `${review.incident.key} review (draft): ${review.incident.title}` : review.summary.title,
      summary: review.draft
        ? // No file holds a draft: the summary's pointer to one is left out.
          `A draft: ${review.incident.key} is ${review.incident.state}, not closed, so this is written now from what is recorded so far and not kept. The review is kept when it is closed. ${(review.summary.summary ?? '').replace(` The whole review is in ${review.fileName}.`, '')}`.trim()
        : (review.summary.summary ?? ''),
      footer: `${review.draft ? 'Draft written' : 'Review kept'} ${written}. ${review.summary.footer ?? ''} The whole Markdown: \`npx acgs incident review ${review.incident.key} --json\`.`.replace(/\s+/g, ' ').trim(),
      data: { incident: review.incident.key, draft: review.draft, fileName: review.fileName, generatedAt: review.generatedAt.toISOString(), generatedBy: review.generatedBy, markdown: review.markdown },
    };
  },
});
