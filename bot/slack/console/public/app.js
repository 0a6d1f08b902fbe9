// The console page: channels, App Home, messages rendered from Block Kit, a composer, a thread
// pane, a user switch, and live updates from the stand-in's Server-Sent Events.
import { renderBlocks, renderText } from './blocks.js';
import { renderMrkdwn } from './mrkdwn.js';

const $ = (id) => document.getElementById(id);

const state = {
  workspace: null,
  /** The person the console acts as. */
  as: 'U0ONCALL',
  /** { kind: 'channel', id } or { kind: 'home' } */
  view: null,
  thread: null,
  unread: new Set(),
};

/** Raised when the console refuses the page (its token belongs to an earlier start of the bot). */
class AccessProblem extends Error {}

async function api(path, body) {
  const response = await fetch(`/console/api/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (response.status === 403) {
    showAccessProblem(answer.error);
    throw new AccessProblem(answer.error);
  }
  return answer;
}

/** Says, above everything, why nothing works any more and what to do. */
function showAccessProblem(message) {
  if (document.getElementById('access-problem')) return;
  const note = document.createElement('p');
  note.id = 'access-problem';
  note.className = 'access-problem';
  note.setAttribute('role', 'alert');
  note.textContent = message;
  document.querySelector('main.pane').prepend(note);
}

const names = {
  user: (id) => state.workspace?.users.find((user) => user.id === id)?.name,
  channel: (id) => state.workspace?.channels.find((channel) => channel.id === id)?.name,
};

function confirmWith(confirm) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = confirm.title?.text ?? 'Are you sure?';
  $('confirm-text').replaceChildren(renderText(confirm.text ?? { type: 'plain_text', text: '' }, { names }, 'p'));
  $('confirm-ok').textContent = confirm.confirm?.text ?? 'Yes';
  $('confirm-ok').className = confirm.style === 'danger' ? 'button-danger' : 'button-primary';
  $('confirm-deny').textContent = confirm.deny?.text ?? 'Cancel';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }));
}

function showError(message) {
  const node = $('composer-error');
  node.textContent = message ?? '';
  node.hidden = !message;
}

function userLabel(user) {
  return `${user.realName} (${user.roleLabel})`;
}

function renderMessage(message, { channelId, inThread }) {
  const node = document.createElement('article');
  node.className = `message${message.ephemeral ? ' ephemeral' : ''}`;
  node.dataset.ts = message.ts;
  const meta = document.createElement('div');
  meta.className = 'message-meta';
  const author = document.createElement('span');
  author.className = 'message-author';
  author.textContent = names.user(message.user) ?? message.user;
  meta.append(author);
  if (message.isBot) {
    const badge = document.createElement('span');
    badge.className = 'app-badge';
    badge.textContent = 'APP';
    meta.append(badge);
  }
  const time = document.createElement('time');
  time.textContent = new Date(Number(message.ts) * 1000).toLocaleTimeString();
  meta.append(time);
  if (message.ephemeral) {
    const note = document.createElement('span');
    note.className = 'ephemeral-note';
    note.textContent = 'Only visible to you';
    meta.append(note);
  }
  node.append(meta);
  const onButton = async (button, blockId) => {
    const reply = await api('click', { as: state.as, actionId: button.action_id, blockId, channel: channelId, messageTs: message.ts });
    showError(reply.ok ? '' : reply.error);
  };
  if (Array.isArray(message.blocks) && message.blocks.length > 0) {
    node.append(renderBlocks(message.blocks, { names, onButton, confirm: confirmWith }));
  } else if (message.text !== '' || !(message.files?.length > 0)) {
    const text = document.createElement('div');
    text.className = 'message-text';
    text.append(renderMrkdwn(message.text, names));
    node.append(text);
  }
  if (Array.isArray(message.files) && message.files.length > 0) node.append(renderFiles(message.files));
  if (message.edited) {
    const edited = document.createElement('span');
    edited.className = 'edited';
    edited.textContent = '(edited)';
    node.append(edited);
  }
  if (!inThread && message.replyCount > 0) {
    const link = document.createElement('button');
    link.type = 'button';
    link.className = 'reply-link';
    link.textContent = `${message.replyCount} ${message.replyCount === 1 ? 'reply' : 'replies'}`;
    link.addEventListener('click', () => openThread(channelId, message.ts));
    node.append(link);
  }
  return node;
}

/** Shared files: images inline with their title, as Slack shows them; other files by name and size. */
function renderFiles(files) {
  const list = document.createElement('div');
  list.className = 'message-files';
  for (const file of files) {
    if (file.imageUrl) {
      const figure = document.createElement('figure');
      figure.className = 'message-image';
      const image = document.createElement('img');
      image.src = file.imageUrl;
      image.alt = file.title;
      const caption = document.createElement('figcaption');
      caption.textContent = file.title;
      figure.append(image, caption);
      list.append(figure);
    } else {
      const chip = document.createElement('div');
      chip.className = 'message-file';
      chip.textContent = `📎 ${file.title} (${file.name}, ${Math.max(1, Math.round(file.size / 1024))} KB)`;
      list.append(chip);
    }
  }
  return list;
}

async function loadMessages() {
  if (state.view?.kind !== 'channel') return;
  const { id } = state.view;
  const { messages } = await api(`messages?channel=${encodeURIComponent(id)}&as=${encodeURIComponent(state.as)}`);
  if (state.view?.kind !== 'channel' || state.view.id !== id) return;
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (messages.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'No messages yet. Try /acgs help.';
    list.replaceChildren(empty);
  } else {
    list.replaceChildren(...messages.map((message) => renderMessage(message, { channelId: id, inThread: false })));
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function loadThread() {
  if (!state.thread) return;
  const { channelId, ts } = state.thread;
  const { messages } = await api(`thread?channel=${encodeURIComponent(channelId)}&ts=${encodeURIComponent(ts)}&as=${encodeURIComponent(state.as)}`);
  $('thread-messages').replaceChildren(...messages.map((message) => renderMessage(message, { channelId, inThread: true })));
}

async function loadHome() {
  const { view } = await api(`home?as=${encodeURIComponent(state.as)}`);
  const home = $('home');
  if (!view) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'The app has not published a Home tab for you yet.';
    home.replaceChildren(empty);
    return;
  }
  const onButton = async (button, blockId) => {
    const reply = await api('click', { as: state.as, actionId: button.action_id, blockId, home: true });
    showError(reply.ok ? '' : reply.error);
  };
  home.replaceChildren(renderBlocks(view.blocks, { names, onButton, confirm: confirmWith }));
}

function openThread(channelId, ts) {
  state.thread = { channelId, ts };
  $('thread-pane').hidden = false;
  loadThread();
}

function closeThread() {
  state.thread = null;
  $('thread-pane').hidden = true;
}

/** The channels the person acted as sees: a private one only when they are in it. */
function visibleChannels() {
  return state.workspace.channels.filter((channel) => !channel.isPrivate || channel.members === null || channel.members.includes(state.as));
}

function renderNav() {
  const list = $('channel-list');
  list.replaceChildren(
    ...visibleChannels().map((channel) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `nav-item${state.view?.kind === 'channel' && state.view.id === channel.id ? ' active' : ''}`;
      button.dataset.channelId = channel.id;
      const label = document.createElement('span');
      label.textContent = `${channel.isPrivate ? '🔒' : '#'} ${channel.name}${channel.archived ? ' (archived)' : ''}`;
      if (state.unread.has(channel.id)) label.className = 'unread';
      button.append(label);
      button.addEventListener('click', () => showChannel(channel.id));
      item.append(button);
      return item;
    }),
  );
  $('home-entry').classList.toggle('active', state.view?.kind === 'home');
}

function showChannel(id) {
  const channel = state.workspace.channels.find((candidate) => candidate.id === id);
  state.view = { kind: 'channel', id };
  state.unread.delete(id);
  closeThread();
  $('pane-title').textContent = `# ${channel.name}`;
  $('pane-subtitle').textContent = '';
  $('messages').hidden = false;
  $('home').hidden = true;
  $('composer').hidden = false;
  $('composer-input').placeholder = `Message #${channel.name}, or /acgs help`;
  showError('');
  renderNav();
  loadMessages();
}

async function showHome() {
  state.view = { kind: 'home' };
  closeThread();
  $('pane-title').textContent = `${state.workspace.bot.name} · Home`;
  $('pane-subtitle').textContent = '';
  $('messages').hidden = true;
  $('home').hidden = false;
  $('composer').hidden = true;
  showError('');
  renderNav();
  await loadHome();
  const reply = await api('open-home', { as: state.as });
  if (!reply.ok) showError(reply.error);
}

function fillUserSwitch() {
  const select = $('user-switch');
  select.replaceChildren(
    ...state.workspace.users
      .filter((user) => !user.isBot)
      .map((user) => {
        const option = document.createElement('option');
        option.value = user.id;
        option.textContent = userLabel(user);
        return option;
      }),
  );
  select.value = state.as;
  select.addEventListener('change', () => {
    state.as = select.value;
    showError('');
    renderNav();
    if (state.view?.kind === 'home') showHome();
    else loadMessages();
    loadThread();
  });
}

function listen() {
  const events = new EventSource('/console/api/events');
  events.addEventListener('open', () => ($('connection-status').textContent = 'live'));
  events.addEventListener('error', () => ($('connection-status').textContent = 'reconnecting…'));
  events.addEventListener('change', (event) => {
    const change = JSON.parse(event.data);
    if (change.kind === 'channel') {
      // A channel the bot created or invited people to: list the channels anew.
      api('workspace').then((workspace) => {
        state.workspace = workspace;
        renderNav();
      });
      return;
    }
    if (change.kind === 'home') {
      if (state.view?.kind === 'home' && change.userId === state.as) loadHome();
      return;
    }
    if (change.visibleTo && change.visibleTo !== state.as) return;
    if (state.view?.kind === 'channel' && change.channel === state.view.id) loadMessages();
    else if (!change.threadTs || change.threadTs === change.ts) {
      state.unread.add(change.channel);
      renderNav();
    }
    if (state.thread && change.channel === state.thread.channelId && (change.threadTs === state.thread.ts || change.ts === state.thread.ts)) loadThread();
  });
}

async function send(text, threadTs) {
  if (state.view?.kind !== 'channel') return;
  const reply = await api('compose', { as: state.as, channel: state.view.id, text, ...(threadTs ? { threadTs } : {}) });
  showError(reply.ok ? '' : reply.error);
}

async function start() {
  // The token came in the link npm start printed and is now a cookie: keep it out of the history.
  // A message's permalink (chat.getPermalink) names its channel and message: open them.
  const params = new URLSearchParams(location.search);
  if (params.has('token') || params.has('channel')) history.replaceState(null, '', location.pathname);
  state.workspace = await api('workspace');
  $('team-name').textContent = state.workspace.team.name;
  fillUserSwitch();
  $('home-entry').addEventListener('click', showHome);
  $('thread-close').addEventListener('click', closeThread);
  $('composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('composer-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    await send(text);
  });
  $('thread-composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('thread-input');
    const text = input.value.trim();
    if (!text || !state.thread) return;
    input.value = '';
    await send(text, state.thread.ts);
  });
  listen();
  const linked = state.workspace.channels.find((channel) => channel.id === params.get('channel'));
  showChannel((linked ?? state.workspace.channels[0]).id);
  if (linked && params.get('message')) openThread(linked.id, params.get('message'));
  document.body.dataset.ready = 'true';
}

// A refused call already said why on the page; anything else is a bug worth seeing.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof AccessProblem) event.preventDefault();
});
start();
