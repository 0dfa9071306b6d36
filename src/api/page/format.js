// Formatting for display. Everything tolerates null/undefined and odd types (the API may change).

export const DASH = '—';
const STATES = new Set(['up', 'degraded', 'down', 'unknown']);

export function stateClass(state) {
  return STATES.has(state) ? `state-${state}` : 'state-unknown';
}

export function stateSourceText(source) {
  if (source === 'admin') return 'operator override';
  if (source === 'signals') return 'from signals';
  if (source === 'config') return 'from config';
  return source ? `from ${source}` : '';
}

const num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const int = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatNumber(n) {
  return typeof n === 'number' && Number.isFinite(n) ? num.format(n) : DASH;
}

export function formatInt(n) {
  return typeof n === 'number' && Number.isFinite(n) ? int.format(n) : DASH;
}

export function formatMs(ms) {
  return typeof ms === 'number' && Number.isFinite(ms) ? `${num.format(ms)} ms` : DASH;
}

export function formatPercent(fraction) {
  return typeof fraction === 'number' && Number.isFinite(fraction) ? `${num.format(fraction * 100)} %` : DASH;
}

export function formatBps(bps) {
  if (typeof bps !== 'number' || !Number.isFinite(bps)) return DASH;
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let v = bps;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${num.format(v)} ${units[i]}`;
}

/** A signal's value, by kind. */
export function formatSignalValue(kind, value) {
  if (kind === 'rttMs') return formatMs(value);
  if (kind === 'bandwidthBps') return formatBps(value);
  if (kind === 'tunnels') return formatInt(value);
  if (kind === 'reachable') return value === true ? 'reachable' : value === false ? 'unreachable' : String(value);
  return value === null || value === undefined ? DASH : String(value);
}

/** "3 s", "4 min", "2 h 5 min", "3 d". */
export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return DASH;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  return `${Math.floor(hrs / 24)} d`;
}

/** Parses an ISO time; null when missing or invalid. */
export function parseTime(iso) {
  if (typeof iso !== 'string') return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** Local clock time, with the date when it is not today. */
export function formatClock(t, now = Date.now()) {
  if (t === null) return DASH;
  const sameDay = new Date(t).toDateString() === new Date(now).toDateString();
  return (sameDay ? timeFmt : dateTimeFmt).format(t);
}

/** "10:04:27 (5 min ago)". now is the server's clock when known. */
export function formatWhen(t, now) {
  if (t === null) return DASH;
  const ago = now - t;
  const rel = ago < 1500 ? 'just now' : `${formatDuration(ago)} ago`;
  return `${formatClock(t, now)} (${rel})`;
}
