// Slack's mrkdwn, the subset bots use, turned into DOM nodes. Text only ever lands in text nodes
// (append/textContent), so nothing a bot or a person writes can become HTML.

/** A few :emoji: codes bots commonly use; anything else stays as typed. */
const EMOJI = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', rotating_light: '🚨',
  red_circle: '🔴', large_green_circle: '🟢', large_yellow_circle: '🟡', large_blue_circle: '🔵',
  information_source: 'ℹ️', hourglass: '⌛', hourglass_flowing_sand: '⏳', lock: '🔒', unlock: '🔓',
  rocket: '🚀', gear: '⚙️', mag: '🔍', memo: '📝', bar_chart: '📊', chart_with_upwards_trend: '📈',
  stopwatch: '⏱️', no_entry: '⛔', no_entry_sign: '🚫', shield: '🛡️', scales: '⚖️', tada: '🎉',
  thumbsup: '👍', '+1': '👍', thumbsdown: '👎', eyes: '👀', fire: '🔥', bell: '🔔', link: '🔗',
  arrows_counterclockwise: '🔄', question: '❓', grey_question: '❔', bulb: '💡', wrench: '🔧',
  package: '📦', clipboard: '📋', satellite: '📡', zap: '⚡', skull: '💀', robot_face: '🤖',
};

const SAFE_LINK = /^(https?:|mailto:)/i;

/** Slack escapes &, < and > in message text; the renderer undoes that only inside text nodes. */
export function unescapeSlack(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function emojiFor(name) {
  return Object.hasOwn(EMOJI, name) ? EMOJI[name] : undefined;
}

/**
 * Renders mrkdwn into a fragment. `names` resolves IDs: { user(id), channel(id) } returning a
 * display name or undefined.
 */
export function renderMrkdwn(text, names = {}) {
  const fragment = document.createDocumentFragment();
  const parts = String(text).split(/```([\s\S]*?)```/);
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      const pre = document.createElement('pre');
      pre.className = 'mrkdwn-pre';
      pre.textContent = unescapeSlack(part.replace(/^\n/, ''));
      fragment.append(pre);
    } else {
      renderInline(fragment, part, names);
    }
  });
  return fragment;
}

const INLINE = new RegExp(
  [
    '<([^<>\\n]+)>', // 1: <@U..>, <#C..|name>, <!here>, <url|label>
    '`([^`\\n]+)`', // 2: inline code
    '(?<![\\w*])\\*(?=\\S)([^*\\n]+?)(?<=\\S)\\*(?![\\w*])', // 3: bold
    '(?<![\\w_])_(?=\\S)([^_\\n]+?)(?<=\\S)_(?![\\w_])', // 4: italic
    '(?<![\\w~])~(?=\\S)([^~\\n]+?)(?<=\\S)~(?![\\w~])', // 5: strike
    ':([a-z0-9_+-]+):', // 6: emoji
    '(\\n)', // 7: line break
  ].join('|'),
  'g',
);

function renderInline(parent, text, names) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(unescapeSlack(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [whole, angle, code, bold, italic, strike, emoji, newline] = match;
    if (angle !== undefined) parent.append(renderAngle(angle, names));
    else if (code !== undefined) parent.append(element('code', 'mrkdwn-code', unescapeSlack(code)));
    else if (bold !== undefined) parent.append(nested('strong', bold, names));
    else if (italic !== undefined) parent.append(nested('em', italic, names));
    else if (strike !== undefined) parent.append(nested('del', strike, names));
    else if (emoji !== undefined) parent.append(emojiFor(emoji) ?? whole);
    else if (newline !== undefined) parent.append(document.createElement('br'));
  }
  if (last < text.length) parent.append(unescapeSlack(text.slice(last)));
}

function nested(tag, inner, names) {
  const node = document.createElement(tag);
  renderInline(node, inner, names);
  return node;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function renderAngle(inner, names) {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return element('span', 'mention', `@${names.user?.(id) ?? label ?? id}`);
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return element('span', 'mention channel-mention', `#${names.channel?.(id) ?? label ?? id}`);
  }
  if (target.startsWith('!')) {
    const special = target.slice(1).split('^')[0];
    return element('span', 'mention', `@${label ?? special}`);
  }
  const url = unescapeSlack(target);
  if (!SAFE_LINK.test(url)) return unescapeSlack(`<${inner}>`);
  const link = document.createElement('a');
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.textContent = unescapeSlack(label ?? target);
  return link;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
