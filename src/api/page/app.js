// The operator page: relays and their health (refreshed every few seconds), recent state
// changes, and the explain form. Plain DOM, no framework; all network text via textContent.

import { ApiError, getJson } from './api.js';
import { h, replace, setAttr, setClass, setText, syncKeyed } from './dom.js';
import {
  DASH,
  formatBps,
  formatClock,
  formatDuration,
  formatInt,
  formatMs,
  formatPercent,
  formatSignalValue,
  formatWhen,
  parseTime,
  stateClass,
  stateSourceText,
} from './format.js';

const $ = (id) => {
  const el = document.querySelector(`[data-testid="${id}"]`);
  if (!el) throw new Error(`page is missing [data-testid="${id}"]`);
  return el;
};

/** Refresh period: ?refresh=<seconds> (1..300), 5 s by default. */
const REFRESH_MS = (() => {
  const s = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isFinite(s) && s >= 1 && s <= 300 ? s * 1000 : 5000;
})();
const MAX_BACKOFF_MS = 60_000;
const MAX_TRANSITIONS = 50;

// ---------------------------------------------------------------- clock

/** Server clock minus ours, from the Date header; ignored within its one-second precision. */
let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;
function noteServerTime(date) {
  if (date === null) return;
  const off = date + 500 - Date.now();
  clockOffset = Math.abs(off) > 2000 ? off : 0;
}

// ---------------------------------------------------------------- badges

function badge(state) {
  const el = h('span', { class: 'badge' });
  updateBadge(el, state);
  return el;
}

function updateBadge(el, state) {
  const s = typeof state === 'string' && state ? state : 'unknown';
  setText(el, s);
  const cls = `badge ${stateClass(s)}`;
  if (el.className !== cls) el.className = cls;
}

// ---------------------------------------------------------------- relays

/** Per row, the nodes a refresh updates. */
const rowParts = new WeakMap();

function createRelayRow() {
  const p = {
    name: h('span', { class: 'relay-name', 'data-testid': 'relay-name' }),
    meta: h('span', { class: 'meta', 'data-testid': 'relay-meta' }),
    ipv4: h('span', { class: 'addr' }),
    ipv6: h('span', { class: 'addr' }),
    badge: h('span', { class: 'badge', 'data-testid': 'relay-state' }),
    source: h('span', { class: 'meta', 'data-testid': 'relay-state-source' }),
    reason: h('span', { class: 'reason', 'data-testid': 'relay-reason' }),
    since: h('time', { 'data-testid': 'relay-since' }),
    util: h('span', { 'data-testid': 'relay-utilization' }),
    bar: h('span', { class: 'bar-fill' }),
    barWrap: null,
    capacity: h('span', { class: 'meta' }),
    rtt: h('span', { 'data-testid': 'relay-rtt' }),
    signals: h('ul', { class: 'signals', 'data-testid': 'relay-signals' }),
    noSignals: h('span', { class: 'meta nowrap', text: 'no signals' }),
  };
  p.barWrap = h('span', { class: 'bar', 'aria-hidden': 'true' }, p.bar);
  const tr = h(
    'tr',
    { 'data-testid': 'relay-row' },
    h('th', { scope: 'row' }, p.name, p.meta),
    h('td', { class: 'addrs' }, p.ipv4, p.ipv6),
    h('td', { class: 'state' }, h('span', { class: 'state-line' }, p.badge, p.source), p.reason),
    h('td', { class: 'since' }, p.since),
    h('td', { class: 'num' }, p.util, p.barWrap, p.capacity),
    h('td', { class: 'num' }, p.rtt),
    h('td', {}, p.signals, p.noSignals),
  );
  rowParts.set(tr, p);
  return tr;
}

function updateRelayRow(tr, r, now) {
  const p = rowParts.get(tr);
  setAttr(tr, 'data-relay', String(r.name ?? ''));
  setAttr(tr, 'data-state', String(r.state ?? 'unknown'));
  setText(p.name, r.name ?? '?');
  setText(p.meta, [r.kind, r.origin === 'traffic-ops' ? 'Traffic Ops' : r.origin, r.precedence != null ? `precedence ${r.precedence}` : null].filter(Boolean).join(' · '));
  setText(p.ipv4, r.ipv4 ?? '');
  setText(p.ipv6, r.ipv6 ?? '');
  if (!r.ipv4 && !r.ipv6) setText(p.ipv4, DASH);

  updateBadge(p.badge, r.state);
  setText(p.source, stateSourceText(r.stateSource));
  setText(p.reason, r.reason ?? '');

  const since = parseTime(r.since);
  setText(p.since, formatWhen(since, now));
  setAttr(p.since, 'datetime', since === null ? null : r.since);
  setAttr(p.since, 'title', since === null ? null : r.since);

  const cap = r.capacity ?? {};
  const u = typeof cap.utilization === 'number' && Number.isFinite(cap.utilization) ? cap.utilization : null;
  setText(p.util, formatPercent(u));
  p.barWrap.hidden = u === null;
  const width = `${Math.round(Math.min(1, Math.max(0, u ?? 0)) * 100)}%`;
  if (p.bar.style.width !== width) p.bar.style.width = width;
  setClass(p.barWrap, 'full', u !== null && u >= 0.9);
  const capText = [cap.maxTunnels != null ? `of ${formatInt(cap.maxTunnels)} tunnels` : null, cap.linkBps != null ? `link ${formatBps(cap.linkBps)}` : null]
    .filter(Boolean)
    .join(' · ');
  setText(p.capacity, capText);

  setText(p.rtt, formatMs(r.rttMs));

  const signals = Array.isArray(r.signals) ? r.signals : [];
  syncKeyed(p.signals, signals, (s) => `${s.source}/${s.kind}`, createSignal, updateSignal);
  p.signals.hidden = signals.length === 0;
  p.noSignals.hidden = signals.length !== 0;
}

const signalParts = new WeakMap();

function createSignal() {
  const p = {
    what: h('span', { class: 'sig-what' }),
    value: h('span', { class: 'sig-value' }),
    age: h('span', { class: 'meta' }),
    stale: h('span', { class: 'tag-stale', text: 'stale' }),
  };
  const li = h('li', { 'data-testid': 'signal' }, p.what, ' = ', p.value, ' ', p.age, ' ', p.stale);
  signalParts.set(li, p);
  return li;
}

function updateSignal(li, s) {
  const p = signalParts.get(li);
  const stale = s.stale === true;
  setAttr(li, 'data-stale', String(stale));
  setAttr(li, 'data-source', String(s.source ?? ''));
  setAttr(li, 'data-kind', String(s.kind ?? ''));
  setClass(li, 'stale', stale);
  setText(p.what, `${s.source ?? '?'}/${s.kind ?? '?'}`);
  setText(p.value, formatSignalValue(s.kind, s.value));
  const age = typeof s.ageMs === 'number' ? `${formatDuration(s.ageMs)} old` : '';
  const max = typeof s.maxAgeMs === 'number' ? `, counts for ${formatDuration(s.maxAgeMs)}` : '';
  setText(p.age, `(${age}${max})`);
  setAttr(li, 'title', typeof s.at === 'string' ? `observed ${s.at}` : null);
  p.stale.hidden = !stale;
}

function renderRelays(data, now) {
  const relays = data.relays;
  syncKeyed($('relays-body'), relays, (r) => r.name, createRelayRow, (tr, r) => updateRelayRow(tr, r, now));
  $('relays-empty').hidden = relays.length !== 0;
  relayGeneration = typeof data.generation === 'number' ? data.generation : null;
  renderTrafficOps(data.inventory?.trafficOps ?? null, now);
  renderCollectors(Array.isArray(data.collectors) ? data.collectors : [], now);
  renderTransitions(Array.isArray(data.transitions) ? data.transitions : [], now);
  noteExplainStaleness();
}

function renderTrafficOps(to, now) {
  const el = $('trafficops-status');
  el.hidden = !to;
  if (!to) return;
  const ok = parseTime(to.lastSuccessAt);
  const errAt = parseTime(to.lastErrorAt);
  const failing = (to.consecutiveFailures ?? 0) > 0 || (errAt !== null && (ok === null || errAt > ok));
  const count = Array.isArray(to.relays) ? to.relays.length : null;
  const parts = [`Traffic Ops: ${count === null ? '?' : count} relay${count === 1 ? '' : 's'}`];
  parts.push(`last success ${ok === null ? 'never' : formatWhen(ok, now)}`);
  if (to.fromDisk) parts.push('inventory loaded from disk');
  if (to.lastError) {
    const n = to.consecutiveFailures ?? 0;
    parts.push(`last error ${errAt === null ? '' : formatWhen(errAt, now) + ': '}${to.lastError}${n > 0 ? ` (${n} failure${n === 1 ? '' : 's'} in a row)` : ''}`);
  }
  setText(el, parts.join(' · '));
  setClass(el, 'failing', failing);
}

// ---------------------------------------------------------------- collectors

const sessionParts = new WeakMap();

function createSession() {
  const p = {
    name: h('span', { class: 'relay-name', 'data-testid': 'session-name' }),
    target: h('span', { class: 'meta addr', 'data-testid': 'session-target' }),
    mode: h('td', { 'data-testid': 'session-mode' }),
    connected: h('td', { 'data-testid': 'session-connected' }),
    last: h('time', { 'data-testid': 'session-last' }),
    errors: h('td', { class: 'num', 'data-testid': 'session-errors' }),
    reconnects: h('td', { class: 'num', 'data-testid': 'session-reconnects' }),
    error: h('td', { class: 'reason', 'data-testid': 'session-error' }),
  };
  const tr = h('tr', { 'data-testid': 'session-row' }, h('th', { scope: 'row' }, p.name, p.target), p.mode, p.connected, h('td', {}, p.last), p.errors, p.reconnects, p.error);
  sessionParts.set(tr, p);
  return tr;
}

function updateSession(tr, s, now) {
  const p = sessionParts.get(tr);
  setAttr(tr, 'data-collector', String(s.collector ?? ''));
  setAttr(tr, 'data-relay', String(s.relay ?? ''));
  setAttr(tr, 'data-connected', String(s.connected === true));
  setText(p.name, `${s.collector ?? '?'} · ${s.relay ?? DASH}`);
  setText(p.target, s.target ?? '');
  setText(p.mode, [s.mode, s.synced === true ? 'synced' : s.synced === false ? 'not synced' : null].filter(Boolean).join(' · '));
  setAttr(p.mode, 'title', s.modeReason ?? null);
  const since = parseTime(s.since);
  setText(p.connected, `${s.connected ? 'yes' : 'no'}${since === null ? '' : `, ${formatWhen(since, now)}`}`);
  const last = parseTime(s.lastMessageAt);
  setText(p.last, formatWhen(last, now));
  setAttr(p.last, 'datetime', last === null ? null : s.lastMessageAt);
  setText(p.errors, formatInt(s.errors));
  setText(p.reconnects, formatInt(s.reconnects));
  const errAt = parseTime(s.lastErrorAt);
  setText(p.error, s.lastError ? `${errAt === null ? '' : formatWhen(errAt, now) + ': '}${s.lastError}` : '');
}

function renderCollectors(collectors, now) {
  const section = $('collectors');
  section.hidden = collectors.length === 0;
  const sessions = collectors.flatMap((c) => (Array.isArray(c.sessions) ? c.sessions.map((s) => ({ ...s, collector: c.collector, modeReason: s.modeReason ?? c.modeReason })) : []));
  syncKeyed($('collectors-body'), sessions, (s) => `${s.collector}|${s.relay}|${s.target}`, createSession, (tr, s) => updateSession(tr, s, now));
  setText(
    $('collectors-mode'),
    collectors.map((c) => `${c.collector}: ${c.mode}${c.modeReason ? ` (${c.modeReason})` : ''}, ${c.sessions?.length ?? 0} session${c.sessions?.length === 1 ? '' : 's'}`).join(' · '),
  );
}

// ---------------------------------------------------------------- transitions

const transitionParts = new WeakMap();

function createTransition() {
  const p = {
    time: h('time', { 'data-testid': 'transition-time' }),
    relay: h('td', { 'data-testid': 'transition-relay', class: 'relay-name' }),
    from: badge('unknown'),
    to: badge('unknown'),
    reason: h('td', { 'data-testid': 'transition-reason', class: 'reason' }),
  };
  const tr = h(
    'tr',
    { 'data-testid': 'transition-row' },
    h('td', {}, p.time),
    p.relay,
    h('td', { 'data-testid': 'transition-change', class: 'change' }, p.from, ' → ', p.to),
    p.reason,
  );
  transitionParts.set(tr, p);
  return tr;
}

function updateTransition(tr, t, now) {
  const p = transitionParts.get(tr);
  const at = parseTime(t.at);
  setText(p.time, formatWhen(at, now));
  setAttr(p.time, 'datetime', at === null ? null : t.at);
  setAttr(p.time, 'title', at === null ? null : t.at);
  setAttr(tr, 'data-relay', String(t.relay ?? ''));
  setText(p.relay, t.relay ?? '?');
  updateBadge(p.from, t.from);
  updateBadge(p.to, t.to);
  setText(p.reason, t.reason ?? '');
}

function renderTransitions(list, now) {
  const shown = list.slice(0, MAX_TRANSITIONS);
  syncKeyed($('transitions-body'), shown, (t) => `${t.at}|${t.relay}|${t.from}|${t.to}`, createTransition, (tr, t) => updateTransition(tr, t, now));
  $('transitions-empty').hidden = shown.length !== 0;
}

// ---------------------------------------------------------------- refresh loop

let timer = null;
let inFlight = false;
let failures = 0;
let lastOkAt = null;
let relayGeneration = null;

function showError(el, message) {
  // Only touch the live region when the message changes, so it is announced once.
  setText(el, message ?? '');
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (document.hidden) return; // resumed on visibilitychange
  const delay = failures ? Math.min(MAX_BACKOFF_MS, REFRESH_MS * 2 ** (failures - 1)) : REFRESH_MS;
  timer = setTimeout(refresh, delay);
}

/** One request at a time: a refresh asked for while one runs is dropped (the loop continues). */
async function refresh() {
  if (inFlight) return;
  clearTimeout(timer);
  timer = null;
  inFlight = true;
  const updated = $('updated-at');
  try {
    const { body, serverNow: date } = await getJson('/api/v1/relays');
    if (!body || !Array.isArray(body.relays)) throw new ApiError('unexpected answer from /api/v1/relays (no relays list)');
    noteServerTime(date);
    renderRelays(body, serverNow());
    failures = 0;
    lastOkAt = Date.now();
    showError($('relays-error'), null);
    setText(updated, `Updated ${formatClock(lastOkAt)}${relayGeneration === null ? '' : ` · generation ${relayGeneration}`}`);
    setAttr(updated, 'title', new Date(lastOkAt).toISOString());
    setClass(updated, 'stale', false);
  } catch (err) {
    failures++;
    const msg = err instanceof Error ? err.message : String(err);
    showError($('relays-error'), `Cannot load relays: ${msg}`);
    setText(updated, lastOkAt === null ? 'Not loaded yet: retrying' : `Update failed; showing data from ${formatClock(lastOkAt)}`);
    setClass(updated, 'stale', true);
  } finally {
    inFlight = false;
    schedule();
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && timer === null && !inFlight) refresh();
});

// ---------------------------------------------------------------- explain

let explainAbort = null;
let explainGeneration = null;

function dlRow(term, ...value) {
  return [h('dt', { text: term }), h('dd', {}, ...value)];
}

function relayTag(name) {
  return h('span', { class: 'meta' }, ` (${name ?? '?'})`);
}

function renderExplain(x) {
  const ans = x.answer ?? {};
  const addr = (rec, testid) =>
    rec && typeof rec === 'object'
      ? h('span', { 'data-testid': testid }, h('span', { class: 'addr', text: rec.address ?? '?' }), relayTag(rec.relay))
      : h('span', { 'data-testid': testid, class: 'meta', text: 'none' });
  const amt = Array.isArray(ans.amtrelay) ? ans.amtrelay : [];
  const rules = x.rules ?? {};

  const answer = h(
    'dl',
    { class: 'answer' },
    dlRow('Query', h('span', { class: 'addr', 'data-testid': 'explain-name', text: x.name ?? '?' })),
    dlRow('TTL', `${formatInt(ans.ttl)} s`),
    dlRow('A', addr(ans.a, 'explain-a')),
    dlRow('AAAA', addr(ans.aaaa, 'explain-aaaa')),
    dlRow(
      'AMTRELAY',
      amt.length
        ? h('ul', { class: 'plain', 'data-testid': 'explain-amtrelay' }, amt.map((r) => h('li', {}, h('span', { class: 'addr', text: r.record ?? '?' }), relayTag(r.relay))))
        : h('span', { class: 'meta', 'data-testid': 'explain-amtrelay', text: 'none' }),
    ),
    dlRow(
      'Rules',
      `source ${rules.source ?? 'none matched'} · client ${rules.client ?? (x.client ? 'none matched' : 'not given')} · ECS scope /${rules.ecsScope ?? 0}`,
    ),
  );

  const steps = Array.isArray(x.trace) ? x.trace : [];
  const trace = h(
    'ol',
    { class: 'trace', 'data-testid': 'explain-trace' },
    steps.map((s) => {
      const extra = [];
      if (Array.isArray(s.removed) && s.removed.length) {
        extra.push(
          h(
            'ul',
            { class: 'plain removed' },
            s.removed.map((r) => h('li', { 'data-testid': 'trace-removed', 'data-relay': r.relay ?? '' }, 'removed ', h('strong', { text: r.relay ?? '?' }), `: ${r.why ?? ''}`)),
          ),
        );
      }
      if (s.keys && typeof s.keys === 'object' && Object.keys(s.keys).length) {
        extra.push(
          h(
            'ul',
            { class: 'keys' },
            Object.entries(s.keys).map(([relay, v]) => h('li', {}, h('span', { class: 'relay-name', text: relay }), ' ', h('span', { class: 'key', text: String(v) }))),
          ),
        );
      }
      if (Array.isArray(s.order)) {
        extra.push(h('p', { class: 'order' }, s.order.length ? s.order.map(String).join(' › ') : 'no relay left'));
      }
      return h('li', { 'data-testid': 'trace-step', 'data-rule': s.rule ?? '' }, h('span', { class: 'rule', text: s.rule ?? '?' }), ' ', h('span', { class: 'detail', text: s.detail ?? '' }), extra);
    }),
  );

  explainGeneration = typeof x.generation === 'number' ? x.generation : null;
  const result = $('explain-result');
  replace(
    result,
    h('h3', {}, 'Answer for ', h('span', { class: 'addr', text: x.source ?? '' }), x.client ? [' from client ', h('span', { class: 'addr', text: x.client })] : null),
    h('p', { class: 'meta', 'data-testid': 'explain-generation' }),
    answer,
    h('h3', { text: 'How it was chosen' }),
    trace,
  );
  result.hidden = false;
  noteExplainStaleness();
}

/** Says so when health changed after the explained answer (the answer may differ now). */
function noteExplainStaleness() {
  const el = document.querySelector('[data-testid="explain-generation"]');
  if (!el || explainGeneration === null) return;
  const changed = relayGeneration !== null && relayGeneration !== explainGeneration;
  setText(el, `At health generation ${explainGeneration}${changed ? ` (now ${relayGeneration}: relay health changed since, explain again for the current answer)` : ''}.`);
  setClass(el, 'warn', changed);
}

async function onExplain(ev) {
  ev.preventDefault();
  const source = $('explain-source').value.trim();
  const client = $('explain-client').value.trim();
  const error = $('explain-error');
  if (!source) {
    showError(error, 'source: required, the multicast source address (e.g. 69.25.95.10)');
    $('explain-source').setAttribute('aria-invalid', 'true');
    $('explain-source').focus();
    return;
  }
  explainAbort?.abort();
  const abort = new AbortController();
  explainAbort = abort;
  const params = new URLSearchParams({ source });
  if (client) params.set('client', client);
  const button = $('explain-submit');
  button.disabled = true;
  setAttr($('explain-result'), 'aria-busy', 'true');
  try {
    const { body } = await getJson(`/api/v1/explain?${params}`, { signal: abort.signal });
    if (!body || typeof body !== 'object' || !Array.isArray(body.trace)) throw new ApiError('unexpected answer from /api/v1/explain');
    showError(error, null);
    $('explain-source').removeAttribute('aria-invalid');
    $('explain-client').removeAttribute('aria-invalid');
    renderExplain(body);
  } catch (err) {
    if (abort.signal.aborted) return;
    const msg = err instanceof Error ? err.message : String(err);
    showError(error, msg);
    $('explain-result').hidden = true;
    const field = /^client:/.test(msg) ? 'explain-client' : /^source:/.test(msg) ? 'explain-source' : null;
    if (field) $(field).setAttribute('aria-invalid', 'true');
  } finally {
    if (explainAbort === abort) {
      explainAbort = null;
      button.disabled = false;
      $('explain-result').removeAttribute('aria-busy');
    }
  }
}

// ---------------------------------------------------------------- start

$('explain-form').addEventListener('submit', onExplain);
$('refresh-now').addEventListener('click', () => refresh());
refresh();
