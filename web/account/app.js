// The customer hub page: plain ES module over the HTTP API (/v1/auth/login, /v1/me/*), live over
// Server-Sent Events. Text from the server is only ever set as textContent.
const state = { token: sessionStorage.getItem('flamingo.token'), unread: 0, source: undefined };
const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== false && value !== undefined) node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { ...(state.token ? { authorization: `Bearer ${state.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401 && path !== '/v1/auth/login') signOut();
  const data = response.status === 204 ? undefined : await response.json();
  if (!response.ok) throw Object.assign(new Error(data?.message ?? response.statusText), { status: response.status, data });
  return data;
}

const money = (cents, currency) => new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 100);
const when = (iso) => new Date(iso).toLocaleString();

function setBadge(count) {
  state.unread = count;
  const badge = $('badge');
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  badge.setAttribute('aria-label', `${count} unread`);
}

function show(view) {
  $('view').replaceChildren(view);
  for (const link of document.querySelectorAll('nav a')) {
    if (location.hash.startsWith(link.getAttribute('href'))) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

const statusChip = (status, id) => el('span', { class: 'status', 'data-status': status, id }, status);
function setStatus(chip, status) {
  chip.textContent = status;
  chip.dataset.status = status;
}

async function ordersView() {
  const { orders } = await api('GET', '/v1/me/orders?limit=50');
  const list = el('ul', { class: 'list', id: 'orders' });
  for (const order of orders) list.append(orderItem(order));
  return el('section', {}, el('h2', {}, 'Your orders'), orders.length ? list : el('p', { id: 'orders-empty' }, 'No orders yet.'));
}

function orderItem(order) {
  return el(
    'li',
    { 'data-order': order.id },
    el('a', { href: `#/orders/${order.id}` }, `Order ${order.id.slice(-8).toUpperCase()}`),
    ' ',
    statusChip(order.status),
    el('div', { class: 'muted' }, `${order.itemCount} item${order.itemCount === 1 ? '' : 's'} · ${money(order.totalCents, order.currency)} · placed ${when(order.placedAt)}`),
  );
}

async function orderView(id) {
  const order = await api('GET', `/v1/me/orders/${encodeURIComponent(id)}`);
  const timeline = el('ol', { class: 'timeline', id: 'timeline', 'data-order': order.id });
  for (const entry of order.timeline) timeline.append(timelineItem(entry));
  return el(
    'section',
    {},
    el('h2', {}, `Order ${order.id.slice(-8).toUpperCase()} `, statusChip(order.status, 'order-status')),
    el('p', { class: 'muted' }, `${money(order.totalCents, order.currency)} · placed ${when(order.placedAt)}`),
    el('h3', {}, 'What happened'),
    timeline,
  );
}

const timelineItem = (entry) => el('li', { 'data-type': entry.type, 'data-event': entry.eventId }, entry.sentence, ' ', el('time', { class: 'muted', datetime: entry.time }, when(entry.time)));

async function notificationsView() {
  const { notifications, unreadCount } = await api('GET', '/v1/me/notifications?limit=50');
  setBadge(unreadCount);
  const list = el('ul', { class: 'list', id: 'notifications' });
  for (const n of notifications) list.append(notificationItem(n));
  return el(
    'section',
    {},
    el('h2', {}, 'Notifications'),
    el('button', { type: 'button', id: 'read-all', onclick: () => api('POST', '/v1/me/notifications/read-all').then((r) => setBadge(r.unreadCount)) }, 'Mark all read'),
    el('p'),
    list,
  );
}

function notificationItem(n) {
  const item = el(
    'li',
    { 'data-notification': n.id, class: n.read ? '' : 'unread' },
    el('strong', {}, n.title),
    el('p', {}, n.body),
    el('div', { class: 'muted' }, when(n.createdAt), ' · ', el('a', { href: n.link.replace(/^\/account/, '') || '#/notifications' }, 'Open')),
  );
  if (!n.read) {
    item.append(
      el('button', { type: 'button', class: 'read', 'aria-label': `Mark “${n.title}” read`, onclick: () => api('POST', `/v1/me/notifications/${n.id}/read`).then((r) => setBadge(r.unreadCount)) }, 'Mark read'),
    );
  }
  return item;
}

function markRead(ids) {
  for (const id of ids) {
    const item = document.querySelector(`[data-notification="${CSS.escape(id)}"]`);
    item?.classList.remove('unread');
    item?.querySelector('button.read')?.remove();
  }
}

async function preferencesView() {
  const { categories } = await api('GET', '/v1/me/preferences');
  const form = el('form', { id: 'preferences', class: 'card' });
  for (const c of categories) {
    const id = `email-${c.category}`;
    form.append(
      el(
        'fieldset',
        {},
        el('legend', {}, c.category),
        el('div', {}, el('input', { type: 'checkbox', id: `inapp-${c.category}`, checked: true, disabled: true }), el('label', { for: `inapp-${c.category}` }, ' In-app inbox (always on)')),
        el(
          'div',
          {},
          el('input', { type: 'checkbox', id, name: c.category, checked: c.email, disabled: c.critical }),
          el('label', { for: id }, c.critical ? ' Email (critical: always sent)' : ' Email'),
        ),
      ),
    );
  }
  const saved = el('p', { role: 'status' });
  form.append(el('button', { type: 'submit' }, 'Save'), saved);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const changes = categories.filter((c) => !c.critical).map((c) => ({ category: c.category, email: form.elements[c.category].checked }));
    await api('PUT', '/v1/me/preferences', { categories: changes });
    saved.textContent = 'Saved.';
  });
  return el('section', {}, el('h2', {}, 'Preferences'), form);
}

async function route() {
  if (!state.token) return;
  const [, page, id] = location.hash.split('/');
  try {
    if (page === 'orders' && id) show(await orderView(decodeURIComponent(id)));
    else if (page === 'notifications') show(await notificationsView());
    else if (page === 'preferences') show(await preferencesView());
    else show(await ordersView());
  } catch (error) {
    show(el('p', { class: 'error', role: 'alert' }, error.status === 404 ? 'Not found.' : error.message));
  }
}

// Live updates: the token is traded for an HttpOnly session cookie (EventSource cannot send headers);
// the browser reconnects by itself, resuming after the last id it saw (Last-Event-ID).
async function connect() {
  state.source?.close();
  await api('POST', '/v1/auth/session');
  const source = new EventSource('/v1/me/stream');
  state.source = source;
  const on = (name, handler) => source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  source.addEventListener('open', () => {
    $('live').textContent = 'Live';
    void route();
  });
  on('timeline', ({ orderId, entry, order }) => {
    const timeline = $('timeline');
    if (timeline?.dataset.order === orderId && !timeline.querySelector(`[data-event="${CSS.escape(entry.eventId)}"]`)) timeline.append(timelineItem(entry));
    if (order) {
      for (const chip of document.querySelectorAll(`li[data-order="${CSS.escape(orderId)}"] .status`)) setStatus(chip, order.status);
      if (timeline?.dataset.order === orderId) setStatus($('order-status'), order.status);
      const list = $('orders');
      if (!list && $('orders-empty')) void route();
      else if (list && !list.querySelector(`[data-order="${CSS.escape(orderId)}"]`)) list.prepend(orderItem(order));
    }
  });
  on('notification', ({ notification, unreadCount }) => {
    setBadge(unreadCount);
    const list = $('notifications');
    if (list && !list.querySelector(`[data-notification="${CSS.escape(notification.id)}"]`)) list.prepend(notificationItem(notification));
  });
  on('read', ({ ids, unreadCount }) => {
    setBadge(unreadCount);
    markRead(ids);
  });
  source.addEventListener('error', () => {
    $('live').textContent = 'Reconnecting…';
    // The browser retries by itself; a refused stream (the session expired) needs a new session.
    if (source.readyState === EventSource.CLOSED && state.token) setTimeout(() => void connect().catch(() => {}), 1000);
  });
}

async function startSession() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  if (!location.hash) location.hash = '#/orders';
  const { unreadCount } = await api('GET', '/v1/me/notifications?limit=1');
  setBadge(unreadCount);
  await connect();
}

function signOut() {
  if (state.token) void fetch('/v1/auth/session', { method: 'DELETE' });
  state.token = null;
  state.source?.close();
  sessionStorage.removeItem('flamingo.token');
  $('nav').hidden = true;
  $('view').replaceChildren();
  $('sign-in').hidden = false;
  $('email').focus();
}

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    const { token } = await api('POST', '/v1/auth/login', { email: $('email').value, password: $('password').value });
    state.token = token;
    sessionStorage.setItem('flamingo.token', token);
    await startSession();
  } catch (error) {
    $('sign-in-error').textContent = error.status === 401 ? 'Wrong e-mail or password.' : error.message;
  }
});
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', () => void route());
if (state.token) void startSession().catch(signOut);
else signOut();
