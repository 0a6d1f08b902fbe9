/**
 * Uploads a file with Slack's current flow through the WebClient's `filesUploadV2`
 * (files.getUploadURLExternal, the bytes to the upload URL, files.completeUploadExternal), and
 * shares a chart as an image or, when Slack refuses the upload, as its text fallback. A refusal
 * becomes one error that says what Slack said, so a report can post its words instead.
 */
import { ErrorCode, type WebClient } from '@slack/web-api';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { fitText } from './mrkdwn.js';
import { SLACK_LIMITS } from './render.js';

export interface FileToShare {
  channelId: string;
  /** A thread's parent ts: the file is shared as a reply there. */
  threadTs?: string;
  filename: string;
  title: string;
  bytes: Buffer;
  initialComment?: string;
  /** For screen readers. */
  altText?: string;
}

export class FileUploadRefused extends Error {
  constructor(
    readonly filename: string,
    /** Slack's error code (`channel_not_found`, `not_in_channel`, ...) or `http_<status>`, `rate_limited`, `request_failed`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Slack refused the upload of ${filename}: ${reason}`, options);
    this.name = 'FileUploadRefused';
  }
}

export async function uploadFile(client: WebClient, file: FileToShare): Promise<{ fileId: string }> {
  let answer: Awaited<ReturnType<WebClient['filesUploadV2']>>;
  try {
    const common = {
      file: file.bytes,
      filename: file.filename,
      title: file.title,
      ...(file.initialComment ? { initial_comment: file.initialComment } : {}),
      ...(file.altText ? { alt_text: file.altText } : {}),
    };
    // The SDK's types tell a thread destination from a channel one; the flow is the same.
    answer = await client.filesUploadV2(file.threadTs ? { ...common, channel_id: file.channelId, thread_ts: file.threadTs } : { ...common, channel_id: file.channelId });
  } catch (error) {
    throw new FileUploadRefused(file.filename, slackErrorReason(error), { cause: error });
  }
  const completed = answer.files.flatMap((completion) => completion.files ?? []);
  const fileId = completed[0]?.id;
  if (!fileId) throw new FileUploadRefused(file.filename, 'no file in the completion');
  return { fileId };
}

/** A chart as reports render it (bot/reports/charts), by shape so neither side imports the other. */
export interface ChartToShare {
  filename: string;
  title: string;
  png: Buffer;
  textFallback: string;
}

export type ChartShared = { as: 'image'; fileId: string } | { as: 'text'; ts: string; refusal: FileUploadRefused };

/**
 * The chart as an image; if Slack refuses the upload, its text fallback as a message in the same
 * place, saying why there is no picture, posted through the channel's write queue like every other
 * post (Slack's pace per channel). A failure of that message too is the caller's to handle.
 */
export async function shareChart(slack: { client: WebClient; queue: ChannelWriteQueue }, chart: ChartToShare, where: { channelId: string; threadTs?: string }): Promise<ChartShared> {
  try {
    const { fileId } = await uploadFile(slack.client, { ...where, filename: chart.filename, title: chart.title, bytes: chart.png, altText: chart.textFallback.slice(0, 1000) });
    return { as: 'image', fileId };
  } catch (error) {
    if (!(error instanceof FileUploadRefused)) throw error;
    const text = fitText(`${chart.textFallback}\n_(chart image not shown: ${error.reason})_`, SLACK_LIMITS.sectionText);
    const ts = await slack.queue.post(where.channelId, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }, where.threadTs);
    return { as: 'text', ts, refusal: error };
  }
}

/** What Slack (or the way to it) said, in a few words: its error code, `http_<status>`, `rate_limited (...)`, `request_failed (...)`. */
export function slackErrorReason(error: unknown): string {
  const coded = error as { code?: string; data?: { error?: string }; statusCode?: number; retryAfter?: number };
  if (coded.code === ErrorCode.PlatformError && coded.data?.error) return coded.data.error;
  if (coded.code === ErrorCode.HTTPError && coded.statusCode !== undefined) return `http_${coded.statusCode}`;
  if (coded.code === ErrorCode.RateLimitedError) return `rate_limited (retry after ${coded.retryAfter ?? '?'} s)`;
  return `request_failed (${(error as Error).message})`;
}
