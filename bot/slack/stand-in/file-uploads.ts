/**
 * Slack's file upload flow, as it has been since files.upload was retired (November 2025):
 *   1. files.getUploadURLExternal(filename, length) -> { file_id, upload_url }
 *   2. POST the bytes to upload_url (raw, or multipart form data)
 *   3. files.completeUploadExternal(files: [{id, title}], channel_id, initial_comment | thread_ts)
 * Each step refuses what Slack refuses, so a caller meets its mistakes here and not in production.
 * Where Slack documents no error name (bytes that disagree with the declared length, a second
 * completion) the stand-in answers as strictly as it can and says so in its README.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail, invalidArguments, type Answer } from './api-answer.js';
import { BodyTooLargeError, readBody, sendJson, sendText } from './http-io.js';
import type { StandInFileRef, Workspace } from './workspace.js';

type UploadState = 'awaiting-bytes' | 'uploaded' | 'completed';

interface PendingUpload {
  id: string;
  filename: string;
  length: number;
  state: UploadState;
  bytes?: Buffer;
}

/** Uploads not completed are forgotten beyond this many, the oldest first, as Slack discards them. */
export const MAX_PENDING_UPLOADS = 1000;

const MIME_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain', json: 'application/json', csv: 'text/csv' };

export function mimeTypeOf(filename: string): string {
  return MIME_TYPES[filename.split('.').at(-1)?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

export class FileUploads {
  /** Where upload URLs point: `<stand-in>/api/_upload/`. */
  uploadBase = '';
  private readonly uploads = new Map<string, PendingUpload>();
  private counter = 0;

  constructor(private readonly workspace: Workspace) {}

  getUploadUrl(args: Record<string, unknown>): Answer {
    if (typeof args.filename !== 'string' || args.filename.trim() === '') return invalidArguments('missing required field: filename');
    if (args.length === undefined || args.length === '') return invalidArguments('missing required field: length');
    const length = Number(args.length);
    if (!Number.isInteger(length) || length < 0) return invalidArguments('length must be a whole number of bytes');
    // Slack documents missing_argument for a length of 0.
    if (length === 0) return fail('missing_argument');
    const id = `F0UPLOAD${String(++this.counter).padStart(4, '0')}`;
    this.uploads.set(id, { id, filename: args.filename, length, state: 'awaiting-bytes' });
    if (this.uploads.size > MAX_PENDING_UPLOADS) this.uploads.delete(this.uploads.keys().next().value!);
    return { ok: true, file_id: id, upload_url: `${this.uploadBase}${id}` };
  }

  /** The upload URL: takes the bytes once they match the declared length. */
  async handleUpload(req: IncomingMessage, res: ServerResponse, fileId: string): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return sendJson(res, 405, { ok: false, error: 'method_not_allowed' });
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { ok: false, error: 'request_too_large' });
      throw error;
    }
    const upload = this.uploads.get(fileId);
    if (!upload || upload.state === 'completed') return sendText(res, 404, 'upload not found');
    const bytes = await fileBytes(req, body);
    if (bytes === undefined) return sendText(res, 400, 'a multipart upload needs a file part');
    if (bytes.length !== upload.length) return sendText(res, 400, `length mismatch: files.getUploadURLExternal was given ${upload.length} bytes, the upload has ${bytes.length}`);
    upload.bytes = bytes;
    upload.state = 'uploaded';
    sendText(res, 200, `OK - ${bytes.length}`);
  }

  complete(args: Record<string, unknown>): Answer {
    let files: unknown = args.files;
    if (typeof files === 'string') {
      try {
        files = JSON.parse(files);
      } catch {
        return invalidArguments('files must be a JSON array of {"id", "title"}');
      }
    }
    if (!Array.isArray(files) || files.length === 0) return invalidArguments('missing required field: files');
    if (files.some((file) => typeof file !== 'object' || file === null || typeof (file as { id?: unknown }).id !== 'string')) return invalidArguments('every file needs an id');
    if (args.channels !== undefined) return fail('not_implemented_in_stand_in', { detail: 'the stand-in shares to one channel_id; channels is not played' });
    let channelId: string | undefined;
    if (args.channel_id !== undefined) {
      // channel_id takes an ID, not a name.
      const channel = typeof args.channel_id === 'string' ? this.workspace.findChannel(args.channel_id) : undefined;
      if (!channel || channel.id !== args.channel_id) return fail('channel_not_found');
      if (channel.botIsMember === false) return fail('not_in_channel');
      channelId = channel.id;
    }
    const requested = files as { id: string; title?: unknown }[];
    const uploads: PendingUpload[] = [];
    for (const file of requested) {
      const upload = this.uploads.get(file.id);
      // Unknown, never uploaded, or already completed (the method "can only be called once").
      if (!upload || upload.state !== 'uploaded') return fail('file_not_found', { detail: `${file.id}: ${!upload ? 'no such upload' : upload.state === 'completed' ? 'already completed' : 'no bytes were uploaded'}` });
      uploads.push(upload);
    }
    const shared: StandInFileRef[] = uploads.map((upload, index) => {
      const title = requested[index]!.title;
      const ref = { id: upload.id, name: upload.filename, title: typeof title === 'string' && title !== '' ? title : upload.filename, mimetype: mimeTypeOf(upload.filename), size: upload.length };
      this.workspace.keepFile({ ...ref, ...(upload.bytes ? { bytes: upload.bytes } : {}) });
      upload.state = 'completed';
      delete upload.bytes;
      return ref;
    });
    if (channelId) {
      const { bot } = this.workspace;
      const comment = typeof args.initial_comment === 'string' ? args.initial_comment : '';
      const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
      this.workspace.post({ channel: channelId, user: bot.userId, botId: bot.botId, text: comment, files: shared, ...(threadTs ? { threadTs } : {}) });
    }
    return { ok: true, files: shared.map((file) => ({ id: file.id, name: file.name, title: file.title, mimetype: file.mimetype, size: file.size })) };
  }
}

/** The file's bytes: the body itself, or the first file part of a multipart form. */
async function fileBytes(req: IncomingMessage, body: Buffer): Promise<Buffer | undefined> {
  const contentType = req.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) return body;
  try {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
    for (const value of form.values()) if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  } catch {
    return undefined;
  }
  return undefined;
}
