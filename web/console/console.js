/**
 * The admin console: one page, a section per concern, routed by the URL's hash (#overview,
 * #events, …). Every read and act goes through the admin API (api.js) with the admin key.
 */
import { adminKey, api, query } from './api.js';
import { COLORS, el, fillTable, isoOf, lineChart, when } from './dom.js';

const $ = (selector) => document.querySelector(selector);
const VIEWS = ['overview', 'events', 'subscriptions', 'dead-letters', 'targets', 'keys', 'catalog'];

const status = $('#status');
function say(message, isError = false) {
  status.textContent = message;
  status.classList.toggle('error', isError);
}
/** Runs an action, reporting its failure (with the API's message) in the status line. */
async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    if (error.status === 401) {
      adminKey.clear();
      showSignIn();
    }
    say(error.message, true);
    return undefined;
  }
}

/* ---- Sign in ---------------------------------------------------------------------------- */

function showSignIn() {
  $('#nav').hidden = true;
  for (const view of VIEWS) document.getElementById(view).hidden = true;
  $('#sign-in-view').hidden = false;
  $('#admin-key').focus();
}

$('#sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  adminKey.set($('#admin-key').value.trim());
  try {
    await api('GET', '/v1/subscriptions');
  } catch (error) {
    adminKey.clear();
    say(error.status === 403 ? 'That key is not the admin key.' : error.message, true);
    return;
  }
  $('#admin-key').value = '';
  say('Signed in.');
  start();
});

$('#sign-out').addEventListener('click', () => {
  adminKey.clear();
  say('Signed out.');
  showSignIn();
});

/* ---- Routing ---------------------------------------------------------------------------- */

const loaders = {};
/** Shows the view the hash names (default: overview) and loads it; its name, or undefined when signed out. */
function route() {
  if (!adminKey.get()) return void showSignIn();
  const name = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
  for (const view of VIEWS) document.getElementById(view).hidden = view !== name;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  void loaders[name]();
  return name;
}

/** After a move between views, the keyboard starts at the new view's heading. */
window.addEventListener('hashchange', () => {
  const name = route();
  if (name) document.getElementById(`${name}-title`).focus();
});

function start() {
  $('#sign-in-view').hidden = true;
  $('#nav').hidden = false;
  route();
}

/** Every subscription, for the tables and the pickers. */
async function subscriptions() {
  return (await api('GET', '/v1/subscriptions')).subscriptions;
}

function fillPicker(select, subscriptionList, preferred) {
  const current = preferred ?? select.value;
  select.replaceChildren(...subscriptionList.map((s) => el('option', { value: s.name, selected: s.name === current }, `${s.name} (${s.deadLetters} dead)`)));
}

/* ---- Overview --------------------------------------------------------------------------- */

loaders.overview = () =>
  attempt(async () => {
    const [ready, overview] = await Promise.all([
      fetch('/readyz', { cache: 'no-store' }).then(async (r) => ({ ok: r.ok, body: await r.json().catch(() => ({})) })),
      api('GET', '/v1/overview'),
    ]);
    $('#health').replaceChildren(
      el('dt', {}, 'Engine'),
      el('dd', { id: 'health-engine' }, `${overview.engine}: ${ready.ok ? 'ready' : `not ready (${ready.body.message ?? 'no answer'})`}`),
      el('dt', {}, 'Log head'),
      el('dd', {}, ready.ok ? String(ready.body.head) : 'unknown'),
    );
    const samples = overview.samples.map((s) => ({ ...s, t: Date.parse(s.time) }));
    const to = Date.now();
    const from = to - 3_600_000;
    const rate = samples.slice(1).map((s, i) => [s.t, Math.max(0, s.head - samples[i].head) / Math.max(0.001, (s.t - samples[i].t) / 1000)]);
    $('#ingest-chart').replaceChildren(lineChart([{ name: 'ingest', points: rate }], { from, to, label: 'Ingest rate, events per second' }));
    const names = [...new Set(samples.flatMap((s) => Object.keys(s.lag)))].sort();
    const lagSeries = names.map((name) => ({ name, points: samples.filter((s) => name in s.lag).map((s) => [s.t, s.lag[name]]) }));
    $('#lag-chart').replaceChildren(lineChart(lagSeries, { from, to, label: 'Subscription lag, events' }));
    $('#lag-legend').replaceChildren(
      ...names.map((name, i) => {
        const swatch = el('span', { 'aria-hidden': 'true' });
        swatch.style.backgroundColor = COLORS[i % COLORS.length];
        return el('li', {}, swatch, name);
      }),
    );
  });
$('#overview-refresh').addEventListener('click', () => loaders.overview());

/* ---- Events ----------------------------------------------------------------------------- */

let eventQuery = {};
let eventNext = null;

async function loadEvents(append) {
  const page = await api('GET', `/v1/events${query({ ...eventQuery, afterSequence: append ? eventNext : undefined, limit: 100 })}`);
  const rows = page.events.map((event) =>
    el(
      'tr',
      { dataset: { event: event.id } },
      el('td', {}, String(event.sequence)),
      el('td', {}, when(event.recordedtime)),
      el('td', {}, event.type),
      el('td', {}, event.subject ?? ''),
      el('td', {}, el('button', { type: 'button', onclick: () => openEvent(event) }, `Open ${event.id}`)),
    ),
  );
  const body = $('#event-table').tBodies[0];
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  eventNext = page.next;
  $('#event-more').hidden = page.next === null;
  say(`${body.rows.length} events shown; the log head is ${page.head}.`);
}

loaders.events = () => attempt(() => loadEvents(false));
$('#event-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  eventQuery = { type: form.get('type').trim(), subject: form.get('subject').trim(), since: isoOf(form.get('since')), until: isoOf(form.get('until')) };
  void attempt(() => loadEvents(false));
});
$('#event-more').addEventListener('click', () => attempt(() => loadEvents(true)));

const matches = (pattern, type) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1)));

/** Which subscriptions match the event, and for each: handled, dead-lettered or not yet. */
async function handlersOf(event) {
  const list = (await subscriptions()).filter((s) => s.types.some((pattern) => matches(pattern, event.type)));
  return Promise.all(
    list.map(async (s) => {
      if (s.position < event.sequence) return { name: s.name, state: 'not yet handled' };
      if (s.deadLetters === 0) return { name: s.name, state: 'handled' };
      const { deadLetters } = await api('GET', `/v1/subscriptions/${encodeURIComponent(s.name)}/dead-letters${query({ afterSequence: event.sequence - 1, limit: 1 })}`);
      return { name: s.name, state: deadLetters[0]?.event.id === event.id ? 'dead-lettered' : 'handled' };
    }),
  );
}

function openEvent(event) {
  return attempt(async () => {
    const detail = $('#event-detail');
    detail.hidden = false;
    $('#event-detail-title').textContent = `${event.type} #${event.sequence}`;
    $('#event-json').textContent = JSON.stringify(event, null, 2);
    const traceId = /^[\da-f]{2}-([\da-f]{32})-/.exec(event.traceparent ?? '')?.[1];
    $('#event-trace').textContent = traceId ? `Trace ${traceId}` : 'No trace context.';
    const handlers = await handlersOf(event);
    $('#event-handlers').replaceChildren(
      ...(handlers.length === 0 ? [el('li', {}, 'No subscription takes this type.')] : handlers.map((h) => el('li', { dataset: { subscription: h.name, state: h.state } }, `${h.name}: ${h.state}`))),
    );
    $('#event-json').focus();
  });
}

/* ---- Subscriptions ---------------------------------------------------------------------- */

loaders.subscriptions = () =>
  attempt(async () => {
    const list = await subscriptions();
    fillTable(
      $('#subscription-table'),
      list.map((s) =>
        el(
          'tr',
          { dataset: { subscription: s.name } },
          el('th', { scope: 'row' }, s.name),
          el('td', {}, s.types.join(', ')),
          el('td', { class: 'position' }, String(s.position)),
          el('td', { class: 'lag' }, String(s.lag)),
          el('td', { class: 'scheduled' }, String(s.scheduled)),
          el('td', {}, String(s.inFlight)),
          el('td', {}, String(s.retrying)),
          el('td', {}, String(s.deadLetters)),
          el('td', {}, String(s.consumers)),
        ),
      ),
    );
    fillPicker($('#rewind select[name=subscription]'), list);
  });

$('#rewind').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const name = form.get('subscription');
  const to = form.get('to');
  let body;
  if (to === 'time') {
    if (!form.get('time')) return say('Rewind to a time: give the time.', true);
    body = { time: isoOf(form.get('time')) };
  } else if (to === 'sequence') {
    if (form.get('sequence') === '') return say('Rewind to a sequence: give the sequence.', true);
    body = { sequence: Number(form.get('sequence')) };
  } else body = { position: to };
  if (!confirm(`Rewind ${name}? Events from there are delivered again.`)) return;
  void attempt(async () => {
    const info = await api('POST', `/v1/subscriptions/${encodeURIComponent(name)}/rewind`, body);
    say(`${name} rewound: position ${info.position}, lag ${info.lag}.`);
    await loaders.subscriptions();
  });
});

/* ---- Dead letters ----------------------------------------------------------------------- */

const pickedSubscription = () => $('#dead-letter-pick select[name=subscription]').value;
const deadLetterPath = (name) => `/v1/subscriptions/${encodeURIComponent(name)}/dead-letters`;

async function showDeadLetters() {
  const name = pickedSubscription();
  if (!name) return fillTable($('#dead-letter-table'), []);
  const { deadLetters } = await api('GET', `${deadLetterPath(name)}?limit=1000`);
  fillTable(
    $('#dead-letter-table'),
    deadLetters.map((letter) =>
      el(
        'tr',
        { dataset: { event: letter.event.id } },
        el('td', {}, `${letter.event.id} (#${letter.event.sequence})`),
        el('td', {}, letter.event.type),
        el('td', {}, String(letter.attempts)),
        el('td', { class: 'error' }, letter.error),
        el('td', {}, when(letter.lastFailedAt)),
        el(
          'td',
          {},
          el('button', { type: 'button', onclick: () => inspect(letter) }, 'Inspect'),
          ' ',
          el('button', { type: 'button', onclick: () => act('POST', `${deadLetterPath(name)}/${encodeURIComponent(letter.event.id)}/retry`, 'Retried') }, 'Retry'),
          ' ',
          el('button', { type: 'button', class: 'danger', onclick: () => act('DELETE', `${deadLetterPath(name)}/${encodeURIComponent(letter.event.id)}`, 'Discarded', true) }, 'Discard'),
        ),
      ),
    ),
  );
  say(`${deadLetters.length} dead letters of ${name}.`);
}

function inspect(letter) {
  const pre = $('#dead-letter-json');
  pre.hidden = false;
  pre.textContent = JSON.stringify(letter, null, 2);
  pre.focus();
}

function act(method, path, done, destructive = false) {
  if (destructive && !confirm('Discard for good? The event stays in the log, but this subscription will not handle it.')) return undefined;
  return attempt(async () => {
    const answer = await api(method, path);
    $('#dead-letter-json').hidden = true;
    await refreshDeadLetters();
    say(`${done}: ${answer.retried ?? answer.discarded}.`);
  });
}

async function refreshDeadLetters() {
  fillPicker($('#dead-letter-pick select[name=subscription]'), await subscriptions());
  await showDeadLetters();
}

loaders['dead-letters'] = async () => {
  const select = $('#dead-letter-pick select[name=subscription]');
  await attempt(async () => {
    const list = await subscriptions();
    // First visit: the first subscription that has dead letters.
    fillPicker(select, list, select.value || list.find((s) => s.deadLetters > 0)?.name);
    await showDeadLetters();
  });
};
$('#dead-letter-pick').addEventListener('submit', (event) => {
  event.preventDefault();
  void attempt(showDeadLetters);
});
$('#retry-all').addEventListener('click', () => act('POST', `${deadLetterPath(pickedSubscription())}/retry`, 'Retried'));
$('#discard-all').addEventListener('click', () => act('DELETE', deadLetterPath(pickedSubscription()), 'Discarded', true));

/* ---- Targets ---------------------------------------------------------------------------- */

loaders.targets = () =>
  attempt(async () => {
    let targets;
    try {
      targets = (await api('GET', '/v1/targets')).targets;
    } catch (error) {
      if (error.status !== 404) throw error;
      $('#targets-absent').hidden = false;
      $('#target-table').hidden = true;
      return;
    }
    const lag = new Map((await subscriptions()).map((s) => [s.name, s.lag]));
    fillTable(
      $('#target-table'),
      targets.map((t) =>
        el(
          'tr',
          { dataset: { target: t.id } },
          el('th', { scope: 'row' }, t.name),
          el('td', {}, t.url),
          el('td', { class: 'target-status' }, t.statusReason ? `${t.status} (${t.statusReason})` : t.status),
          el('td', {}, `${Math.floor(t.limiter.available)} / ${t.rateLimit.limit} per ${(t.rateLimit.intervalMs ?? 1000) / 1000} s${t.limiter.pausedUntil ? `, held until ${when(t.limiter.pausedUntil)}` : ''}`),
          el('td', {}, t.circuit.state),
          el('td', {}, String(lag.get(t.subscription) ?? '')),
          el(
            'td',
            {},
            el('button', { type: 'button', onclick: () => targetAct(t.id, t.status === 'paused' ? 'resume' : 'pause') }, t.status === 'paused' ? 'Resume' : 'Pause'),
            ' ',
            el('button', { type: 'button', onclick: () => attempts(t.id) }, 'Attempts'),
          ),
        ),
      ),
    );
  });

const targetAct = (id, action) =>
  attempt(async () => {
    const target = await api('POST', `/v1/targets/${encodeURIComponent(id)}/${action}`);
    say(`${target.name}: ${target.status}.`);
    await loaders.targets();
  });

const attempts = (id) =>
  attempt(async () => {
    const list = (await api('GET', `/v1/targets/${encodeURIComponent(id)}/attempts?limit=50`)).attempts;
    const table = $('#attempt-table');
    table.hidden = false;
    fillTable(
      table,
      list.map((a) =>
        el('tr', {}, el('td', {}, when(a.startedAt)), el('td', {}, `${a.eventType} ${a.eventId} (attempt ${a.attempt})`), el('td', {}, a.outcome), el('td', {}, a.status ?? ''), el('td', {}, String(Math.round(a.durationMs))), el('td', { class: 'error' }, a.error ?? '')),
      ),
    );
  });

/* ---- Keys ------------------------------------------------------------------------------- */

loaders.keys = () =>
  attempt(async () => {
    const { keys } = await api('GET', '/v1/keys');
    fillTable(
      $('#key-table'),
      keys.map((k) =>
        el(
          'tr',
          { dataset: { key: k.id } },
          el('th', { scope: 'row' }, k.name),
          el('td', {}, `${k.prefix}…`),
          el('td', {}, k.producer ?? 'none'),
          el('td', {}, k.types.join(', ')),
          el('td', {}, when(k.createdAt)),
          el('td', {}, when(k.revokedAt)),
          el('td', {}, k.revokedAt ? '' : el('button', { type: 'button', class: 'danger', onclick: () => revoke(k) }, `Revoke ${k.name}`)),
        ),
      ),
    );
    const producers = $('#key-create select[name=producer]');
    if (producers.options.length === 1) {
      const catalog = await loadCatalog();
      const names = [...new Set(catalog.types.map((t) => t.producer))].sort();
      producers.append(...names.map((name) => el('option', { value: name }, name)));
    }
  });

const revoke = (key) => {
  if (!confirm(`Revoke ${key.name} (${key.prefix}…)? It stops working at once.`)) return undefined;
  return attempt(async () => {
    await api('DELETE', `/v1/keys/${encodeURIComponent(key.id)}`);
    say(`${key.name} revoked.`);
    await loaders.keys();
  });
};

$('#key-create').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const types = form.get('types').split(',').map((t) => t.trim()).filter(Boolean);
  const body = {
    ...(form.get('name').trim() ? { name: form.get('name').trim() } : {}),
    ...(form.get('producer') ? { producer: form.get('producer') } : {}),
    ...(types.length > 0 ? { types } : {}),
  };
  void attempt(async () => {
    const created = await api('POST', '/v1/keys', body);
    $('#key-value').textContent = created.key;
    $('#key-created').hidden = false;
    event.target.reset();
    say(`Key ${created.name} created.`);
    await loaders.keys();
  });
});

/* ---- Catalog ---------------------------------------------------------------------------- */

let catalogDocument;
async function loadCatalog() {
  catalogDocument ??= await api('GET', '/v1/catalog');
  return catalogDocument;
}

loaders.catalog = () =>
  attempt(async () => {
    const { types } = await loadCatalog();
    $('#catalog-list').replaceChildren(
      ...types.map((t) =>
        el(
          'details',
          { dataset: { type: t.type } },
          el('summary', {}, `${t.type} v${t.version} — ${t.producer}`),
          el('p', {}, t.description),
          el('p', {}, `Published by: ${t.publishedBy}. Subject: ${t.subject}. Secrets: ${t.secrets.join(', ') || 'none'}. Personal data: ${t.personalData.join(', ') || 'none'}.`),
          el('pre', { tabindex: 0 }, JSON.stringify(t.schema, null, 2)),
        ),
      ),
    );
  });

if (adminKey.get()) start();
else showSignIn();
