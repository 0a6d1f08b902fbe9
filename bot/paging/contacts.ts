/**
 * The config file's `contacts:` section: named contacts the escalation matrix can name beside
 * roles and Slack IDs, each reached through its channels: Slack (a mention in the level's message,
 * or a DM), e-mail, or an outbound webhook of a paging service. A bad entry stops the start with a
 * sentence naming its key, because a page that can never be delivered is found out during an
 * outage otherwise.
 *
 * A webhook's secret is kept inside a signing function, never in a plain field: resolved contacts
 * travel through notices and logs, and a field is one JSON.stringify away from a Slack thread.
 */
import { z } from 'zod';
import { signWebhookBody, type WebhookSignature } from './webhook-signature.js';

/** Like a role name: a lowercase word, so it reads the same in the matrix. */
export const CONTACT_NAME = /^[a-z][a-z0-9_-]{0,30}$/;
/** The shortest secret accepted: 32 characters, as `openssl rand -hex 16` gives. */
export const MIN_WEBHOOK_SECRET_LENGTH = 32;

const SlackMentionable = z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'must be a Slack user ID such as U012ABCDEF or a user group ID such as S012ABCDEF');
// A user group has no DM of its own: its members hear of it through a mention.
const SlackPerson = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user ID such as U012ABCDEF (a user group cannot get a DM: mention it instead)');
const Address = z.email({ message: 'must be an e-mail address such as oncall@example.com' });
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable such as ACGS_PAGER_SECRET');

const WebhookUrl = z
  .string({ message: 'must be a URL such as https://paging.example.com/hooks/acgs' })
  .superRefine((text, context) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      context.addIssue({ code: 'custom', message: 'must be a URL such as https://paging.example.com/hooks/acgs' });
      return;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') context.addIssue({ code: 'custom', message: `must start with https:// or http:// (it starts with ${url.protocol}//)` });
    // Credentials in the URL would be shown wherever the URL is: the secret is what proves the sender.
    else if (url.username || url.password) context.addIssue({ code: 'custom', message: 'must not carry a user or password: the signature with the secret proves the sender' });
  });

const Webhook = z
  .strictObject({
    url: WebhookUrl,
    /** The shared secret written in the config file. */
    secret: z.string({ message: 'must be a text of at least 32 characters' }).min(MIN_WEBHOOK_SECRET_LENGTH, `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters long (openssl rand -hex 16 gives one)`).optional(),
    /** Or the environment variable holding it, so that the config file can be shared. */
    secret_env: EnvName.optional(),
  })
  .superRefine((webhook, context) => {
    if ((webhook.secret === undefined) === (webhook.secret_env === undefined)) context.addIssue({ code: 'custom', path: ['secret'], message: 'give the signing secret as either secret or secret_env (the name of an environment variable holding it), not both and not neither' });
  });

const ContactEntry = z
  .strictObject({
    slack: z
      .strictObject({
        /** Mentioned in the level's message in the alerts channel. */
        mention: z.array(SlackMentionable).optional(),
        /** Told by DM, at whichever level names the contact. */
        dm: z.array(SlackPerson).optional(),
      })
      .optional(),
    email: z.array(Address, { message: 'must be a list of e-mail addresses' }).min(1, 'must list at least one address, or leave email out').optional(),
    webhook: Webhook.optional(),
  })
  .superRefine((contact, context) => {
    const slack = (contact.slack?.mention?.length ?? 0) + (contact.slack?.dm?.length ?? 0);
    if (slack === 0 && !contact.email && !contact.webhook) context.addIssue({ code: 'custom', message: 'reaches nobody: give it slack (mention or dm), email or webhook' });
  });

export const ContactsSection = z.record(z.string().regex(CONTACT_NAME, 'contact names are lowercase words such as security-team'), ContactEntry);
export type ContactsSection = z.infer<typeof ContactsSection>;

/** A webhook as the sender needs it: where, and a signer holding the secret. */
export interface WebhookTarget {
  url: URL;
  sign(timestamp: number, body: string): WebhookSignature;
}

/** A contact ready to page; the escalation matrix resolves its Slack part (alerts/escalation-matrix.ts). */
export interface PagingContact {
  name: string;
  slack: { mention: string[]; dm: string[] };
  email: string[];
  webhook?: WebhookTarget;
  /** The channels that are paged (not Slack's, which the level's message does). */
  readonly channels: ReadonlyArray<'email' | 'webhook'>;
}

export class ContactsError extends Error {
  override readonly name = 'ContactsError';
}

/**
 * The section's contacts, with each webhook's secret read (from the file, or the environment
 * variable it names). Call once at start: a missing or short secret stops it, naming the key.
 */
export function resolveContacts(section: ContactsSection | undefined, env: NodeJS.ProcessEnv): Map<string, PagingContact> {
  const contacts = new Map<string, PagingContact>();
  for (const [name, entry] of Object.entries(section ?? {})) {
    let webhook: WebhookTarget | undefined;
    if (entry.webhook) {
      const secret = entry.webhook.secret ?? secretFromEnv(name, entry.webhook.secret_env!, env);
      webhook = { url: new URL(entry.webhook.url), sign: (timestamp, body) => signWebhookBody(secret, timestamp, body) };
    }
    const email = [...new Set(entry.email ?? [])];
    contacts.set(name, {
      name,
      slack: { mention: [...new Set(entry.slack?.mention ?? [])], dm: [...new Set(entry.slack?.dm ?? [])] },
      email,
      ...(webhook ? { webhook } : {}),
      channels: [...(email.length > 0 ? (['email'] as const) : []), ...(webhook ? (['webhook'] as const) : [])],
    });
  }
  return contacts;
}

function secretFromEnv(contact: string, variable: string, env: NodeJS.ProcessEnv): string {
  const key = `contacts.${contact}.webhook.secret_env`;
  const value = env[variable];
  if (value === undefined || value === '') throw new ContactsError(`${key}: the environment variable ${variable} is not set: put the webhook's signing secret in it`);
  if (value.length < MIN_WEBHOOK_SECRET_LENGTH) throw new ContactsError(`${key}: the secret in ${variable} is ${value.length} characters long; it must be at least ${MIN_WEBHOOK_SECRET_LENGTH} (openssl rand -hex 16 gives one)`);
  return value;
}

/** The contacts that need e-mail: the start refuses them without SMTP_URL. */
export function contactsWithEmail(contacts: ReadonlyMap<string, PagingContact>): string[] {
  return [...contacts.values()].filter((contact) => contact.email.length > 0).map((contact) => contact.name);
}
