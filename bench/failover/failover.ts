/**
 * bench/failover driver: how long after the MX fails does driad's DNS answer name the gateway?
 * Run by bench/failover/run.sh against a driad process it started (see README.md there).
 *
 * (a) detected: POST reachable=false for the MX; t0 just before the request is issued; the
 *     result is the first DNS answer received after t0 that names the gateway.
 * (b) silent: reachable=true every INTERVAL ms, each saying intervalMs = INTERVAL (or, with
 *     MAX_AGE_MS set, giving that maxAgeMs), then nothing; t0 just before the last signal's request
 *     is issued; the result is the first answer naming the gateway after that (the relay turns
 *     `unknown` when its only signal expires). Target: within SILENCE_INTERVALS intervals.
 *
 * One UDP poller runs through the whole measurement: one query outstanding, the next sent from the
 * answer's callback, a new source address (so a new name) every query.
 *
 * Progress goes to stderr; the table to stdout, ending with the two summary lines.
 */
import { createSocket, type Socket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { maxAgeForInterval } from '../../src/health/signals.ts';

// --- settings ---------------------------------------------------------------------------------------
const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number >= 0 (got ${JSON.stringify(raw)})`);
  return v;
};
const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run bench/failover/run.sh)`);
  return v;
};

const DNS_PORT = Number(need('FAILOVER_DNS_PORT'));
const HTTP_PORT = Number(need('FAILOVER_HTTP_PORT'));
const TOKEN = need('FAILOVER_TOKEN');
const TRIALS = Math.floor(env('TRIALS', 200)); // (a)
const SILENT_TRIALS = Math.floor(env('SILENT_TRIALS', 100)); // (b)
const INTERVAL_MS = env('INTERVAL_MS', 100);
const SIGNALS = Math.max(1, Math.floor(env('SIGNALS', 3))); // signals per (b) trial, the last one at t0
const WARMUP = Math.floor(env('WARMUP', 10)); // unrecorded trials before each case
const SILENCE_INTERVALS = Math.max(1, Math.floor(env('SILENCE_INTERVALS', 3))); // driad's health.silenceIntervals
/** (b)'s signals give maxAgeMs when this is set, else intervalMs (driad derives the max age). */
const EXPLICIT_MAX_AGE_MS = process.env.MAX_AGE_MS ? env('MAX_AGE_MS', 0) : null;
const DETECTED_TARGET_MS = 50;
const SILENT_TARGET_MS = SILENCE_INTERVALS * INTERVAL_MS;
const QUERY_TIMEOUT_MS = 250; // no answer this long: count a timeout and send a new query
const WAIT_MS = 5000; // longest wait for any expected answer before the run fails

const MX = '69.25.95.1';
const GATEWAY = '192.0.2.10';
/** Signals from the benchmark: one source and kind, so each one replaces the one before. */
const SOURCE = 'bench-failover';

const log = (msg: string): void => void process.stderr.write(`failover: ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

// --- DNS poller -------------------------------------------------------------------------------------
type Named = 'mx' | 'gw' | 'other';

interface Answer {
  /** performance.now() when the query was handed to the socket / when its answer's callback ran. */
  sent: number;
  recv: number;
  /** Date.now() at receipt, to compare with driad's own timestamps (same machine clock, 1 ms steps). */
  recvEpoch: number;
  named: Named;
}

/** The first A record of the answer section, as dotted quad; '' when none; null when not an answer to `id`. */
function parseAnswer(msg: Buffer, id: number): string | null {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2]! & 0x80) === 0) return null;
  if ((msg[3]! & 0x0f) !== 0) return ''; // rcode other than NOERROR
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let p = 12;
  const skipName = (): void => {
    for (;;) {
      const len = msg[p]!;
      if (len === undefined) throw new Error('truncated name');
      if ((len & 0xc0) === 0xc0) {
        p += 2;
        return;
      }
      p += 1 + len;
      if (len === 0) return;
    }
  };
  try {
    for (let i = 0; i < qd; i++) {
      skipName();
      p += 4;
    }
    for (let i = 0; i < an; i++) {
      skipName();
      const type = msg.readUInt16BE(p);
      const rdlen = msg.readUInt16BE(p + 8);
      p += 10;
      if (type === 1 && rdlen === 4) return `${msg[p]}.${msg[p + 1]}.${msg[p + 2]}.${msg[p + 3]}`;
      p += rdlen;
    }
  } catch {
    return '';
  }
  return '';
}

/** A query for `<d>.<c>.25.69.amt.in-addr.arpa A` (source 69.25.c.d), no RD, no EDNS. */
function buildQuery(id: number, n: number): Buffer {
  const c = 96 + ((n >>> 8) % 160);
  const d = n & 0xff;
  const labels = [String(d), String(c), '25', '69', 'amt', 'in-addr', 'arpa'];
  const name = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4); // QDCOUNT
  return Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]); // A, IN
}

interface Expectation {
  want: Named;
  /** Applies to answers of queries sent after this (performance.now()). */
  sentAfter: number;
  /** ... and received before this. */
  recvBefore: number;
  label: string;
}

class Poller {
  readonly #sock: Socket;
  #id = 0;
  #n = 0;
  #sent = 0;
  #running = false;
  #watchdog: NodeJS.Timeout | null = null;
  #waiter: { pred: (a: Answer) => boolean; resolve: (a: Answer | null) => void; timer: NodeJS.Timeout } | null = null;
  #expect: Expectation | null = null;
  last: Answer | null = null;
  answers = 0;
  timeouts = 0;
  others = 0;
  /** Answers that contradicted an expectation, by label. */
  readonly violations = new Map<string, number>();
  readonly violationSamples: string[] = [];
  readonly rtts: number[] = [];

  constructor(port: number) {
    this.#sock = createSocket('udp4');
    this.#sock.on('message', (msg) => this.#onMessage(msg));
    this.#sock.on('error', (err) => {
      log(`UDP socket error: ${err.message}`);
    });
    this.#sock.connect(port, '127.0.0.1');
  }

  async start(): Promise<void> {
    if (!this.#sock.remoteAddress) await new Promise<void>((resolve) => this.#sock.once('connect', () => resolve()));
    this.#running = true;
    this.#watchdog = setInterval(() => {
      if (this.#running && performance.now() - this.#sent > QUERY_TIMEOUT_MS) {
        this.timeouts++;
        this.#send();
      }
    }, QUERY_TIMEOUT_MS / 5);
    this.#send();
  }

  stop(): void {
    this.#running = false;
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#sock.close();
  }

  /** Resolves with the first answer from now on that satisfies `pred`, or null after `timeoutMs`. */
  waitFor(pred: (a: Answer) => boolean, timeoutMs = WAIT_MS): Promise<Answer | null> {
    if (this.#waiter) throw new Error('one waiter at a time');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve(null);
      }, timeoutMs);
      this.#waiter = { pred, resolve, timer };
    });
  }

  expect(e: Expectation | null): void {
    this.#expect = e;
  }

  violationCount(label: string): number {
    return this.violations.get(label) ?? 0;
  }

  #send(): void {
    this.#id = (this.#id + 1) & 0xffff;
    const q = buildQuery(this.#id, this.#n++);
    this.#sent = performance.now();
    this.#sock.send(q);
  }

  #onMessage(msg: Buffer): void {
    const recv = performance.now();
    const ip = parseAnswer(msg, this.#id);
    if (ip === null) return; // a late answer to a query already given up on
    const a: Answer = { sent: this.#sent, recv, recvEpoch: Date.now(), named: ip === MX ? 'mx' : ip === GATEWAY ? 'gw' : 'other' };
    if (this.#running) this.#send(); // next query first: the checks below must not delay it
    this.answers++;
    if (this.rtts.length < 100_000) this.rtts.push(recv - a.sent);
    if (a.named === 'other') this.others++;
    this.last = a;
    const e = this.#expect;
    if (e && a.sent > e.sentAfter && a.recv < e.recvBefore && a.named !== e.want) {
      this.violations.set(e.label, (this.violations.get(e.label) ?? 0) + 1);
      if (this.violationSamples.length < 10) {
        this.violationSamples.push(`${e.label}: expected ${e.want}, got ${a.named} (query sent ${(a.sent - e.sentAfter).toFixed(2)} ms after the reference point)`);
      }
    }
    const w = this.#waiter;
    if (w && w.pred(a)) {
      clearTimeout(w.timer);
      this.#waiter = null;
      w.resolve(a);
    }
  }
}

// --- HTTP ---------------------------------------------------------------------------------------------
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

interface Reply {
  status: number;
  body: string;
  /** performance.now() when the response ended. */
  at: number;
}

function http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { authorization: `Bearer ${TOKEN}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const req = request({ host: '127.0.0.1', port: HTTP_PORT, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() }));
      res.on('error', reject);
    });
    req.setTimeout(WAIT_MS, () => req.destroy(new Error(`${method} ${path}: no response in ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

type Freshness = { maxAgeMs: number } | { intervalMs: number };

async function signal(reachable: boolean, freshness: Freshness): Promise<Reply> {
  const r = await http('POST', '/api/v1/signals', { relay: 'mx', source: SOURCE, kind: 'reachable', value: reachable, ...freshness });
  if (r.status !== 200) throw new Error(`POST /api/v1/signals: HTTP ${r.status}: ${r.body.trim()}`);
  return r;
}

// --- statistics ---------------------------------------------------------------------------------------
/** Nearest rank: the smallest value with at least p% of the values at or below it. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}
const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : String(v));
const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : String(v));
const summary = (values: number[], fmt = f1): string =>
  `p50 ${fmt(percentile(values, 50))} / p99 ${fmt(percentile(values, 99))} / max ${fmt(percentile(values, 100))}`;

// --- (a) detected ---------------------------------------------------------------------------------------
const LONG_LIVED: Freshness = { maxAgeMs: 600_000 }; // (a)'s signals must not expire during the run

interface DetectedTrial {
  detected: number; // t0 -> first answer naming the gateway
  ack: number; // t0 -> the POST's response
  recovery: number; // reachable=true issued -> first answer naming the MX
}

async function detectedTrial(poller: Poller): Promise<DetectedTrial> {
  if (poller.last?.named !== 'mx') throw new Error(`(a) trial starts with answers naming ${poller.last?.named}, not the MX`);
  poller.expect(null);
  const t0 = performance.now();
  const ackPromise = signal(false, LONG_LIVED);
  const gw = await poller.waitFor((a) => a.recv > t0 && a.named === 'gw');
  const ack = await ackPromise;
  if (!gw) throw new Error(`(a) no answer named the gateway within ${WAIT_MS} ms of reachable=false`);
  // Every query sent after the response to the POST must see the new state.
  poller.expect({ want: 'gw', sentAfter: ack.at, recvBefore: Infinity, label: 'detected: MX named after the POST was answered' });
  await sleep(2 + Math.random() * 3);

  poller.expect(null);
  const r0 = performance.now();
  const up = await signal(true, LONG_LIVED);
  const mx = await poller.waitFor((a) => a.sent > up.at && a.named === 'mx');
  if (!mx) throw new Error(`(a) answers did not name the MX again within ${WAIT_MS} ms of reachable=true`);
  poller.expect({ want: 'mx', sentAfter: up.at, recvBefore: Infinity, label: 'recovery: gateway named after the POST was answered' });
  return { detected: gw.recv - t0, ack: ack.at - t0, recovery: mx.recv - r0 };
}

// --- (b) silent -------------------------------------------------------------------------------------------
interface SilentTrial {
  silent: number; // t0 (last signal issued) -> first answer naming the gateway
  ack: number; // t0 -> the last POST's response
  /** driad's own view: its unknown transition minus the last signal's `at`, minus maxAgeMs (ms, 1 ms steps). */
  expiryLate: number | null;
  /** Receipt of the first gateway answer (Date.now()) minus driad's transition time (ms, 1 ms steps). */
  answerAfterTransition: number | null;
}

/** (b)'s signals, and how long driad keeps each one. */
const SILENT: Freshness = EXPLICIT_MAX_AGE_MS !== null ? { maxAgeMs: EXPLICIT_MAX_AGE_MS } : { intervalMs: INTERVAL_MS };
const MAX_AGE_MS = EXPLICIT_MAX_AGE_MS ?? maxAgeForInterval(INTERVAL_MS, SILENCE_INTERVALS);

async function silentTrial(poller: Poller): Promise<SilentTrial | 'premature'> {
  poller.expect(null);
  const s0 = performance.now();
  let last = await signal(true, SILENT);
  const mx = await poller.waitFor((a) => a.sent > last.at && a.named === 'mx');
  if (!mx) throw new Error(`(b) answers did not name the MX within ${WAIT_MS} ms of reachable=true`);
  let t0 = s0;
  const label = 'silent: gateway named while the MX had a fresh signal';
  const before = poller.violationCount(label);
  poller.expect({ want: 'mx', sentAfter: last.at, recvBefore: s0 + MAX_AGE_MS, label });
  for (let k = 1; k < SIGNALS; k++) {
    await sleep(s0 + k * INTERVAL_MS - performance.now());
    const sentAt = performance.now();
    // The relay must stay up until maxAgeMs after the newest signal was issued (its `at` is later).
    poller.expect({ want: 'mx', sentAfter: s0, recvBefore: sentAt + MAX_AGE_MS, label });
    last = await signal(true, SILENT);
    t0 = sentAt;
  }
  const gw = await poller.waitFor((a) => a.recv > t0 && a.named === 'gw', MAX_AGE_MS + WAIT_MS);
  poller.expect(null);
  if (!gw) throw new Error(`(b) no answer named the gateway within ${MAX_AGE_MS + WAIT_MS} ms of the last signal`);
  if (poller.violationCount(label) > before || gw.recv < t0 + MAX_AGE_MS) return 'premature';

  // driad's side of it: when did it take the relay to unknown, and what `at` did it give the signal?
  let expiryLate: number | null = null;
  let answerAfterTransition: number | null = null;
  const view = JSON.parse((await http('GET', '/api/v1/relays')).body) as {
    relays: Array<{ name: string; signals: Array<{ source: string; kind: string; at: string }> }>;
    transitions: Array<{ at: string; relay: string; to: string }>;
  };
  const sig = view.relays.find((r) => r.name === 'mx')?.signals.find((s) => s.source === SOURCE && s.kind === 'reachable');
  const tr = view.transitions.find((t) => t.relay === 'mx' && t.to === 'unknown'); // newest first
  if (sig && tr) {
    const transitionAt = Date.parse(tr.at);
    if (transitionAt >= Date.parse(sig.at)) {
      expiryLate = transitionAt - Date.parse(sig.at) - MAX_AGE_MS;
      answerAfterTransition = gw.recvEpoch - transitionAt;
    }
  }
  return { silent: gw.recv - t0, ack: last.at - t0, expiryLate, answerAfterTransition };
}

// --- main -------------------------------------------------------------------------------------------------
async function waitReady(poller: Poller): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      const r = await http('GET', '/healthz');
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error('driad HTTP did not answer /healthz within 10 s');
    await sleep(100);
  }
  await poller.start();
  if (!(await poller.waitFor(() => true))) throw new Error('driad did not answer DNS');
  // Known starting point: the MX up through our own signal.
  const up = await signal(true, LONG_LIVED);
  if (!(await poller.waitFor((a) => a.sent > up.at && a.named === 'mx'))) throw new Error('answers do not name the MX after reachable=true');
}

async function main(): Promise<void> {
  const started = performance.now();
  const poller = new Poller(DNS_PORT);
  await waitReady(poller);

  log(`(a) detected: ${WARMUP} warm-up + ${TRIALS} trials`);
  const detected: DetectedTrial[] = [];
  for (let i = 0; i < WARMUP + TRIALS; i++) {
    await sleep(5 + Math.random() * 20); // a random phase against the poller
    const t = await detectedTrial(poller);
    if (i >= WARMUP) detected.push(t);
  }
  poller.expect(null);
  const detectedViolations = poller.violationCount('detected: MX named after the POST was answered');
  const recoveryViolations = poller.violationCount('recovery: gateway named after the POST was answered');
  log(`(a) ${summary(detected.map((t) => t.detected), f2)} ms`);

  log(`(b) silent: INTERVAL_MS=${INTERVAL_MS}, ${JSON.stringify(SILENT)} -> maxAgeMs ${MAX_AGE_MS}, ${SIGNALS} signals per trial, ${Math.min(WARMUP, 3)} warm-up + ${SILENT_TRIALS} trials`);
  const silent: SilentTrial[] = [];
  let premature = 0;
  for (let i = 0; i < Math.min(WARMUP, 3) + SILENT_TRIALS; i++) {
    const t = await silentTrial(poller);
    if (i < Math.min(WARMUP, 3)) continue;
    if (t === 'premature') premature++;
    else silent.push(t);
    const done = i + 1 - Math.min(WARMUP, 3);
    if (done > 0 && done % 25 === 0) log(`(b) ${done} of ${SILENT_TRIALS} trials done`);
  }
  log(`(b) ${summary(silent.map((t) => t.silent), f2)} ms`);
  poller.stop();
  agent.destroy();

  // --- report ---------------------------------------------------------------------------------------------
  const d = detected.map((t) => t.detected);
  const s = silent.map((t) => t.silent);
  const dP99 = percentile(d, 99);
  const sP99 = percentile(s, 99);
  const lateExpiry = silent.map((t) => t.expiryLate).filter((v): v is number => v !== null);
  const afterTransition = silent.map((t) => t.answerAfterTransition).filter((v): v is number => v !== null);
  const beforeAck = detected.filter((t) => t.detected < t.ack).length;
  const row = (name: string, values: number[]) =>
    `${name.padEnd(34)} ${String(values.length).padStart(6)} ${f1(percentile(values, 50)).padStart(8)} ${f1(percentile(values, 99)).padStart(8)} ${f1(percentile(values, 100)).padStart(8)}`;
  const out: string[] = [];
  out.push('');
  out.push(`failover: driad health policy downAfter 1, upAfter 1, minHoldMs 0; signals via POST /api/v1/signals (keep-alive HTTP/1.1)`);
  out.push(`DNS poller: UDP, one query outstanding, a new name each query; ${poller.answers} answers, RTT ${summary(poller.rtts, f2)} ms`);
  out.push(`${'case (ms)'.padEnd(34)} ${'trials'.padStart(6)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}`);
  out.push(row('(a) detected: POST -> gateway', d));
  out.push(row(`(b) silent: last signal -> gateway`, s));
  out.push(row(`(b) minus ${SILENCE_INTERVALS} intervals (${SILENT_TARGET_MS} ms)`, s.map((v) => v - SILENT_TARGET_MS)));
  out.push(`(a) POST round trip ${summary(detected.map((t) => t.ack), f2)} ms; gateway answer before the POST's response in ${beforeAck} of ${detected.length} trials`);
  out.push(`(a) first gateway answer - POST response: ${summary(detected.map((t) => t.detected - t.ack), f2)} ms`);
  out.push(`(a) recovery, reachable=true -> MX answer: ${summary(detected.map((t) => t.recovery), f2)} ms`);
  out.push(`(b) INTERVAL_MS ${INTERVAL_MS}, signals say ${JSON.stringify(SILENT)}, driad keeps each ${MAX_AGE_MS} ms (health.silenceIntervals ${SILENCE_INTERVALS}), ${SIGNALS} signals per trial; last POST round trip ${summary(silent.map((t) => t.ack), f2)} ms`);
  if (lateExpiry.length) {
    out.push(`(b) driad's clock (1 ms steps): unknown transition - signal at - maxAgeMs ${summary(lateExpiry, (v) => v.toFixed(0))}; first gateway answer - transition ${summary(afterTransition, (v) => v.toFixed(0))}`);
  }
  const checks = [
    `queries sent after the POST's response still naming the MX: ${detectedViolations}`,
    `naming the gateway after reachable=true was answered: ${recoveryViolations}`,
    `(b) gateway named while the MX's signal was fresh: ${premature} trial(s)`,
    `DNS timeouts: ${poller.timeouts}, answers naming neither relay: ${poller.others}`,
  ];
  out.push(`checks: ${checks.join('; ')}`);
  for (const v of poller.violationSamples) out.push(`  e.g. ${v}`);
  out.push(`run time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const dMet = dP99 < DETECTED_TARGET_MS;
  const sMet = sP99 <= SILENT_TARGET_MS;
  out.push(`target (a) detected p99 < ${DETECTED_TARGET_MS} ms: ${dMet ? 'met' : 'NOT met'} (p99 ${f1(dP99)} ms)`);
  out.push(
    `target (b) silent p99 <= ${SILENCE_INTERVALS} x INTERVAL_MS = ${SILENT_TARGET_MS} ms after the last signal: ${sMet ? 'met' : 'NOT met'} ` +
      `(p99 ${f1(sP99)} ms, ${f1(sP99 - SILENT_TARGET_MS)} ms ${sP99 - SILENT_TARGET_MS > 0 ? 'over' : 'under'})`,
  );
  out.push(`failover detected p99 ms: ${f1(dP99)}`);
  out.push(`failover silent ms: ${f1(sP99)}`);
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: unknown) => {
  log(`ERROR: ${(err as Error).message}`);
  process.exit(1);
});
