/**
 * A real SMTP server in a child process (test/fixtures/notices/smtp-sink.mjs) on a loopback
 * ephemeral port, with AUTH; the messages it accepted are read back from its file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as it came over the wire: headers, MIME parts. */
  raw: string;
}

export interface SmtpSink {
  /** smtp://user:pass@127.0.0.1:port */
  url: string;
  port: number;
  received(): ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpSink(options: { user: string; pass: string; refuseRecipients?: string[] }): Promise<SmtpSink> {
  const scratch = mkdtempSync(join(tmpdir(), 'acgs-smtp-sink-'));
  const file = join(scratch, 'received.jsonl');
  const child: ChildProcess = spawn(process.execPath, ['test/fixtures/notices/smtp-sink.mjs'], {
    env: { ...process.env, SMTP_SINK_FILE: file, SMTP_SINK_USER: options.user, SMTP_SINK_PASS: options.pass, SMTP_SINK_REFUSE: (options.refuseRecipients ?? []).join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const lines = createInterface({ input: child.stdout! });
    const first = await Promise.race([
      once(lines, 'line').then(([line]) => line as string),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the SMTP sink exited with ${String(code)} before listening`);
      }),
    ]);
    const { port } = JSON.parse(first) as { port: number };
    return {
      url: `smtp://${encodeURIComponent(options.user)}:${encodeURIComponent(options.pass)}@127.0.0.1:${port}`,
      port,
      received() {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          return [];
        }
        return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ReceivedMail);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The text of a quoted-printable MIME body, for assertions about what a reader sees. */
export function decodeQuotedPrintable(text: string): string {
  return Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1').toString('utf8');
}
