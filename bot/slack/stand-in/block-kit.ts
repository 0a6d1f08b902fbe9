/**
 * Block Kit validation as Slack performs it on chat.postMessage, chat.update, response_url and
 * views.publish. Each problem is one message naming the block, the rule and the JSON pointer, in
 * the shape Slack uses (`... [json-pointer:/blocks/3/text/text]`), so a failing test says exactly
 * which block of which renderer broke which limit.
 *
 * Deliberately not checked: properties Slack does not know (Slack refuses them; a renderer that
 * sends one will find out in a real workspace), and the inner structure of rich_text.
 */
import { BLOCK_KIT_LIMITS as LIMIT } from './block-kit-limits.js';

export type BlockSurface = 'message' | 'view';

type Json = Record<string, unknown>;

const MESSAGE_BLOCK_TYPES = new Set(['section', 'header', 'context', 'divider', 'actions', 'image', 'rich_text']);
const VIEW_ONLY_BLOCK_TYPES = new Set(['input']);
const INTERACTIVE_ELEMENT_TYPES = new Set([
  'button',
  'overflow',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'datepicker',
  'timepicker',
  'checkboxes',
  'radio_buttons',
]);
const INPUT_ELEMENT_TYPES = new Set([...INTERACTIVE_ELEMENT_TYPES, 'plain_text_input']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Problems {
  readonly messages: string[] = [];
  constructor(private readonly blockName: string) {}

  add(pointer: string, rule: string): void {
    this.messages.push(`${this.blockName}: ${rule} [json-pointer:${pointer}]`);
  }

  /** Reports a string over its limit; a missing value is the caller's concern. */
  maxLength(pointer: string, what: string, value: unknown, limit: number): void {
    if (typeof value === 'string' && value.length > limit) this.add(pointer, `${what} must be at most ${limit} characters, got ${value.length}`);
  }

  maxItems(pointer: string, what: string, value: unknown[], limit: number): void {
    if (value.length > limit) this.add(pointer, `${what} must have at most ${limit} items, got ${value.length}`);
  }
}

/** Validates `blocks` for a message or a view; returns Slack-style error messages (empty when valid). */
export function validateBlocks(blocks: unknown, surface: BlockSurface): string[] {
  if (!Array.isArray(blocks)) return [`blocks must be an array [json-pointer:/blocks]`];
  const errors: string[] = [];
  const limit = surface === 'message' ? LIMIT.messageBlocks : LIMIT.viewBlocks;
  if (blocks.length > limit) {
    errors.push(`blocks: a ${surface} may have at most ${limit} blocks, got ${blocks.length} [json-pointer:/blocks]`);
  }
  const blockIds = new Map<string, number>();
  blocks.forEach((block, index) => {
    const pointer = `/blocks/${index}`;
    if (!isObject(block)) {
      errors.push(`blocks[${index}]: must be an object [json-pointer:${pointer}]`);
      return;
    }
    const type = typeof block.type === 'string' ? block.type : '(no type)';
    const blockId = typeof block.block_id === 'string' ? block.block_id : undefined;
    const problems = new Problems(`blocks[${index}] (${type}${blockId === undefined ? '' : ` "${blockId}"`})`);
    if (blockId !== undefined) {
      problems.maxLength(`${pointer}/block_id`, 'block_id', blockId, LIMIT.blockId);
      const first = blockIds.get(blockId);
      if (first !== undefined) problems.add(`${pointer}/block_id`, `block_id "${blockId}" repeats the block_id of blocks[${first}]; block_ids must be unique in a ${surface}`);
      else blockIds.set(blockId, index);
    }
    validateBlock(block, type, pointer, surface, problems);
    errors.push(...problems.messages);
  });
  return errors;
}

function validateBlock(block: Json, type: string, pointer: string, surface: BlockSurface, problems: Problems): void {
  const known = MESSAGE_BLOCK_TYPES.has(type) || (surface === 'view' && VIEW_ONLY_BLOCK_TYPES.has(type));
  if (!known) {
    problems.add(`${pointer}/type`, `unknown block type "${type}"${VIEW_ONLY_BLOCK_TYPES.has(type) ? ` (allowed in views only)` : ''}`);
    return;
  }
  const actionIds = new ActionIds(problems);
  switch (type) {
    case 'section':
      return validateSection(block, pointer, problems, actionIds);
    case 'header':
      if (block.text === undefined) return problems.add(`${pointer}/text`, 'header needs text');
      validateTextObject(block.text, `${pointer}/text`, problems, { what: 'header text', max: LIMIT.headerText, plainOnly: true });
      return;
    case 'context':
      return validateContext(block, pointer, problems);
    case 'actions':
      return validateActions(block, pointer, problems, actionIds);
    case 'image':
      return validateImage(block, pointer, problems);
    case 'input':
      if (block.label === undefined) problems.add(`${pointer}/label`, 'input needs a label');
      else validateTextObject(block.label, `${pointer}/label`, problems, { what: 'input label', max: 2000, plainOnly: true });
      if (!isObject(block.element) || typeof block.element.type !== 'string' || !INPUT_ELEMENT_TYPES.has(block.element.type)) {
        problems.add(`${pointer}/element`, 'input needs an input element');
      } else {
        validateElement(block.element, `${pointer}/element`, problems, actionIds);
      }
      return;
    case 'rich_text':
      if (!Array.isArray(block.elements)) problems.add(`${pointer}/elements`, 'rich_text needs an elements array');
      return;
    default:
      return; // divider: nothing to check
  }
}

function validateSection(block: Json, pointer: string, problems: Problems, actionIds: ActionIds): void {
  if (block.text === undefined && block.fields === undefined) problems.add(pointer, 'section needs text or fields');
  if (block.text !== undefined) validateTextObject(block.text, `${pointer}/text`, problems, { what: 'section text', max: LIMIT.sectionText });
  if (block.fields !== undefined) {
    if (!Array.isArray(block.fields)) {
      problems.add(`${pointer}/fields`, 'section fields must be an array of text objects');
    } else {
      problems.maxItems(`${pointer}/fields`, 'section fields', block.fields, LIMIT.sectionFields);
      block.fields.forEach((field, index) =>
        validateTextObject(field, `${pointer}/fields/${index}`, problems, { what: `section field ${index}`, max: LIMIT.sectionFieldText }),
      );
    }
  }
  if (block.accessory !== undefined) {
    const accessory = block.accessory;
    if (isObject(accessory) && accessory.type === 'image') validateImage(accessory, `${pointer}/accessory`, problems);
    else validateElement(accessory, `${pointer}/accessory`, problems, actionIds);
  }
}

function validateContext(block: Json, pointer: string, problems: Problems): void {
  if (!Array.isArray(block.elements) || block.elements.length === 0) return problems.add(`${pointer}/elements`, 'context needs at least one element');
  problems.maxItems(`${pointer}/elements`, 'context elements', block.elements, LIMIT.contextElements);
  block.elements.forEach((element, index) => {
    const at = `${pointer}/elements/${index}`;
    if (isObject(element) && element.type === 'image') validateImage(element, at, problems);
    else validateTextObject(element, at, problems, { what: `context element ${index}`, max: LIMIT.textObject });
  });
}

function validateActions(block: Json, pointer: string, problems: Problems, actionIds: ActionIds): void {
  if (!Array.isArray(block.elements) || block.elements.length === 0) return problems.add(`${pointer}/elements`, 'actions needs at least one element');
  problems.maxItems(`${pointer}/elements`, 'actions elements', block.elements, LIMIT.actionsElements);
  block.elements.forEach((element, index) => validateElement(element, `${pointer}/elements/${index}`, problems, actionIds));
}

function validateImage(image: Json, pointer: string, problems: Problems): void {
  if (typeof image.image_url !== 'string' && !isObject(image.slack_file)) problems.add(`${pointer}/image_url`, 'image needs image_url or slack_file');
  problems.maxLength(`${pointer}/image_url`, 'image_url', image.image_url, LIMIT.imageUrl);
  if (typeof image.alt_text !== 'string' || image.alt_text.length === 0) problems.add(`${pointer}/alt_text`, 'image needs alt_text');
  problems.maxLength(`${pointer}/alt_text`, 'image alt_text', image.alt_text, LIMIT.imageAltText);
}

/** action_ids must be unique within their block. */
class ActionIds {
  private readonly seen = new Map<string, string>();
  constructor(private readonly problems: Problems) {}

  add(actionId: unknown, pointer: string): void {
    if (typeof actionId !== 'string') return;
    this.problems.maxLength(`${pointer}/action_id`, 'action_id', actionId, LIMIT.actionId);
    const first = this.seen.get(actionId);
    if (first !== undefined) this.problems.add(`${pointer}/action_id`, `action_id "${actionId}" repeats the action_id at ${first}; action_ids must be unique in a block`);
    else this.seen.set(actionId, pointer);
  }
}

function validateElement(element: unknown, pointer: string, problems: Problems, actionIds: ActionIds): void {
  if (!isObject(element) || typeof element.type !== 'string') return problems.add(pointer, 'element must be an object with a type');
  if (!INTERACTIVE_ELEMENT_TYPES.has(element.type) && element.type !== 'plain_text_input') {
    return problems.add(`${pointer}/type`, `unknown element type "${element.type}"`);
  }
  actionIds.add(element.action_id, pointer);
  if (element.confirm !== undefined) validateConfirm(element.confirm, `${pointer}/confirm`, problems);
  if (element.placeholder !== undefined) validateTextObject(element.placeholder, `${pointer}/placeholder`, problems, { what: 'placeholder', max: LIMIT.placeholderText, plainOnly: true });
  switch (element.type) {
    case 'button':
      if (element.text === undefined) problems.add(`${pointer}/text`, 'button needs text');
      else validateTextObject(element.text, `${pointer}/text`, problems, { what: 'button text', max: LIMIT.buttonText, plainOnly: true });
      problems.maxLength(`${pointer}/value`, 'button value', element.value, LIMIT.buttonValue);
      problems.maxLength(`${pointer}/url`, 'button url', element.url, LIMIT.buttonUrl);
      if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
        problems.add(`${pointer}/style`, `button style must be "primary" or "danger", got ${JSON.stringify(element.style)}`);
      }
      return;
    case 'overflow':
      return validateOptions(element.options, `${pointer}/options`, problems, LIMIT.overflowOptions, 'overflow options');
    case 'static_select':
    case 'multi_static_select':
      if (element.options === undefined && element.option_groups !== undefined) return;
      return validateOptions(element.options, `${pointer}/options`, problems, LIMIT.selectOptions, 'select options');
    default:
      return;
  }
}

function validateOptions(options: unknown, pointer: string, problems: Problems, max: number, what: string): void {
  if (!Array.isArray(options) || options.length === 0) return problems.add(pointer, `${what} need at least one option`);
  problems.maxItems(pointer, what, options, max);
  options.forEach((option, index) => {
    const at = `${pointer}/${index}`;
    if (!isObject(option)) return problems.add(at, 'option must be an object');
    validateTextObject(option.text, `${at}/text`, problems, { what: 'option text', max: LIMIT.optionText });
    if (typeof option.value !== 'string') problems.add(`${at}/value`, 'option needs a value');
    problems.maxLength(`${at}/value`, 'option value', option.value, LIMIT.optionValue);
  });
}

function validateConfirm(confirm: unknown, pointer: string, problems: Problems): void {
  if (!isObject(confirm)) return problems.add(pointer, 'confirm must be an object');
  const parts = [
    ['title', LIMIT.confirmTitle, true],
    ['text', LIMIT.confirmText, false],
    ['confirm', LIMIT.confirmButton, true],
    ['deny', LIMIT.confirmButton, true],
  ] as const;
  for (const [key, max, plainOnly] of parts) {
    if (confirm[key] === undefined) problems.add(`${pointer}/${key}`, `confirm needs ${key}`);
    else validateTextObject(confirm[key], `${pointer}/${key}`, problems, { what: `confirm ${key}`, max, plainOnly });
  }
  if (confirm.style !== undefined && confirm.style !== 'primary' && confirm.style !== 'danger') {
    problems.add(`${pointer}/style`, `confirm style must be "primary" or "danger", got ${JSON.stringify(confirm.style)}`);
  }
}

interface TextRule {
  what: string;
  max: number;
  plainOnly?: boolean;
}

function validateTextObject(text: unknown, pointer: string, problems: Problems, rule: TextRule): void {
  if (!isObject(text)) return problems.add(pointer, `${rule.what} must be a text object`);
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn') {
    return problems.add(`${pointer}/type`, `${rule.what} has unknown text object type ${JSON.stringify(text.type)}; use "plain_text" or "mrkdwn"`);
  }
  if (rule.plainOnly && text.type !== 'plain_text') problems.add(`${pointer}/type`, `${rule.what} must be plain_text, got mrkdwn`);
  if (typeof text.text !== 'string' || text.text.length === 0) return problems.add(`${pointer}/text`, `${rule.what} must be a non-empty string`);
  problems.maxLength(`${pointer}/text`, rule.what, text.text, rule.max);
  if (text.type === 'mrkdwn' && text.emoji !== undefined) problems.add(`${pointer}/emoji`, `${rule.what}: emoji is only allowed on plain_text`);
  if (text.type === 'plain_text' && text.verbatim !== undefined) problems.add(`${pointer}/verbatim`, `${rule.what}: verbatim is only allowed on mrkdwn`);
}
