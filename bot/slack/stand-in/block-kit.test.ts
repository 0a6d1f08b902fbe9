/**
 * Every Block Kit limit of the stand-in, checked through its Web API the way a bot meets it: at the
 * limit Slack accepts the message, one over it Slack refuses it with a message naming the block.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_KIT_LIMITS, type BlockKitLimit } from './block-kit-limits.js';
import { startSlackStandIn, type SlackStandIn } from './index.js';

const BOT_TOKEN = 'xoxb-block-kit-test';
let slack: SlackStandIn;

beforeAll(async () => {
  // Seventy-odd messages into one channel within a second or two: Slack's rate limits are not what this file checks.
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: false });
});
afterAll(async () => {
  await slack.close();
});

async function callApi(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${slack.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BOT_TOKEN}` },
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown>;
}

const pad = (length: number, character = 'x') => character.repeat(length);
const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const button = (overrides: Record<string, unknown> = {}) => ({ type: 'button', text: plain('Go'), action_id: 'go', value: 'v', ...overrides });
const confirm = (overrides: Record<string, unknown> = {}) => ({ title: plain('Sure?'), text: plain('Really'), confirm: plain('Yes'), deny: plain('No'), ...overrides });
const options = (count: number, text = 'Option', value?: string) => Array.from({ length: count }, (_, index) => ({ text: plain(text), value: value ?? `value-${index}` }));
const actions = (...elements: unknown[]) => ({ type: 'actions', block_id: 'acts', elements });

interface LimitCase {
  /** The API call carrying `size` of the limited thing. */
  call(size: number): { method: string; body: Record<string, unknown> };
  /** What Slack answers one over the limit: the error code and a fragment of the message. */
  error: string;
  pointer?: string;
}

const message = (blocks: unknown[]) => ({ method: 'chat.postMessage', body: { channel: 'C0ACGSOPS01', text: 'fallback', blocks } });

/** One case per limit; the Record type makes a new limit without a case a type error. */
const LIMIT_CASES: Record<BlockKitLimit, LimitCase> = {
  messageBlocks: { call: (n) => message(Array.from({ length: n }, () => ({ type: 'divider' }))), error: 'invalid_blocks', pointer: '/blocks]' },
  viewBlocks: {
    call: (n) => ({ method: 'views.publish', body: { user_id: 'U0ONCALL', view: { type: 'home', blocks: Array.from({ length: n }, () => ({ type: 'divider' })) } } }),
    error: 'invalid_arguments',
    pointer: '/view/blocks]',
  },
  messageText: { call: (n) => ({ method: 'chat.postMessage', body: { channel: 'C0ACGSOPS01', text: pad(n) } }), error: 'msg_too_long' },
  blockId: { call: (n) => message([{ type: 'divider', block_id: pad(n) }]), error: 'invalid_blocks', pointer: '/blocks/0/block_id]' },
  actionId: { call: (n) => message([actions(button({ action_id: pad(n) }))]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/action_id]' },
  textObject: { call: (n) => message([{ type: 'context', elements: [mrkdwn(pad(n))] }]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/text]' },
  sectionText: { call: (n) => message([{ type: 'section', text: mrkdwn(pad(n)) }]), error: 'invalid_blocks', pointer: '/blocks/0/text/text]' },
  sectionFields: { call: (n) => message([{ type: 'section', fields: Array.from({ length: n }, () => mrkdwn('f')) }]), error: 'invalid_blocks', pointer: '/blocks/0/fields]' },
  sectionFieldText: { call: (n) => message([{ type: 'section', fields: [mrkdwn(pad(n))] }]), error: 'invalid_blocks', pointer: '/blocks/0/fields/0/text]' },
  headerText: { call: (n) => message([{ type: 'header', text: plain(pad(n)) }]), error: 'invalid_blocks', pointer: '/blocks/0/text/text]' },
  contextElements: { call: (n) => message([{ type: 'context', elements: Array.from({ length: n }, () => mrkdwn('c')) }]), error: 'invalid_blocks', pointer: '/blocks/0/elements]' },
  actionsElements: {
    call: (n) => message([actions(...Array.from({ length: n }, (_, index) => button({ action_id: `a${index}` })))]),
    error: 'invalid_blocks',
    pointer: '/blocks/0/elements]',
  },
  buttonText: { call: (n) => message([actions(button({ text: plain(pad(n)) }))]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/text/text]' },
  buttonValue: { call: (n) => message([actions(button({ value: pad(n) }))]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/value]' },
  buttonUrl: { call: (n) => message([actions(button({ url: `https://example.test/${pad(n - 21)}` }))]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/url]' },
  confirmTitle: { call: (n) => message([actions(button({ confirm: confirm({ title: plain(pad(n)) }) }))]), error: 'invalid_blocks', pointer: '/confirm/title/text]' },
  confirmText: { call: (n) => message([actions(button({ confirm: confirm({ text: mrkdwn(pad(n)) }) }))]), error: 'invalid_blocks', pointer: '/confirm/text/text]' },
  confirmButton: { call: (n) => message([actions(button({ confirm: confirm({ confirm: plain(pad(n)) }) }))]), error: 'invalid_blocks', pointer: '/confirm/confirm/text]' },
  imageUrl: { call: (n) => message([{ type: 'image', image_url: `https://example.test/${pad(n - 21)}`, alt_text: 'chart' }]), error: 'invalid_blocks', pointer: '/blocks/0/image_url]' },
  imageAltText: { call: (n) => message([{ type: 'image', image_url: 'https://example.test/a.png', alt_text: pad(n) }]), error: 'invalid_blocks', pointer: '/blocks/0/alt_text]' },
  selectOptions: { call: (n) => message([actions({ type: 'static_select', action_id: 'pick', options: options(n) })]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/options]' },
  overflowOptions: { call: (n) => message([actions({ type: 'overflow', action_id: 'more', options: options(n) })]), error: 'invalid_blocks', pointer: '/blocks/0/elements/0/options]' },
  optionText: { call: (n) => message([actions({ type: 'static_select', action_id: 'pick', options: options(1, pad(n)) })]), error: 'invalid_blocks', pointer: '/options/0/text/text]' },
  optionValue: { call: (n) => message([actions({ type: 'static_select', action_id: 'pick', options: options(1, 'o', pad(n)) })]), error: 'invalid_blocks', pointer: '/options/0/value]' },
  placeholderText: {
    call: (n) => message([actions({ type: 'static_select', action_id: 'pick', placeholder: plain(pad(n)), options: options(1) })]),
    error: 'invalid_blocks',
    pointer: '/blocks/0/elements/0/placeholder/text]',
  },
};

function problems(answer: Record<string, unknown>): string[] {
  if (Array.isArray(answer.errors)) return answer.errors as string[];
  const metadata = answer.response_metadata as { messages?: string[] } | undefined;
  return metadata?.messages ?? [];
}

describe('Block Kit limits', () => {
  for (const [name, limitCase] of Object.entries(LIMIT_CASES) as [BlockKitLimit, LimitCase][]) {
    const limit = BLOCK_KIT_LIMITS[name];
    it(`accepts ${name} at its limit of ${limit} and refuses ${limit + 1} with ${limitCase.error}`, async () => {
      const atLimit = limitCase.call(limit);
      const accepted = await callApi(atLimit.method, atLimit.body);
      expect(accepted, JSON.stringify(problems(accepted))).toMatchObject({ ok: true });

      const over = limitCase.call(limit + 1);
      const refused = await callApi(over.method, over.body);
      expect(refused).toMatchObject({ ok: false, error: limitCase.error });
      if (limitCase.pointer) {
        const found = problems(refused);
        expect(found.some((text) => text.includes(String(limit)) && text.includes(limitCase.pointer!)), found.join('\n')).toBe(true);
      }
    });
  }
});

describe('Block Kit rules beyond sizes', () => {
  const refusedWith = async (blocks: unknown[], ...fragments: string[]) => {
    const answer = await callApi('chat.postMessage', { channel: 'C0ACGSOPS01', text: 'fallback', blocks });
    expect(answer).toMatchObject({ ok: false, error: 'invalid_blocks' });
    const found = (answer.errors as string[]).join('\n');
    for (const fragment of fragments) expect(found).toContain(fragment);
    expect(slack.messages('C0ACGSOPS01').some((stored) => stored.blocks === blocks)).toBe(false);
  };

  it('refuses two buttons with the same action_id in one block, naming the block and both places', async () => {
    await refusedWith([actions(button({ action_id: 'approve' }), button({ action_id: 'approve' }))], 'blocks[0] (actions "acts")', 'action_id "approve" repeats', '/blocks/0/elements/1/action_id');
  });

  it('accepts the same action_id in two different blocks', async () => {
    const answer = await callApi('chat.postMessage', { channel: 'C0ACGSOPS01', text: 'ok', blocks: [{ ...actions(button()), block_id: 'one' }, { ...actions(button()), block_id: 'two' }] });
    expect(answer).toMatchObject({ ok: true });
  });

  it('refuses duplicate block_ids in one message', async () => {
    await refusedWith([{ type: 'divider', block_id: 'same' }, { type: 'divider', block_id: 'same' }], 'block_id "same" repeats the block_id of blocks[0]', '/blocks/1/block_id');
  });

  it('refuses an unknown block type', async () => {
    await refusedWith([{ type: 'marquee', text: plain('hi') }], 'unknown block type "marquee"', '/blocks/0/type');
  });

  it('refuses an input block in a message (it belongs to views)', async () => {
    await refusedWith([{ type: 'input', label: plain('Name'), element: { type: 'plain_text_input', action_id: 'name' } }], 'unknown block type "input" (allowed in views only)');
  });

  it('refuses an unknown text object type', async () => {
    await refusedWith([{ type: 'section', text: { type: 'html', text: '<b>x</b>' } }], 'unknown text object type "html"', '/blocks/0/text/type');
  });

  it('refuses mrkdwn in a header and in a button', async () => {
    await refusedWith([{ type: 'header', text: mrkdwn('*Title*') }], 'header text must be plain_text');
    await refusedWith([actions(button({ text: mrkdwn('*Go*') }))], 'button text must be plain_text');
  });

  it('refuses an unknown button style and an unknown element type', async () => {
    await refusedWith([actions(button({ style: 'blue' }))], 'button style must be "primary" or "danger"');
    await refusedWith([actions({ type: 'slider', action_id: 's' })], 'unknown element type "slider"');
  });

  it('refuses a confirm dialog without its deny text', async () => {
    await refusedWith([actions(button({ confirm: { title: plain('Sure?'), text: plain('Really'), confirm: plain('Yes') } }))], 'confirm needs deny', '/confirm/deny');
  });

  it('refuses a section with neither text nor fields, and empty text', async () => {
    await refusedWith([{ type: 'section' }], 'section needs text or fields');
    await refusedWith([{ type: 'section', text: mrkdwn('') }], 'section text must be a non-empty string');
  });

  it('refuses blocks that are not a JSON array with invalid_blocks_format', async () => {
    const answer = await callApi('chat.postMessage', { channel: 'C0ACGSOPS01', text: 'x', blocks: { type: 'divider' } });
    expect(answer).toMatchObject({ ok: false, error: 'invalid_blocks_format' });
  });
});
