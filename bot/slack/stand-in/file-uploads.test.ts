/**
 * Slack's current upload flow on the stand-in: files.getUploadURLExternal, the bytes POSTed to the
 * upload URL, files.completeUploadExternal; each step refusing what Slack refuses.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './index.js';
import { platformError } from '../../../test/testing/slack-platform-error.js';

const BOT_TOKEN = 'xoxb-file-uploads-test';
const OPS = 'C0ACGSOPS01';
const OUTSIDE = 'C0NOTMEMBER';
const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: { channels: [{ id: OPS, name: 'acgs-ops' }, { id: OUTSIDE, name: 'elsewhere', botIsMember: false }] },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});

async function startUpload(filename: string, length: number): Promise<{ fileId: string; uploadUrl: string }> {
  const answer = await client.files.getUploadURLExternal({ filename, length });
  return { fileId: answer.file_id!, uploadUrl: answer.upload_url! };
}

function postBytes(url: string, bytes: Buffer | FormData, contentType?: string): Promise<Response> {
  const body = bytes instanceof FormData ? bytes : new Blob([new Uint8Array(bytes)]);
  return fetch(url, { method: 'POST', body, ...(contentType ? { headers: { 'content-type': contentType } } : {}) });
}

describe('files.getUploadURLExternal', () => {
  it('hands out a file ID and an upload URL on the stand-in, on loopback', async () => {
    const { fileId, uploadUrl } = await startUpload('latency.png', 12);
    expect(fileId).toMatch(/^F/);
    expect(new URL(uploadUrl).hostname).toBe('127.0.0.1');
    expect(uploadUrl.startsWith(slack.url)).toBe(true);
  });

  it('refuses a missing filename or length with invalid_arguments, naming the field', async () => {
    const noName = await platformError(client.apiCall('files.getUploadURLExternal', { length: 10 }));
    expect(noName).toMatchObject({ error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] missing required field: filename'] } });
    const noLength = await platformError(client.apiCall('files.getUploadURLExternal', { filename: 'a.png' }));
    expect(noLength.response_metadata?.messages).toEqual(['[ERROR] missing required field: length']);
  });

  it('refuses a length that is not a whole number of bytes', async () => {
    for (const length of ['ten', -1, 2.5]) {
      expect(await platformError(client.apiCall('files.getUploadURLExternal', { filename: 'a.png', length }))).toMatchObject({ error: 'invalid_arguments' });
    }
  });

  it('refuses a length of 0 with missing_argument, as Slack documents', async () => {
    expect(await platformError(client.files.getUploadURLExternal({ filename: 'empty.png', length: 0 }))).toMatchObject({ error: 'missing_argument' });
  });
});

describe('the upload URL', () => {
  it('takes the raw bytes and answers as Slack does', async () => {
    const { uploadUrl } = await startUpload('raw.png', PNG_BYTES.length);
    const response = await postBytes(uploadUrl, PNG_BYTES, 'application/octet-stream');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`OK - ${PNG_BYTES.length}`);
  });

  it('takes a multipart form upload and keeps only the file part', async () => {
    const { fileId, uploadUrl } = await startUpload('form.png', PNG_BYTES.length);
    const form = new FormData();
    form.append('filename', new Blob([new Uint8Array(PNG_BYTES)], { type: 'image/png' }), 'form.png');
    expect((await postBytes(uploadUrl, form)).status).toBe(200);
    await client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS });
    expect(slack.file(fileId)?.bytes).toEqual(PNG_BYTES);
  });

  it('refuses bytes that disagree with the declared length, and the file cannot then be completed', async () => {
    const { fileId, uploadUrl } = await startUpload('short.png', PNG_BYTES.length + 1);
    const response = await postBytes(uploadUrl, PNG_BYTES);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(`was given ${PNG_BYTES.length + 1} bytes, the upload has ${PNG_BYTES.length}`);
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS }))).toMatchObject({ error: 'file_not_found' });
  });

  it('answers 404 for an upload URL it never handed out', async () => {
    const response = await postBytes(`${slack.url}/api/_upload/F0NOSUCH`, PNG_BYTES);
    expect(response.status).toBe(404);
  });

  it('takes only POST', async () => {
    const { uploadUrl } = await startUpload('get.png', PNG_BYTES.length);
    expect((await fetch(uploadUrl)).status).toBe(405);
  });
});

describe('files.completeUploadExternal', () => {
  async function uploaded(filename = 'chart.png'): Promise<string> {
    const { fileId, uploadUrl } = await startUpload(filename, PNG_BYTES.length);
    expect((await postBytes(uploadUrl, PNG_BYTES)).status).toBe(200);
    return fileId;
  }

  it('shares the file in the channel with the initial comment and keeps its bytes', async () => {
    const fileId = await uploaded();
    const answer = await client.files.completeUploadExternal({ files: [{ id: fileId, title: 'Latency' }], channel_id: OPS, initial_comment: 'Daily report' });
    expect(answer.files).toEqual([{ id: fileId, name: 'chart.png', title: 'Latency', mimetype: 'image/png', size: PNG_BYTES.length }]);
    const message = slack.messages(OPS).at(-1)!;
    expect(message.text).toBe('Daily report');
    expect(message.files).toEqual([{ id: fileId, name: 'chart.png', title: 'Latency', mimetype: 'image/png', size: PNG_BYTES.length }]);
    expect(slack.file(fileId)?.bytes).toEqual(PNG_BYTES);
  });

  it('shares the file as a reply in a thread', async () => {
    const parent = await client.chat.postMessage({ channel: OPS, text: 'report' });
    const fileId = await uploaded();
    await client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS, thread_ts: parent.ts! });
    expect(slack.thread(OPS, parent.ts!).at(-1)?.files?.[0]?.id).toBe(fileId);
  });

  it('completes a file only once', async () => {
    const fileId = await uploaded();
    await client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS });
    const before = slack.messages(OPS).length;
    const again = await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS }));
    expect(again).toMatchObject({ error: 'file_not_found', detail: `${fileId}: already completed` });
    expect(slack.messages(OPS)).toHaveLength(before);
  });

  it('refuses a file ID it never handed out, and one whose bytes never came', async () => {
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: 'F0NOSUCH' }], channel_id: OPS }))).toMatchObject({ error: 'file_not_found' });
    const { fileId } = await startUpload('never.png', 10);
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS }))).toMatchObject({ error: 'file_not_found', detail: `${fileId}: no bytes were uploaded` });
  });

  it('refuses an unknown channel, a channel name and a channel without the bot; the upload stays completable', async () => {
    const fileId = await uploaded();
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: 'C0NOWHERE' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: 'acgs-ops' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await platformError(client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OUTSIDE }))).toMatchObject({ error: 'not_in_channel' });
    await client.files.completeUploadExternal({ files: [{ id: fileId }], channel_id: OPS });
    expect(slack.messages(OPS).at(-1)?.files?.[0]?.id).toBe(fileId);
  });

  it('refuses missing or malformed files with invalid_arguments', async () => {
    expect(await platformError(client.apiCall('files.completeUploadExternal', { channel_id: OPS }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await platformError(client.apiCall('files.completeUploadExternal', { files: '[]', channel_id: OPS }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await platformError(client.apiCall('files.completeUploadExternal', { files: 'not json', channel_id: OPS }))).toMatchObject({ error: 'invalid_arguments' });
    expect(await platformError(client.apiCall('files.completeUploadExternal', { files: JSON.stringify([{ title: 'no id' }]), channel_id: OPS }))).toMatchObject({ error: 'invalid_arguments' });
  });

  it('completes without a channel as a private file, posting nothing', async () => {
    const fileId = await uploaded();
    const before = slack.messages(OPS).length;
    await client.files.completeUploadExternal({ files: [{ id: fileId }] });
    expect(slack.messages(OPS)).toHaveLength(before);
    expect(slack.file(fileId)?.name).toBe('chart.png');
  });

  it('runs the whole flow through the WebClient files.uploadV2', async () => {
    await client.files.uploadV2({ channel_id: OPS, filename: 'v2.png', file: PNG_BYTES, title: 'Through uploadV2', initial_comment: 'v2' });
    const message = slack.messages(OPS).at(-1)!;
    expect(message.text).toBe('v2');
    expect(message.files?.[0]).toMatchObject({ name: 'v2.png', title: 'Through uploadV2', size: PNG_BYTES.length });
  });
});
