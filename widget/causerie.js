/* Causerie widget. Only the service's sanitized `html` is parsed as HTML; all else is text. */
(() => {
'use strict';
const D = document, S = D.currentScript;
if (!S || !S.src) return;
const o = S.dataset, SITE = o.site, API = new URL(S.src).origin + '/api', MAX = 3, now = Date.now;
// English from widget/i18n/en.json and the other languages' names, put here by the service;
// another language's table comes with the thread (or the counts). Adding a language = one small file.
const T = /*I18N*/{en: {n: {}}};
let lang = (o.lang || D.documentElement.lang || 'en').toLowerCase().split('-')[0], t = T.en;
if (!('__LANGS__' + ' en').split(' ').includes(lang)) lang = 'en';
const I = Intl, fmt = (s, a) => s.replace('{0}', a);
const plural = new I.PluralRules(lang), nf = new I.NumberFormat(lang);
const count = n => fmt(t.n[plural.select(n)] || t.n.other, nf.format(n));
const unit = (n, u) => new I.NumberFormat(lang, {style: 'unit', unit: u, unitDisplay: 'long'}).format(Math.max(1, Math.ceil(n)));
const dur = s => s > 90 ? unit(s / 60, 'minute') : unit(s, 'second');
const rtf = new I.RelativeTimeFormat(lang, {numeric: 'auto'}), dtf = new I.DateTimeFormat(lang, {dateStyle: 'long', timeStyle: 'short'});
const UNITS = {year: 31536e3, month: 2592e3, week: 604800, day: 86400, hour: 3600, minute: 60, second: 1};
const ago = d => {
 const s = (d - now()) / 1e3;
 for (const u in UNITS) if (Math.abs(s) >= UNITS[u] || u == 'second') return rtf.format(Math.round(s / UNITS[u]), u);
};

// DOM builder: attributes are set as strings and children appended as nodes or text, never parsed.
const mk = (e, a, kids) => {
 for (const k in a) if (a[k] != null && a[k] !== false) e.setAttribute(k, a[k] === true ? '' : a[k]);
 e.append(...kids.filter(x => x != null && x !== false));
 return e;
};
const h = (tag, a, ...kids) => mk(D.createElement(tag), a, kids);
const sv = (tag, a) => mk(D.createElementNS('http://www.w3.org/2000/svg', tag), a, []);
// Identicon: a symmetric 5x5 grid and a hue, read from the service's keyed hash (no request).
const avatar = hex => {
 hex = (hex || '').replace(/[^0-9a-f]/gi, '').padEnd(11, '0');
 const hue = parseInt(hex.slice(0, 3), 16) % 360, bits = parseInt(hex.slice(3, 11), 16);
 let d = 'M2 2h1v1h-1z';
 for (let i = 0; i < 15; i++) if (bits >> i & 1) d += `M${i % 3} ${i / 3 | 0}h1v1h-1zM${4 - i % 3} ${i / 3 | 0}h1v1h-1z`;
 const s = sv('svg', {viewBox: '0 0 5 5', class: 'av', 'aria-hidden': 'true'});
 s.append(sv('rect', {width: 5, height: 5, fill: `hsl(${hue} 40% 90%)`}), sv('path', {d, fill: `hsl(${hue} 55% 38%)`}));
 return s;
};

// Remembered in the host page's localStorage: the reader's name/email, commenter key and own comments' edit tokens.
const KEY = 'causerie:' + SITE, load = () => {
 let s;
 try { s = JSON.parse(localStorage.getItem(KEY)); } catch (e) { /* storage blocked */ }
 return s && typeof s == 'object' ? s : {};
}, store = load();
// One entry (or store.me) at a time, into the document as it is stored now: a token or draft
// another tab of the same site saved meanwhile is kept, not overwritten with this tab's copy.
const save = (n, k) => {
 const s = load(), v = store[n], o = s[n] = k == null ? v : s[n] || {};
 if (k != null) v[k] ? o[k] = v[k] : delete o[k];
 try { localStorage.setItem(KEY, JSON.stringify(s)); } catch (e) { /* storage blocked */ }
};
const mine = store.mine = store.mine || {};
for (const id in mine) if (!mine[id].p && mine[id].u < now()) delete mine[id], save('mine', id);
// Text being written, per thread and reply, kept for a week until sent: a reload or a wrong click loses nothing.
const drafts = store.d = store.d || {};
for (const k in drafts) if (!(drafts[k].u > now())) delete drafts[k], save('d', k);
const open = m => m && m.u > now();

const api = async (path, method, body, token) => {
 const headers = {};
 if (body) headers['Content-Type'] = 'application/json';
 if (token) headers.Authorization = 'Bearer ' + token;
 const r = await fetch(API + path, {method: method || 'GET', headers, body: body ? JSON.stringify(body) : null});
 const j = r.status == 204 ? {} : await r.json().catch(() => ({}));
 if (!r.ok) throw {r, j: j.error || {}};
 return [j, r];
};
const abs = u => new URL(u, location.href).href, here = location.href.split('#')[0];

// Listing pages: every [data-causerie-count] is filled from one request.
const cEls = [...D.querySelectorAll('[data-causerie-count]')], cUrl = e => abs(e.dataset.causerieCount);
if (cEls.length) {
 const q = new URLSearchParams({site: SITE, lang});
 [...new Set(cEls.map(cUrl))].slice(0, 100).forEach(u => q.append('url', u));
 api('/counts?' + q).then(([j]) => cEls.forEach(e => {
  const n = j.counts[cUrl(e)];
  if (j.n) t.n = j.n;
  if (n != null) e.textContent = count(n);
 }), () => {});
}

let host = D.getElementById('causerie');
if (!host) {
 if (cEls.length) return;
 host = h('div', {id: 'causerie'});
 D.body.contains(S) ? S.after(host) : D.body.append(host);
}
if (host.shadowRoot) return;
if (o.theme) host.dataset.theme = o.theme;
// A server-rendered thread (/embed/thread) is taken over at once, from what it holds.
const F = host.querySelector('[data-t]'), pre = F && JSON.parse(F.dataset.t);
if (pre && pre.lang == lang && F.dataset.i18n) t = JSON.parse(F.dataset.i18n);
// A constructed stylesheet needs no 'unsafe-inline' in the host page's CSP.
const root = host.attachShadow({mode: 'open'}), CSS = '__CSS__';
try {
 const sh = new CSSStyleSheet();
 sh.replaceSync(CSS);
 root.adoptedStyleSheets = [sh];
} catch (e) { root.append(h('style', {}, CSS)); }

const URL_ = o.url ? abs(o.url) : here, TH = o.thread || URL_, TITLE = (o.title || D.title).slice(0, 300) || undefined;
let ticket, total = 0, uid = 0, mail, els = {}, started, newest = (store.o || o.sort) == 'newest';
const head = h('h2', {id: 'ch', tabindex: -1}), live = h('p', {class: 'st', role: 'status'}),
 list = h('ol'), empty = h('p', {class: 'mu', hidden: true}), order = h('button', {type: 'button', 'data-a': 'sort', class: 'lnk'}),
 sec = h('section', {class: 'c', 'aria-labelledby': 'ch', lang}, h('div', {class: 'hd'}, head, order), list, empty, live);
root.append(sec);
const recount = d => {
 head.textContent = count(total += d || 0);
 empty.hidden = list.childElementCount > 0;
};
// Top-level comments in the reader's order (pinned ones first); replies stay in theirs.
const sort = () => {
 order.setAttribute('aria-pressed', newest);
 list.append(...[...list.children].map(li => els[li.firstChild.dataset.id]).sort((x, y) =>
  y.c.pinned - x.c.pinned || ((x.c.created_at + x.c.id > y.c.created_at + y.c.id) != newest ? 1 : -1)).map(e => e.li));
};
const say = (el, m, bad) => { el.textContent = m; el.classList.toggle('bad', !!bad); };
const btn = (a, label, cls, x) => h('button', {type: 'button', 'data-a': a, class: cls, 'aria-expanded': x}, label);

const node = (c, depth, to, pending) => {
 const m = mine[c.id], art = h('article', {id: 'comment-' + c.id, tabindex: -1, 'data-id': c.id,
  class: 'cm' + (c.pinned ? ' pin' : '') + (pending ? ' pend' : '')});
 const kids = h('ol'), li = h('li', {}, art, kids), e = els[c.id] = {c, li, art, kids, depth};
 if (c.deleted) art.append(h('p', {class: 'mu'}, t.deleted));
 else {
  const d = new Date(c.created_at), web = /^https?:\/\//i.test(c.website) && c.website, ok = open(m);
  art.append(h('header', {class: 'hd'}, avatar(c.avatar),
   web ? h('a', {class: 'au', href: web, rel: 'nofollow ugc noopener', target: '_blank'}, c.author || t.anon) : h('b', {class: 'au'}, c.author || t.anon),
   c.staff && h('span', {class: 'bg'}, t.staff), c.pinned && h('span', {class: 'bg'}, t.pinned),
   to && h('span', {class: 'mu'}, fmt(t.to, to)),
   h('a', {class: 'mu', href: here + '#comment-' + c.id}, h('time', {datetime: c.created_at, title: dtf.format(d)}, ago(d))),
   c.edited_at && h('span', {class: 'mu', title: dtf.format(new Date(c.edited_at))}, '(' + t.edited + ')')),
   e.tx = h('div', {class: 'tx'}));
  // Sanitized by the service: the one place HTML is trusted (a taken-over fragment's is copied as nodes).
  c.x ? e.tx.append(...c.x.cloneNode(1).childNodes) : e.tx.innerHTML = c.html;
  art.append(pending ? h('p', {class: 'pm'}, t.pending) : '', h('div', {class: 'ac'},
   !pending && btn('reply', t.reply, 'rp', 'false'),
   ok && btn('edit', t.edit), ok && btn('del', t.del), ok && h('span', {class: 'mu', 'data-u': m.u}),
   !m && btn('rep', t.report, '', 'false')));
 }
 return e;
};

// Deep replies stay at depth MAX, marked with the name they answer.
const place = (c, pending) => {
 const p = els[c.parent_id], depth = p ? p.depth + 1 : 0, e = node(c, depth, depth > MAX ? p.c.author || t.anon : null, pending);
 !p ? (list.append(e.li), sort()) : p.depth < MAX ? p.kids.append(e.li) : p.li.after(e.li);
 return e;
};

const draw = comments => {
 const kids = {}, by = {};
 comments.forEach(c => by[c.id] = c);
 // Listed backwards, and walked with a stack, not recursion: an imported
 // thread may be thousands of replies deep.
 [...comments].reverse().forEach(c => {
  const p = by[c.parent_id] ? c.parent_id : 0;
  (kids[p] = kids[p] || []).push(c);
 });
 const st = (kids[0] || []).sort((a, b) => a.pinned - b.pinned);
 for (let c; c = st.pop();) {
  const p = els[c.parent_id], e = node(c, p ? p.depth + 1 : 0, p && p.depth >= MAX ? p.c.author || t.anon : null);
  (!p ? list : p.depth < MAX ? p.kids : p.li.parentNode).append(e.li);
  (kids[c.id] || []).forEach(k => st.push(k));
 }
};

const tick = () => root.querySelectorAll('[data-u]').forEach(s => {
 const left = (s.dataset.u - now()) / 1e3;
 if (left > 0) return s.textContent = fmt(t.left, dur(left));
 s.parentNode.querySelectorAll('[data-a=edit],[data-a=del]').forEach(b => b.remove());
 s.remove();
});
setInterval(tick, 15e3);

const lock = () => {
 sec.classList.add('lk');
 root.querySelectorAll('.f').forEach(f => f.remove());
 say(live, t.locked);
};

// What the service said went wrong, in the reader's language wherever the case is known.
const fail = (x, f, st) => {
 const r = x.r, j = x.j || {}, fields = j.fields || {};
 let m = lang == 'en' && j.message || t.err, first;
 if (!r) m = t.net;
 else if (r.status == 429) m = fmt(t.rate, dur(r.headers.get('Retry-After') || 60));
 else if (j.code == 'thread_locked') return lock();
 else if (j.code == 'banned') m = t.banned;
 else if (/edit_window|not_editable/.test(j.code)) m = t.closed;
 else for (const k in fields) {
  const v = fields[k], el = f && f.elements[/notify|follow/.test(k) ? 'email' : k];
  if (!el || !el.id) { m = v; continue; }
  el.setAttribute('aria-invalid', 'true');
  root.getElementById(el.id + 'e').textContent = /required/i.test(v) ? t.req : el != f.elements[k] ? t.needmail : /email|website/.test(k) ? t.bad : v;
  first = first || el;
 }
 say(st, first ? t.fix : m, 1);
 first && first.focus();
};

const ck = (name, label) => h('p', {class: 'ck'}, h('input', {type: 'checkbox', name, id: 'n' + ++uid}), h('label', {for: 'n' + uid}, label));
const field = (name, label, a, tag) => {
 const id = 'f' + ++uid, hint = a.hint;
 return h('p', {class: 'fl'}, h('label', {for: id}, label),
  h(tag || 'input', {...a, id, name, hint: null, 'aria-describedby': id + 'e' + (hint ? ' ' + id + 'h' : '')}),
  hint && h('small', {id: id + 'h', class: 'mu'}, hint), h('span', {class: 'er', id: id + 'e'}));
};

const form = parent => {
 const me = store.me || {}, st = h('p', {class: 'st', role: 'status'}), sb = h('button', {class: 'sb'}, t.send);
 const f = h('form', {class: 'f', novalidate: true},
  parent && h('h3', {}, fmt(t.replyTo, parent.c.author || t.anon)),
  h('div', {class: 'row'},
   field('author', t.name, {autocomplete: 'name', maxlength: 80, required: true, value: me.a}),
   field('email', t.email, {type: 'email', autocomplete: 'email', maxlength: 254, value: me.e}),
   field('website', t.web, {type: 'url', autocomplete: 'url', maxlength: 500, value: me.w})),
  field('text', t.text, {rows: 4, required: true, hint: t.hint}, 'textarea'),
  // Reply emails (and the page's new comments) are offered only by a service that sends email.
  mail && ck('notify', t.notify), mail && ck('follow', t.follow),
  h('div', {class: 'hp', 'aria-hidden': 'true'}, h('label', {}, t.hp, h('input', {name: 'hp', tabindex: -1, autocomplete: 'off'}))),
  h('p', {class: 'bt'}, sb, parent && btn('cancel', t.cancel, 'lnk')), st);
 const dk = TH + ' ' + (parent ? parent.c.id : ''), ta = f.elements.text;
 ta.value = (drafts[dk] || {}).x || '';
 ta.addEventListener('input', () => {
  if (ta.value.trim()) drafts[dk] = {x: ta.value, u: now() + 6048e5};
  else delete drafts[dk];
  save('d', dk);
 });
 f.addEventListener('submit', async ev => {
  ev.preventDefault();
  if (sb.disabled) return;
  const E = f.elements, v = k => E[k].value.trim() || undefined, miss = {};
  f.querySelectorAll('[aria-invalid]').forEach(el => { el.removeAttribute('aria-invalid'); root.getElementById(el.id + 'e').textContent = ''; });
  say(st, '');
  const body = {site: SITE, url: URL_, thread: o.thread, title: TITLE, parent_id: parent && parent.c.id,
   author: v('author'), email: v('email'), website: v('website'), text: E.text.value, notify: (E.notify || {}).checked, follow: (E.follow || {}).checked, ticket, hp: E.hp.value, lang, commenter: store.c};
  if (!body.author) miss.author = t.req;
  if (!v('text')) miss.text = t.req;
  if ((body.notify || body.follow) && !body.email) miss.notify = t.needmail;
  if (Object.keys(miss).length) return fail({r: 1, j: {fields: miss}}, f, st);
  sb.disabled = true;
  sb.textContent = t.sending;
  try {
   const [j] = await api('/comments', 'POST', body), c = j.comment, pend = j.status != 'approved';
   store.me = {a: body.author, e: body.email, w: body.website};
   store.c = j.commenter; // proves this browser wrote earlier comments (trust, reply emails)
   save('c');
   mine[c.id] = {k: j.edit_token, u: Date.parse(j.editable_until), x: body.text, p: pend, th: TH};
   delete drafts[dk];
   save('me');
   save('mine', c.id);
   save('d', dk);
   E.text.value = '';
   const e = place(c, pend);
   recount(!pend);
   tick();
   say(live, (pend ? t.held : t.posted) + (j.notify == 'confirm' ? ' ' + t.confirm : ''));
   parent && close(f);
   e.art.focus();
  } catch (x) {
   fail(x, f, st);
  }
  sb.disabled = false;
  sb.textContent = t.send;
 });
 return f;
};

const close = f => {
 const b = f.parentNode.querySelector('[aria-expanded=true]');
 f.remove();
 if (b) { b.setAttribute('aria-expanded', 'false'); b.focus(); }
};

// A one-textarea form (edit, report): `send` does the request and the follow-up.
const small = (label, val, ok, send) => {
 const id = 'f' + ++uid, st = h('p', {class: 'st', role: 'status'}), ta = h('textarea', {id, rows: 3, required: true}, val),
  sb = h('button', {class: 'sb'}, ok),
  f = h('form', {novalidate: true}, h('label', {for: id}, label), ta, h('p', {class: 'bt'}, sb, btn('cancel', t.cancel, 'lnk')), st);
 f.addEventListener('submit', async ev => {
  ev.preventDefault();
  if (sb.disabled) return;
  if (!ta.value.trim()) return say(st, t.req, 1);
  sb.disabled = true;
  try { await send(ta.value); } catch (x) { fail(x, f, st); }
  sb.disabled = false;
 });
 return f;
};

sec.addEventListener('click', async ev => {
 const b = ev.target.closest('button[data-a]');
 if (!b) return;
 const a = b.dataset.a, art = b.closest('article'), e = art && els[art.dataset.id], m = e && mine[e.c.id];
 let f = art && art.querySelector('form');
 if (a == 'sort') {
  store.o = (newest = !newest) ? 'newest' : 'oldest';
  save('o');
  return sort();
 }
 if (a == 'cancel') {
  if (e && e.tx.hidden) { e.tx.hidden = false; art.querySelector('[data-a=edit]').focus(); }
  return close(b.closest('form'));
 }
 if (a == 'reply' || a == 'rep') {
  const same = b.getAttribute('aria-expanded') == 'true';
  if (f) close(f);
  if (same) return;
  f = a == 'reply' ? form(e) : small(t.reason, '', t.sendRep, async reason => {
   await api(`/comments/${e.c.id}/report`, 'POST', {reason});
   const p = h('p', {class: 'mu', tabindex: -1}, t.reported);
   b.remove();
   f.replaceWith(p);
   p.focus();
  });
  b.setAttribute('aria-expanded', 'true');
  art.append(f);
 } else if (a == 'edit') {
  if (f) return;
  f = small(t.text, m.x != null ? m.x : e.tx.textContent, t.save, async text => {
   const [j] = await api('/comments/' + e.c.id, 'PATCH', {text}, m.k), p = j.status != 'approved';
   e.tx.innerHTML = j.comment.html; // sanitized by the service
   m.x = text;
   // An edit can send a published comment back to the queue (a pre site, say).
   if (p > art.classList.contains('pend')) art.classList.add('pend'), recount(-1);
   m.p = p;
   save('mine', e.c.id);
   e.tx.hidden = false;
   f.remove();
   say(live, p ? t.held : t.saved);
   b.focus();
  });
  e.tx.hidden = true;
  e.tx.after(f);
 } else if (a == 'del' && confirm(t.delq)) {
  try {
   await api('/comments/' + e.c.id, 'DELETE', 0, m.k);
   delete mine[e.c.id];
   save('mine', e.c.id);
   e.kids.childElementCount ? art.replaceChildren(h('p', {class: 'mu'}, t.deleted)) : e.li.remove();
   recount(art.classList.contains('pend') ? 0 : -1);
   say(live, t.gone);
   head.focus();
  } catch (x) { fail(x, 0, live); }
 }
 f && f.isConnected && f.querySelector('textarea').focus();
});

// Permalinks: the browser cannot see into the shadow root, so scroll and highlight here.
const jump = () => {
 const id = /^#comment-(\d+)$/.exec(location.hash), a = id && root.getElementById('comment-' + id[1]);
 if (!a) return;
 root.querySelectorAll('.hl').forEach(x => x.classList.remove('hl'));
 a.classList.add('hl');
 a.scrollIntoView({block: 'center'});
 a.focus({preventScroll: true});
};
addEventListener('hashchange', jump);

// The thread (from the fragment, then from the service): drawn anew, the form added once.
const start = (th, comments) => {
 performance.mark('causerie-render');
 list.replaceChildren();
 els = {};
 draw(comments);
 total = th.count;
 mail = th.notify;
 if (!started) {
  started = empty.textContent = t.empty;
  order.textContent = t.newest;
  sec.append(form());
 }
 th.locked && lock();
 sort();
 recount();
 performance.measure('causerie-render', 'causerie-render');
};
pre && start(pre, [...F.querySelectorAll('[data-c]')].map(a => ({...JSON.parse(a.dataset.c), x: a.querySelector('.causerie-text')})));

(async () => {
 const q = new URLSearchParams({site: SITE, url: URL_, lang});
 if (o.thread) q.set('thread', o.thread);
 let j, r;
 try {
  [j, r] = await api('/threads?' + q);
  ticket = r.headers.get('Causerie-Ticket') || undefined;
 } catch (x) {
  return say(live, x.r ? t.err : t.net, 1);
 }
 if (j.i18n && !started) t = j.i18n;
 // A fragment of this very version is on screen already.
 pre && r.headers.get('ETag') == pre.v || start(j.thread, j.comments);
 // A reader's own held comments are known only to their browser: ask about those alone.
 for (const id in els) if (mine[id] && mine[id].p) mine[id].p = false, save('mine', id);
 await Promise.all(Object.keys(mine).filter(id => mine[id].p && mine[id].th == TH).map(async id => {
  try {
   const [b] = await api('/comments/' + id, 0, 0, mine[id].k);
   b.status == 'pending' ? place(b.comment, 1) : b.status == 'approved' ? mine[id].p = false : delete mine[id];
  } catch (x) {
   if (x.r && x.r.status < 429) delete mine[id];
  }
  save('mine', id);
 }));
 recount();
 tick();
 jump();
})();
})();
