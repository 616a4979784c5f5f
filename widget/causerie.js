/*
 * Causerie's widget: a page's comments, shown inside the page in a shadow root.
 *
 * This file is the source, written to be read. The service serves
 * widget/causerie.min.js, which `npm run build` (widget/build.mjs, terser)
 * makes from it and which names the SHA-256 of this file on its first line:
 * the service refuses a build of another source, so after editing this file
 * run `npm ci && npm run build` and commit both files (README, Development).
 *
 * The service fills three string slots: the stylesheet (widget/causerie.css),
 * the English table (widget/i18n/en.json) and the codes of every language of
 * widget/i18n/; another language's table comes with the thread (or counts).
 *
 * Only the service's sanitized `html` is parsed as HTML; everything else is
 * set as text or as attribute strings.
 */
(() => {
'use strict';
const script = document.currentScript;
if (!script || !script.src) return;
const options = script.dataset, site = options.site, apiRoot = new URL(script.src).origin + '/api';
// Replies deeper than this stay at this depth, marked with the name they answer.
const MAX_DEPTH = 3;
const WEEK = 7 * 24 * 3600 * 1000;

// Slots the service fills (service/widget.py).
const ENGLISH = '__ENGLISH__', LANGUAGES = '__LANGUAGES__', STYLESHEET = '__CSS__';
let lang = (options.lang || document.documentElement.lang || 'en').toLowerCase().split('-')[0], words = ENGLISH;
if (!LANGUAGES.split(' ').includes(lang)) lang = 'en';

const fill = (template, value) => template.replace('{0}', value);
const pluralRules = new Intl.PluralRules(lang), numberFormat = new Intl.NumberFormat(lang);
const countText = n => fill(words.n[pluralRules.select(n)] || words.n.other, numberFormat.format(n));
const inUnit = (n, unit) => new Intl.NumberFormat(lang, {style: 'unit', unit, unitDisplay: 'long'}).format(Math.max(1, Math.ceil(n)));
const duration = seconds => seconds > 90 ? inUnit(seconds / 60, 'minute') : inUnit(seconds, 'second');
const relativeTime = new Intl.RelativeTimeFormat(lang, {numeric: 'auto'});
const fullDate = new Intl.DateTimeFormat(lang, {dateStyle: 'long', timeStyle: 'short'});
const SECONDS_IN = {year: 31536e3, month: 2592e3, week: 604800, day: 86400, hour: 3600, minute: 60, second: 1};
const timeAgo = date => {
 const seconds = (date - Date.now()) / 1000;
 for (const unit in SECONDS_IN) {
  if (Math.abs(seconds) >= SECONDS_IN[unit] || unit == 'second') return relativeTime.format(Math.round(seconds / SECONDS_IN[unit]), unit);
 }
};

// The DOM builder: attributes are set as strings and children appended as nodes or text, never parsed.
const build = (element, attributes, children) => {
 for (const name in attributes) {
  const value = attributes[name];
  if (value != null && value !== false) element.setAttribute(name, value === true ? '' : value);
 }
 element.append(...children.filter(child => child != null && child !== false));
 return element;
};
const el = (tag, attributes, ...children) => build(document.createElement(tag), attributes, children);
const svg = (tag, attributes) => build(document.createElementNS('http://www.w3.org/2000/svg', tag), attributes, []);

// Identicon: a symmetric 5x5 grid and a hue, read from the service's keyed hash (no request).
const avatar = hash => {
 const hex = (hash || '').replace(/[^0-9a-f]/gi, '').padEnd(11, '0');
 const hue = parseInt(hex.slice(0, 3), 16) % 360, bits = parseInt(hex.slice(3, 11), 16);
 let path = 'M2 2h1v1h-1z';
 for (let i = 0; i < 15; i++) {
  const x = i % 3, y = Math.floor(i / 3);
  if (bits >> i & 1) path += `M${x} ${y}h1v1h-1zM${4 - x} ${y}h1v1h-1z`;
 }
 const image = svg('svg', {viewBox: '0 0 5 5', class: 'av', 'aria-hidden': 'true'});
 image.append(svg('rect', {width: 5, height: 5, fill: `hsl(${hue} 40% 90%)`}), svg('path', {d: path, fill: `hsl(${hue} 55% 38%)`}));
 return image;
};

/*
 * What this browser remembers for a site, in the host page's localStorage
 * under 'causerie:v2:SITE':
 *   {version: 2,
 *    author: {name, email, website},     the comment form's last values
 *    commenter: KEY,                     the service's proof that this browser wrote earlier comments
 *    order: 'newest' | 'oldest',         the reader's choice of order
 *    ownComments: {ID: {editToken, editableUntil (ms), text, pending, thread}},
 *    drafts: {'THREAD PARENT_ID': {text, expires (ms)}}}
 * Version 1 (one-letter keys under 'causerie:SITE') is read once, written
 * again as version 2 and removed.
 */
const STORAGE_VERSION = 2, STORAGE_KEY = `causerie:v${STORAGE_VERSION}:${site}`, VERSION_1_KEY = 'causerie:' + site;
// Storage may be blocked (privacy settings, sandboxed frames): then nothing is remembered.
const readStored = key => {
 try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
};
const writeStored = (key, value) => {
 try {
  if (value) localStorage.setItem(key, JSON.stringify(value));
  else localStorage.removeItem(key);
 } catch (e) { /* storage blocked */ }
};
const mapValues = (object, convert) => Object.fromEntries(Object.entries(object || {}).map(([key, value]) => [key, convert(value)]));
const fromVersion1 = old => ({
 version: 2,
 author: old.me && {name: old.me.a, email: old.me.e, website: old.me.w},
 commenter: old.c,
 order: old.o,
 ownComments: mapValues(old.mine, own => ({editToken: own.k, editableUntil: own.u, text: own.x, pending: own.p, thread: own.th})),
 drafts: mapValues(old.d, draft => ({text: draft.x, expires: draft.u})),
});
const load = () => {
 let stored = readStored(STORAGE_KEY);
 const old = !stored && readStored(VERSION_1_KEY);
 if (old && typeof old == 'object') {
  stored = fromVersion1(old);
  writeStored(STORAGE_KEY, stored);
  writeStored(VERSION_1_KEY, null);
 }
 return stored && stored.version == STORAGE_VERSION ? stored : {version: STORAGE_VERSION};
};
const remembered = load();
// One field, or one entry of it, at a time, into the document as stored now: a token or draft
// another tab of the same site saved meanwhile is kept, not overwritten with this tab's copy.
const remember = (field, key) => {
 const stored = load(), value = remembered[field];
 if (key == null) stored[field] = value;
 else {
  const entries = stored[field] = stored[field] || {};
  if (value[key]) entries[key] = value[key];
  else delete entries[key];
 }
 writeStored(STORAGE_KEY, stored);
};
// An own comment is forgotten once it can no longer be edited, unless it is still held for
// moderation: only this browser knows to ask about it.
const ownComments = remembered.ownComments = remembered.ownComments || {};
for (const id in ownComments) {
 if (!ownComments[id].pending && ownComments[id].editableUntil < Date.now()) {
  delete ownComments[id];
  remember('ownComments', id);
 }
}
// Text being written, per thread and reply, kept for a week until sent: a reload or a wrong click loses nothing.
const drafts = remembered.drafts = remembered.drafts || {};
for (const key in drafts) {
 if (!(drafts[key].expires > Date.now())) {
  delete drafts[key];
  remember('drafts', key);
 }
}
const editable = own => own && own.editableUntil > Date.now();

// A request to the service. A failure is thrown as {response, error}: `error` is the service's
// error object, and `response` is missing when the network failed.
const api = async (path, {method = 'GET', body, token} = {}) => {
 const headers = {};
 if (body) headers['Content-Type'] = 'application/json';
 if (token) headers.Authorization = 'Bearer ' + token;
 const response = await fetch(apiRoot + path, {method, headers, body: body ? JSON.stringify(body) : null});
 const data = response.status == 204 ? {} : await response.json().catch(() => ({}));
 if (!response.ok) throw {response, error: data.error || {}};
 return [data, response];
};
const absolute = url => new URL(url, location.href).href, here = location.href.split('#')[0];

// Listing pages: every [data-causerie-count] is filled from one request.
const counters = [...document.querySelectorAll('[data-causerie-count]')];
const counterUrl = counter => absolute(counter.dataset.causerieCount);
if (counters.length) {
 const query = new URLSearchParams({site, lang});
 [...new Set(counters.map(counterUrl))].slice(0, 100).forEach(url => query.append('url', url));
 api('/counts?' + query).then(([data]) => {
  if (data.n) words.n = data.n;
  counters.forEach(counter => {
   const n = data.counts[counterUrl(counter)];
   if (n != null) counter.textContent = countText(n);
  });
 }, () => {});
}

let host = document.getElementById('causerie');
if (!host) {
 if (counters.length) return;
 host = el('div', {id: 'causerie'});
 if (document.body.contains(script)) script.after(host);
 else document.body.append(host);
}
if (host.shadowRoot) return;
if (options.theme) host.dataset.theme = options.theme;
// A server-rendered thread (/embed/thread) is taken over at once, from what it holds.
const fragment = host.querySelector('[data-t]'), rendered = fragment && JSON.parse(fragment.dataset.t);
if (rendered && rendered.lang == lang && fragment.dataset.i18n) words = JSON.parse(fragment.dataset.i18n);
// A constructed stylesheet needs no 'unsafe-inline' in the host page's CSP.
const root = host.attachShadow({mode: 'open'});
try {
 const sheet = new CSSStyleSheet();
 sheet.replaceSync(STYLESHEET);
 root.adoptedStyleSheets = [sheet];
} catch (e) {
 root.append(el('style', {}, STYLESHEET));
}

const pageUrl = options.url ? absolute(options.url) : here, thread = options.thread || pageUrl;
const title = (options.title || document.title).slice(0, 300) || undefined;
// shown: what is on screen, by comment id: {comment, item, article, replies, depth, text}.
let ticket, total = 0, uid = 0, emailOffered, shown = {}, started, newestFirst = (remembered.order || options.sort) == 'newest';
const heading = el('h2', {id: 'ch', tabindex: -1}), announce = el('p', {class: 'st', role: 'status'});
const list = el('ol'), empty = el('p', {class: 'mu', hidden: true});
const orderButton = el('button', {type: 'button', 'data-action': 'sort', class: 'lnk'});
const section = el('section', {class: 'c', 'aria-labelledby': 'ch', lang},
 el('div', {class: 'hd'}, heading, orderButton), list, empty, announce);
root.append(section);

const recount = change => {
 total += change || 0;
 heading.textContent = countText(total);
 empty.hidden = list.childElementCount > 0;
};
const nameOf = view => view.comment.author || words.anon;
// Top-level comments in the reader's order (pinned ones first); replies stay in theirs.
const sortThread = () => {
 const age = view => view.comment.created_at + view.comment.id;
 orderButton.setAttribute('aria-pressed', newestFirst);
 list.append(...[...list.children].map(item => shown[item.firstChild.dataset.id])
  .sort((x, y) => y.comment.pinned - x.comment.pinned || ((age(x) > age(y)) != newestFirst ? 1 : -1))
  .map(view => view.item));
};
const tell = (element, message, bad) => {
 element.textContent = message;
 element.classList.toggle('bad', !!bad);
};
const button = (action, label, className, expanded) =>
 el('button', {type: 'button', 'data-action': action, class: className, 'aria-expanded': expanded}, label);

const render = (comment, depth, replyingTo, pending) => {
 const own = ownComments[comment.id], article = el('article', {id: 'comment-' + comment.id, tabindex: -1, 'data-id': comment.id,
  class: 'cm' + (comment.pinned ? ' pin' : '') + (pending ? ' pend' : '')});
 const replies = el('ol'), item = el('li', {}, article, replies);
 const view = shown[comment.id] = {comment, item, article, replies, depth};
 if (comment.deleted) {
  article.append(el('p', {class: 'mu'}, words.deleted));
  return view;
 }
 const created = new Date(comment.created_at), name = comment.author || words.anon, canEdit = editable(own);
 const website = /^https?:\/\//i.test(comment.website) && comment.website;
 view.text = el('div', {class: 'tx'});
 article.append(el('header', {class: 'hd'}, avatar(comment.avatar),
  website ? el('a', {class: 'au', href: website, rel: 'nofollow ugc noopener', target: '_blank'}, name) : el('b', {class: 'au'}, name),
  comment.staff && el('span', {class: 'bg'}, words.staff), comment.pinned && el('span', {class: 'bg'}, words.pinned),
  replyingTo && el('span', {class: 'mu'}, fill(words.to, replyingTo)),
  el('a', {class: 'mu', href: here + '#comment-' + comment.id},
   el('time', {datetime: comment.created_at, title: fullDate.format(created)}, timeAgo(created))),
  comment.edited_at && el('span', {class: 'mu', title: fullDate.format(new Date(comment.edited_at))}, '(' + words.edited + ')')),
 view.text);
 // Sanitized by the service: the one place HTML is trusted (a taken-over fragment's is copied as nodes).
 if (comment.renderedText) view.text.append(...comment.renderedText.cloneNode(true).childNodes);
 else view.text.innerHTML = comment.html;
 if (pending) article.append(el('p', {class: 'pm'}, words.pending));
 article.append(el('div', {class: 'ac'},
  !pending && button('reply', words.reply, 'rp', 'false'),
  canEdit && button('edit', words.edit), canEdit && button('delete', words.del),
  canEdit && el('span', {class: 'mu', 'data-editable-until': own.editableUntil}),
  !own && button('report', words.report, '', 'false')));
 return view;
};

const place = (comment, pending) => {
 const parent = shown[comment.parent_id], depth = parent ? parent.depth + 1 : 0;
 const view = render(comment, depth, depth > MAX_DEPTH ? nameOf(parent) : null, pending);
 if (!parent) {
  list.append(view.item);
  sortThread();
 } else if (parent.depth < MAX_DEPTH) parent.replies.append(view.item);
 else parent.item.after(view.item);
 return view;
};

const draw = comments => {
 const children = {}, byId = {};
 comments.forEach(comment => byId[comment.id] = comment);
 // Listed backwards, and walked with a stack, not recursion: an imported
 // thread may be thousands of replies deep.
 [...comments].reverse().forEach(comment => {
  const parentId = byId[comment.parent_id] ? comment.parent_id : 0;
  (children[parentId] = children[parentId] || []).push(comment);
 });
 const stack = (children[0] || []).sort((a, b) => a.pinned - b.pinned);
 for (let comment; (comment = stack.pop());) {
  const parent = shown[comment.parent_id];
  const view = render(comment, parent ? parent.depth + 1 : 0, parent && parent.depth >= MAX_DEPTH ? nameOf(parent) : null);
  (!parent ? list : parent.depth < MAX_DEPTH ? parent.replies : parent.item.parentNode).append(view.item);
  (children[comment.id] || []).forEach(child => stack.push(child));
 }
};

// The edit countdowns; a comment's edit and delete buttons go when its time is up.
const tick = () => root.querySelectorAll('[data-editable-until]').forEach(countdown => {
 const left = (countdown.dataset.editableUntil - Date.now()) / 1000;
 if (left > 0) {
  countdown.textContent = fill(words.left, duration(left));
  return;
 }
 countdown.parentNode.querySelectorAll('[data-action=edit],[data-action=delete]').forEach(gone => gone.remove());
 countdown.remove();
});
setInterval(tick, 15000);

const lock = () => {
 section.classList.add('lk');
 root.querySelectorAll('.f').forEach(form => form.remove());
 tell(announce, words.locked);
};

// Marks the fields named in `fields` (by the service or by the widget's own checks) and focuses the first.
const markInvalid = (form, status, fields, message) => {
 let first;
 for (const name in fields) {
  const problem = fields[name], input = form && form.elements[/notify|follow/.test(name) ? 'email' : name];
  if (!input || !input.id) {
   message = problem;
   continue;
  }
  input.setAttribute('aria-invalid', 'true');
  root.getElementById(input.id + 'e').textContent = /required/i.test(problem) ? words.req
   : input != form.elements[name] ? words.needmail : /email|website/.test(name) ? words.bad : problem;
  first = first || input;
 }
 tell(status, first ? words.fix : message, true);
 if (first) first.focus();
};
// What the service said went wrong, in the reader's language wherever the case is known
// (the service's own messages are in English).
const explain = (failure, form, status) => {
 const response = failure.response, error = failure.error || {};
 let message = lang == 'en' && error.message || words.err;
 if (!response) message = words.net;
 else if (response.status == 429) message = fill(words.rate, duration(response.headers.get('Retry-After') || 60));
 else if (error.code == 'thread_locked') return lock();
 else if (error.code == 'banned') message = words.banned;
 else if (/edit_window|not_editable/.test(error.code)) message = words.closed;
 else return markInvalid(form, status, error.fields, message);
 tell(status, message, true);
};

const checkbox = (name, label) => {
 const id = 'n' + ++uid;
 return el('p', {class: 'ck'}, el('input', {type: 'checkbox', name, id}), el('label', {for: id}, label));
};
const field = (name, label, {hint, ...attributes}, tag) => {
 const id = 'f' + ++uid;
 return el('p', {class: 'fl'}, el('label', {for: id}, label),
  el(tag || 'input', {...attributes, id, name, 'aria-describedby': id + 'e' + (hint ? ' ' + id + 'h' : '')}),
  hint && el('small', {id: id + 'h', class: 'mu'}, hint), el('span', {class: 'er', id: id + 'e'}));
};

// The comment form: the thread's own, or a reply's (`parent` is the view of the comment answered).
const commentForm = parent => {
 const author = remembered.author || {}, status = el('p', {class: 'st', role: 'status'}), submit = el('button', {class: 'sb'}, words.send);
 const form = el('form', {class: 'f', novalidate: true},
  parent && el('h3', {}, fill(words.replyTo, nameOf(parent))),
  el('div', {class: 'row'},
   field('author', words.name, {autocomplete: 'name', maxlength: 80, required: true, value: author.name}),
   field('email', words.email, {type: 'email', autocomplete: 'email', maxlength: 254, value: author.email}),
   field('website', words.web, {type: 'url', autocomplete: 'url', maxlength: 500, value: author.website})),
  field('text', words.text, {rows: 4, required: true, hint: words.hint}, 'textarea'),
  // Reply emails (and the page's new comments) are offered only by a service that sends email.
  emailOffered && checkbox('notify', words.notify), emailOffered && checkbox('follow', words.follow),
  // The honeypot: hidden from people, filled in by some bots.
  el('div', {class: 'hp', 'aria-hidden': 'true'}, el('label', {}, words.hp, el('input', {name: 'hp', tabindex: -1, autocomplete: 'off'}))),
  el('p', {class: 'bt'}, submit, parent && button('cancel', words.cancel, 'lnk')), status);
 const fields = form.elements, draftKey = thread + ' ' + (parent ? parent.comment.id : '');
 fields.text.value = drafts[draftKey] ? drafts[draftKey].text : '';
 fields.text.addEventListener('input', () => {
  if (fields.text.value.trim()) drafts[draftKey] = {text: fields.text.value, expires: Date.now() + WEEK};
  else delete drafts[draftKey];
  remember('drafts', draftKey);
 });
 form.addEventListener('submit', async event => {
  event.preventDefault();
  if (submit.disabled) return;
  const value = name => fields[name].value.trim() || undefined, missing = {};
  form.querySelectorAll('[aria-invalid]').forEach(input => {
   input.removeAttribute('aria-invalid');
   root.getElementById(input.id + 'e').textContent = '';
  });
  tell(status, '');
  const body = {site, url: pageUrl, thread: options.thread, title, parent_id: parent && parent.comment.id,
   author: value('author'), email: value('email'), website: value('website'), text: fields.text.value,
   notify: fields.notify && fields.notify.checked, follow: fields.follow && fields.follow.checked,
   ticket, hp: fields.hp.value, lang, commenter: remembered.commenter};
  if (!body.author) missing.author = words.req;
  if (!value('text')) missing.text = words.req;
  if ((body.notify || body.follow) && !body.email) missing.notify = words.needmail;
  if (Object.keys(missing).length) return markInvalid(form, status, missing);
  submit.disabled = true;
  submit.textContent = words.sending;
  try {
   const [saved] = await api('/comments', {method: 'POST', body}), comment = saved.comment, pending = saved.status != 'approved';
   remembered.author = {name: body.author, email: body.email, website: body.website};
   remembered.commenter = saved.commenter;
   ownComments[comment.id] = {editToken: saved.edit_token, editableUntil: Date.parse(saved.editable_until), text: body.text, pending, thread};
   delete drafts[draftKey];
   remember('author');
   remember('commenter');
   remember('ownComments', comment.id);
   remember('drafts', draftKey);
   fields.text.value = '';
   const view = place(comment, pending);
   recount(pending ? 0 : 1);
   tick();
   tell(announce, (pending ? words.held : words.posted) + (saved.notify == 'confirm' ? ' ' + words.confirm : ''));
   if (parent) close(form);
   view.article.focus();
  } catch (failure) {
   explain(failure, form, status);
  }
  submit.disabled = false;
  submit.textContent = words.send;
 });
 return form;
};

// Removes a form and gives the focus back to the button that opened it.
const close = form => {
 const opener = form.parentNode.querySelector('[aria-expanded=true]');
 form.remove();
 if (opener) {
  opener.setAttribute('aria-expanded', 'false');
  opener.focus();
 }
};

// A one-textarea form (edit, report): `send` does the request and what follows it.
const shortForm = (label, text, submitLabel, send) => {
 const id = 'f' + ++uid, status = el('p', {class: 'st', role: 'status'}), textarea = el('textarea', {id, rows: 3, required: true}, text);
 const submit = el('button', {class: 'sb'}, submitLabel);
 const form = el('form', {novalidate: true}, el('label', {for: id}, label), textarea,
  el('p', {class: 'bt'}, submit, button('cancel', words.cancel, 'lnk')), status);
 form.addEventListener('submit', async event => {
  event.preventDefault();
  if (submit.disabled) return;
  if (!textarea.value.trim()) return tell(status, words.req, true);
  submit.disabled = true;
  try {
   await send(textarea.value);
  } catch (failure) {
   explain(failure, form, status);
  }
  submit.disabled = false;
 });
 return form;
};

section.addEventListener('click', async event => {
 const clicked = event.target.closest('button[data-action]');
 if (!clicked) return;
 const action = clicked.dataset.action, article = clicked.closest('article');
 const view = article && shown[article.dataset.id], own = view && ownComments[view.comment.id];
 let form = article && article.querySelector('form');
 if (action == 'sort') {
  newestFirst = !newestFirst;
  remembered.order = newestFirst ? 'newest' : 'oldest';
  remember('order');
  return sortThread();
 }
 if (action == 'cancel') {
  if (view && view.text.hidden) {
   view.text.hidden = false;
   article.querySelector('[data-action=edit]').focus();
  }
  return close(clicked.closest('form'));
 }
 if (action == 'reply' || action == 'report') {
  const wasOpen = clicked.getAttribute('aria-expanded') == 'true';
  if (form) close(form);
  if (wasOpen) return;
  form = action == 'reply' ? commentForm(view) : shortForm(words.reason, '', words.sendRep, async reason => {
   await api(`/comments/${view.comment.id}/report`, {method: 'POST', body: {reason}});
   const thanks = el('p', {class: 'mu', tabindex: -1}, words.reported);
   clicked.remove();
   form.replaceWith(thanks);
   thanks.focus();
  });
  clicked.setAttribute('aria-expanded', 'true');
  article.append(form);
 } else if (action == 'edit') {
  if (form) return;
  form = shortForm(words.text, own.text != null ? own.text : view.text.textContent, words.save, async text => {
   const [saved] = await api('/comments/' + view.comment.id, {method: 'PATCH', body: {text}, token: own.editToken});
   const pending = saved.status != 'approved';
   view.text.innerHTML = saved.comment.html; // sanitized by the service
   own.text = text;
   // An edit can send a published comment back to the queue (a pre site, say).
   if (pending && !article.classList.contains('pend')) {
    article.classList.add('pend');
    recount(-1);
   }
   own.pending = pending;
   remember('ownComments', view.comment.id);
   view.text.hidden = false;
   form.remove();
   tell(announce, pending ? words.held : words.saved);
   clicked.focus();
  });
  view.text.hidden = true;
  view.text.after(form);
 } else if (action == 'delete' && confirm(words.delq)) {
  try {
   await api('/comments/' + view.comment.id, {method: 'DELETE', token: own.editToken});
   delete ownComments[view.comment.id];
   remember('ownComments', view.comment.id);
   if (view.replies.childElementCount) article.replaceChildren(el('p', {class: 'mu'}, words.deleted));
   else view.item.remove();
   recount(article.classList.contains('pend') ? 0 : -1);
   tell(announce, words.gone);
   heading.focus();
  } catch (failure) {
   explain(failure, null, announce);
  }
 }
 if (form && form.isConnected) form.querySelector('textarea').focus();
});

// Permalinks: the browser cannot see into the shadow root, so scroll and highlight here.
const jump = () => {
 const match = /^#comment-(\d+)$/.exec(location.hash), target = match && root.getElementById('comment-' + match[1]);
 if (!target) return;
 root.querySelectorAll('.hl').forEach(highlighted => highlighted.classList.remove('hl'));
 target.classList.add('hl');
 target.scrollIntoView({block: 'center'});
 target.focus({preventScroll: true});
};
addEventListener('hashchange', jump);

// The thread (from the fragment, then from the service): drawn anew, the form added once.
// `summary` is the service's thread object: {count, locked, notify}.
const start = (summary, comments) => {
 performance.mark('causerie-render');
 list.replaceChildren();
 shown = {};
 draw(comments);
 total = summary.count;
 emailOffered = summary.notify;
 if (!started) {
  started = true;
  empty.textContent = words.empty;
  orderButton.textContent = words.newest;
  section.append(commentForm());
 }
 if (summary.locked) lock();
 sortThread();
 recount();
 performance.measure('causerie-render', 'causerie-render');
};
if (rendered) {
 start(rendered, [...fragment.querySelectorAll('[data-c]')].map(article =>
  ({...JSON.parse(article.dataset.c), renderedText: article.querySelector('.causerie-text')})));
}

(async () => {
 const query = new URLSearchParams({site, url: pageUrl, lang});
 if (options.thread) query.set('thread', options.thread);
 let data, response;
 try {
  [data, response] = await api('/threads?' + query);
  ticket = response.headers.get('Causerie-Ticket') || undefined;
 } catch (failure) {
  return tell(announce, failure.response ? words.err : words.net, true);
 }
 if (data.i18n && !started) words = data.i18n;
 // Unless a fragment of this very version is on screen already.
 if (!rendered || response.headers.get('ETag') != rendered.v) start(data.thread, data.comments);
 // A reader's own held comments are known only to their browser: ask about those alone.
 for (const id in shown) {
  if (ownComments[id] && ownComments[id].pending) {
   ownComments[id].pending = false;
   remember('ownComments', id);
  }
 }
 await Promise.all(Object.keys(ownComments).filter(id => ownComments[id].pending && ownComments[id].thread == thread).map(async id => {
  try {
   const [held] = await api('/comments/' + id, {token: ownComments[id].editToken});
   if (held.status == 'pending') place(held.comment, true);
   else if (held.status == 'approved') ownComments[id].pending = false;
   else delete ownComments[id];
  } catch (failure) {
   if (failure.response && failure.response.status < 429) delete ownComments[id];
  }
  remember('ownComments', id);
 }));
 recount();
 tick();
 jump();
})();
})();
