/**
 * Posts an incident's review in its channel when it is closed (bot/incidents/incident-reviews.ts
 * keeps it first): its short form as a message through the channel write queue, the Markdown
 * file as the first reply in that message's thread. When Slack refuses the upload, the review
 * is kept all the same and a reply says so, in Slack's words, and where to read it.
 */
import type { WebClient } from '@slack/web-api';
import type { ReviewToPost } from '../incidents/incident-reviews.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { FileUploadRefused, uploadFile } from './file-upload.js';
import { renderDocument } from './render.js';

export type PostedIncidentReview = { ts: string } & ({ file: 'uploaded'; fileId: string } | { file: 'refused'; reason: string; noticeTs: string });

export async function postIncidentReview(slack: { client: WebClient; queue: ChannelWriteQueue }, review: ReviewToPost): Promise<PostedIncidentReview> {
  const message = renderDocument(review.summary);
  const ts = await slack.queue.post(review.channelId, { text: message.text, blocks: message.blocks });
  try {
    const { fileId } = await uploadFile(slack.client, {
      channelId: review.channelId,
      threadTs: ts,
      filename: review.fileName,
      title: review.title,
      bytes: Buffer.from(review.markdown, 'utf8'),
    });
    return { ts, file: 'uploaded', fileId };
  } catch (error) {
    if (!(error instanceof FileUploadRefused)) throw error;
    const text =
      `The review file ${review.fileName} could not be posted here (Slack said: ${error.reason}). ` +
      `It is kept: \`/acgs incident review ${review.incidentKey}\` shows it, and \`npx acgs incident review ${review.incidentKey} --json\` gives its Markdown.`;
    const noticeTs = await slack.queue.post(review.channelId, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }, ts);
    return { ts, file: 'refused', reason: error.reason, noticeTs };
  }
}
