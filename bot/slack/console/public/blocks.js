// Block Kit to DOM: header, section (text, fields, accessory), context, divider, actions with
// buttons (styles, confirm dialogs), image placeholders. Built from nodes and textContent only.
import { emojiFor, renderMrkdwn } from './mrkdwn.js';

/**
 * @param {unknown[]} blocks
 * @param {{ names: object, onButton: (button: object, blockId: string) => void, confirm: (confirm: object) => Promise<boolean> }} context
 */
export function renderBlocks(blocks, context) {
  const container = document.createElement('div');
  container.className = 'blocks';
  for (const block of Array.isArray(blocks) ? blocks : []) {
    const node = renderBlock(block, context);
    if (node) container.append(node);
  }
  return container;
}

function renderBlock(block, context) {
  if (typeof block !== 'object' || block === null) return null;
  const node = document.createElement('div');
  node.className = `block block-${String(block.type)}`;
  node.dataset.blockType = String(block.type);
  if (typeof block.block_id === 'string') node.dataset.blockId = block.block_id;
  switch (block.type) {
    case 'header':
      node.append(renderText(block.text, context, 'h3'));
      break;
    case 'section':
      if (block.text) node.append(renderText(block.text, context, 'div'));
      if (Array.isArray(block.fields)) {
        const fields = document.createElement('div');
        fields.className = 'section-fields';
        for (const field of block.fields) fields.append(renderText(field, context, 'div'));
        node.append(fields);
      }
      if (block.accessory) node.append(renderElement(block.accessory, block.block_id ?? '', context));
      break;
    case 'context':
      for (const element of Array.isArray(block.elements) ? block.elements : []) {
        node.append(element?.type === 'image' ? renderImage(element) : renderText(element, context, 'span'));
      }
      break;
    case 'divider':
      node.append(document.createElement('hr'));
      break;
    case 'actions':
      for (const element of Array.isArray(block.elements) ? block.elements : []) node.append(renderElement(element, block.block_id ?? '', context));
      break;
    case 'image':
      node.append(renderImage(block));
      break;
    case 'rich_text':
      node.textContent = richTextPlain(block);
      break;
    default:
      node.classList.add('block-unsupported');
      node.textContent = `(${String(block.type)} block: not shown in the console)`;
  }
  return node;
}

/** A text object: mrkdwn is interpreted, plain_text is shown as written (with :emoji: when asked). */
export function renderText(text, context, tag) {
  const node = document.createElement(tag);
  node.className = `text text-${text?.type ?? 'missing'}`;
  if (!text || typeof text.text !== 'string') return node;
  if (text.type === 'mrkdwn' && text.verbatim !== true) node.append(renderMrkdwn(text.text, context.names));
  else if (text.type === 'mrkdwn') node.textContent = text.text;
  else node.textContent = text.emoji === false ? text.text : text.text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => emojiFor(name) ?? whole);
  return node;
}

function renderImage(image) {
  // External images are not fetched: the console stays on loopback. The alt text stands in.
  const node = document.createElement('span');
  node.className = 'image-placeholder';
  node.textContent = `🖼 ${image.alt_text ?? 'image'}`;
  return node;
}

function renderElement(element, blockId, context) {
  if (element?.type === 'image') return renderImage(element);
  if (element?.type !== 'button') {
    const node = document.createElement('span');
    node.className = 'element-unsupported';
    node.textContent = `(${String(element?.type)} not supported in the console)`;
    return node;
  }
  const text = typeof element.text?.text === 'string' ? element.text.text : '';
  if (typeof element.url === 'string' && /^https?:/i.test(element.url)) {
    const link = document.createElement('a');
    link.className = `button ${element.style ? `button-${element.style}` : ''}`;
    link.href = element.url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = text;
    return link;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `button ${element.style === 'primary' || element.style === 'danger' ? `button-${element.style}` : ''}`;
  button.textContent = text;
  button.dataset.actionId = String(element.action_id ?? '');
  button.addEventListener('click', async () => {
    if (element.confirm && !(await context.confirm(element.confirm))) return;
    button.disabled = true;
    try {
      await context.onButton(element, blockId);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function richTextPlain(block) {
  const parts = [];
  const walk = (node) => {
    if (typeof node?.text === 'string') parts.push(node.text);
    if (Array.isArray(node?.elements)) node.elements.forEach(walk);
  };
  walk(block);
  return parts.join('');
}
