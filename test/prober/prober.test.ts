// The RTT prober against the AMT relay simulator (test/sim/amt-relay/) on loopback: RTT per relay
// feeds selection, loss makes a relay down by its reachable signal (and its timers end), spoofed
// advertisements are ignored and counted, a TCP connect stands in where UDP goes unanswered, and
// tshark's AMT dissector reads what it sends.

import test from 'ava';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAmt, encodeAmt } from '../../src/amt/codec.ts';
import { startAmtRelaySim, type AmtRelaySim } from '../sim/amt-relay/relay.ts';
import { ask } from '../helpers/dns-client.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { undocumentedMetrics } from '../helpers/metrics-doc.ts';
import { until } from '../helpers/until.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';

/** Two loopback relays (mx 127.0.0.1, gateway 127.0.0.2), each probed at the HOST:PORT given. */
function config(targets: { mx: string; gateway: string }, prober: Record<string, unknown> = {}): string {
  const extra = Object.entries({ intervalMs: 150, timeoutMs: 100, jitter: 0.1, ...prober })
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
health:
  minHoldMs: 0
  upAfter: 1
policy:
  rttBandMs: 10
prober:
${extra}
  relays:
    - { name: mx, target: "${targets.mx}" }
    - { name: gateway, target: "${targets.gateway}" }
`;
}

const at = (sim: { host: string; port: number }): string => `${sim.host}:${sim.port}`;

async function sims(t: { teardown(fn: () => Promise<void>): void }, ...options: Array<Parameters<typeof startAmtRelaySim>[0]>): Promise<AmtRelaySim[]> {
  const started = await Promise.all(options.map((o) => startAmtRelaySim(o)));
  for (const s of started) t.teardown(() => s.close());
  return started;
}

async function json(port: number, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.json();
}

test('RTT per relay: the faster relay ranks first, in DNS answers and in /api/v1/candidates', async (t) => {
  const [slow, fast] = await sims(t, { delayMs: 120 }, { delayMs: 1 });
  // A busy machine delays timers and sockets for both relays alike; smoothing 0.5 follows the samples quickly.
  const d = await startTestDriad(config({ mx: at(slow!), gateway: at(fast!) }, { intervalMs: 250, timeoutMs: 200, smoothing: 0.5 }));
  t.teardown(() => d.stop(0));

  t.true(await until(async () => d.health.rttMs('mx') !== undefined && d.health.rttMs('gateway') !== undefined, 5000), 'both relays measured');
  const apart = async () => (d.health.rttMs('gateway') as number) < (d.health.rttMs('mx') as number) - 50;
  t.true(await until(apart, 5000), `gateway ${d.health.rttMs('gateway')} ms is faster than mx ${d.health.rttMs('mx')} ms`);
  const mxRtt = d.health.rttMs('mx') as number;
  t.true(mxRtt >= 110 && mxRtt < 1000, `mx smoothed RTT ${mxRtt} ms, the relay waits 120 ms`);
  t.true(slow!.counts.answered >= 1 && fast!.counts.answered >= 1);

  // Without RTT the MX (precedence 10) would come first; measured, the gateway does.
  t.true(await until(async () => (await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data === '127.0.0.2', 3000), 'A names the faster relay');
  const c = await json(d.httpPort, '/api/v1/candidates?source=69.25.95.10');
  t.deepEqual(c.candidates.map((x: { relay: string }) => x.relay), ['gateway', 'mx']);
  t.is(c.candidates[0].ipv4, '127.0.0.2');
  t.true(c.candidates[0].rttMs < c.candidates[1].rttMs);
  t.is(c.candidates[0].lossRate, 0);
  t.is(c.candidates[0].capacity.maxTunnels, 1000);
  t.is(c.name, NAME);

  const relays = await json(d.httpPort, '/api/v1/relays');
  const prober = relays.collectors.find((x: { collector: string }) => x.collector === 'prober');
  t.is(prober.mode, 'udp');
  t.deepEqual(prober.sessions.map((s: { relay: string; target: string; connected: boolean }) => [s.relay, s.target, s.connected]), [
    ['mx', at(slow!), true],
    ['gateway', at(fast!), true],
  ]);
  const signals = relays.relays.find((r: { name: string }) => r.name === 'mx').signals;
  t.truthy(signals.find((s: { source: string; kind: string; intervalMs: number }) => s.source === 'prober' && s.kind === 'rttMs' && s.intervalMs > 250));
  t.truthy(signals.find((s: { source: string; kind: string; value: boolean }) => s.source === 'prober' && s.kind === 'reachable' && s.value === true));

  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  t.regex(metrics, /^driad_prober_rtt_ms\{relay="mx"\} \d/m);
  t.regex(metrics, /^driad_prober_probes_total\{relay="gateway",mode="udp",result="answered"\} \d/m);
  t.deepEqual(undocumentedMetrics(metrics), []);
});

test('a relay that never answers: loss rate 1, reachable false after lossesToDown probes, down; stop ends every timer', async (t) => {
  const [dead, alive] = await sims(t, { loss: 1 }, {});
  const d = await startTestDriad(config({ mx: at(dead!), gateway: at(alive!) }, { lossesToDown: 3 }));
  let stopped = false;
  t.teardown(() => (stopped ? undefined : d.stop(0)));

  t.true(await until(async () => d.health.get('mx')?.state === 'down', 5000), 'mx goes down');
  t.regex(d.health.get('mx')?.reason ?? '', /prober: no answer to [3-9] probes in a row \(Relay Discovery to 127\.0\.0\.1:\d+\)/);
  t.is(d.health.get('gateway')?.state, 'up');
  t.true(dead!.counts['dropped-loss'] >= 3);
  t.is((await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data, '127.0.0.2');
  const relays = await json(d.httpPort, '/api/v1/relays');
  const mx = relays.collectors.find((x: { collector: string }) => x.collector === 'prober').sessions.find((s: { relay: string }) => s.relay === 'mx');
  t.is(mx.lossRate, 1);
  t.false(mx.connected);
  t.regex(mx.lastError, /no Relay Advertisement within 100 ms/);

  const before = Date.now();
  await d.stop(0);
  stopped = true;
  t.true(Date.now() - before < 2000, 'stop does not wait for probes');
  // A datagram sent just before stop may still be in the simulator's socket buffer: let it drain first.
  await new Promise((r) => setTimeout(r, 150));
  const seen = dead!.counts['dropped-loss'];
  await new Promise((r) => setTimeout(r, 400));
  t.is(dead!.counts['dropped-loss'], seen, 'no probe after stop');
});

test('partial loss is measured over the window, and the relay stays up while some probes come back', async (t) => {
  let n = 0;
  const [lossy, other] = await sims(t, { loss: 0.5, random: () => (n++ % 2 === 0 ? 0.9 : 0.1) }, {});
  const d = await startTestDriad(config({ mx: at(lossy!), gateway: at(other!) }, { lossWindow: 10 }));
  t.teardown(() => d.stop(0));
  const session = async () =>
    (await json(d.httpPort, '/api/v1/relays')).collectors.find((x: { collector: string }) => x.collector === 'prober').sessions.find((s: { relay: string }) => s.relay === 'mx');
  t.true(await until(async () => lossy!.counts['dropped-loss'] + lossy!.counts.answered >= 10, 6000));
  const s = await session();
  t.true(s.lossRate >= 0.3 && s.lossRate <= 0.7, `loss rate ${s.lossRate}`);
  t.is(d.health.get('mx')?.state, 'up');
  const c = await json(d.httpPort, '/api/v1/candidates?source=69.25.95.10');
  const shown = c.candidates.find((x: { relay: string }) => x.relay === 'mx').lossRate;
  t.true(shown >= 0.3 && shown <= 0.7, `candidates show the loss rate too (${shown})`);
});

/** A hand-driven relay: a socket that gets the prober's Relay Discovery, and a second socket to spoof from. */
async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

test('advertisements with a wrong nonce or from the wrong source are ignored and counted; the right one is timed', async (t) => {
  const relay = await udp();
  const spoofer = await udp();
  const [other] = await sims(t, {});
  t.teardown(() => {
    relay.close();
    spoofer.close();
  });
  let answeredAt = 0;
  relay.on('message', (bytes, r) => {
    const d = decodeAmt(bytes);
    if (!d.ok || d.message.type !== 'relay-discovery') return;
    const { nonce } = d.message;
    // Right nonce, wrong source port; wrong nonce, right source; not AMT at all; then the answer.
    spoofer.send(encodeAmt({ type: 'relay-advertisement', nonce, relayAddress: '127.0.0.1' }), r.port, r.address);
    relay.send(encodeAmt({ type: 'relay-advertisement', nonce: (nonce + 1) >>> 0, relayAddress: '127.0.0.1' }), r.port, r.address);
    relay.send(Buffer.from('not amt'), r.port, r.address);
    setTimeout(() => {
      answeredAt = Date.now();
      relay.send(encodeAmt({ type: 'relay-advertisement', nonce, relayAddress: '127.0.0.1' }), r.port, r.address);
    }, 20);
  });
  const d = await startTestDriad(config({ mx: `127.0.0.1:${relay.address().port}`, gateway: at(other!) }));
  t.teardown(() => d.stop(0));
  t.true(await until(async () => d.health.rttMs('mx') !== undefined, 5000));
  t.true(answeredAt > 0);
  t.true((d.health.rttMs('mx') as number) >= 15, `RTT ${d.health.rttMs('mx')} ms counts from the real answer (20 ms), not the spoofed one`);
  const m = d.metrics;
  t.true(m.get('driad_prober_ignored_total', { reason: 'source' }) >= 1);
  t.true(m.get('driad_prober_ignored_total', { reason: 'nonce' }) >= 1);
  t.true(m.get('driad_prober_ignored_total', { reason: 'malformed' }) >= 1);
  t.true(m.get('driad_bad_input_total', { component: 'prober', kind: 'source' }) >= 1);
  t.is(d.health.get('mx')?.state, 'up');
});

test('TCP-connect fallback: where Relay Discovery goes unanswered, the connect time is the RTT', async (t) => {
  const [silent, other] = await sims(t, { loss: 1 }, {});
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const tcpPort = (server.address() as { port: number }).port;
  const d = await startTestDriad(
    config({ mx: at(silent!), gateway: at(other!) }).replace(`- { name: mx, target: "${at(silent!)}" }`, `- { name: mx, target: "${at(silent!)}", tcpPort: ${tcpPort} }`),
  );
  t.teardown(() => d.stop(0));
  t.true(await until(async () => d.health.rttMs('mx') !== undefined, 5000));
  const status = (await json(d.httpPort, '/api/v1/relays')).collectors.find((x: { collector: string }) => x.collector === 'prober');
  t.is(status.mode, 'udp+tcp');
  const mx = status.sessions.find((s: { relay: string }) => s.relay === 'mx');
  t.is(mx.mode, 'tcp');
  t.true(mx.connected);
  t.is(d.health.get('mx')?.state, 'up');
  t.true(d.metrics.get('driad_prober_probes_total', { relay: 'mx', mode: 'tcp', result: 'answered' }) >= 1);
  t.true(d.metrics.get('driad_prober_probes_total', { relay: 'mx', mode: 'udp', result: 'lost' }) >= 1);
});

const CAN_CAPTURE = spawnSync('/bin/sh', ['-c', 'command -v tshark']).status === 0 && process.getuid?.() === 0;

(CAN_CAPTURE ? test : test.skip)(
  CAN_CAPTURE ? "tshark's AMT dissector decodes a live capture of the prober's Relay Discovery and the advertisement cleanly" : 'tshark capture [SKIPPED: needs tshark and root]',
  async (t) => {
    const [relay, other] = await sims(t, { delayMs: 5 }, {});
    const dir = mkdtempSync(join(tmpdir(), 'driad-prober-pcap-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'prober.pcap');
    const capture = spawn('tshark', ['-i', 'lo', '-n', '-f', `udp port ${relay!.port}`, '-c', '4', '-a', 'duration:20', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.teardown(() => void (capture.exitCode === null && capture.kill('SIGTERM')));
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark did not start capturing: ${stderr}`)), 15_000);
      capture.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/Capturing on/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const exited = new Promise<void>((resolve) => capture.once('exit', () => resolve()));
    const d = await startTestDriad(config({ mx: at(relay!), gateway: at(other!) }));
    t.teardown(() => d.stop(0));
    await exited;

    const out = await new Promise<string>((resolve, reject) =>
      execFile('tshark', ['-n', '-r', file, '-d', `udp.port==${relay!.port},amt`, '-T', 'json', '--no-duplicate-keys'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderrText) =>
        err ? reject(new Error(`${err.message}\n${stderrText}`)) : resolve(stdout),
      ),
    );
    const packets = JSON.parse(out) as Array<{ _source: { layers: Record<string, any> } }>;
    t.is(packets.length, 4);
    const amt = packets.map((p) => p._source.layers.amt);
    for (const [i, p] of packets.entries()) {
      const text = JSON.stringify(p._source.layers);
      t.true(['1', '2'].includes(amt[i]?.['amt.type']), `packet ${i}: a Relay Discovery or Advertisement`);
      t.false(text.includes('_ws.malformed'), `packet ${i}: malformed`);
      t.false(/"_ws\.expert\.severity": "(6|8)\d{6}"/.test(text), `packet ${i}: expert warning or error`);
    }
    // (Capture may start a packet late on a busy machine: pair by nonce rather than by position.)
    const discoveries = amt.filter((a) => a['amt.type'] === '1');
    const adverts = amt.filter((a) => a['amt.type'] === '2');
    const nonces = discoveries.map((a) => a['amt.discovery_nonce']);
    t.true(discoveries.length >= 1 && adverts.length >= 1);
    t.is(new Set(nonces).size, nonces.length, 'each probe has its own nonce');
    t.true(discoveries.some((q) => adverts.some((a) => a['amt.discovery_nonce'] === q['amt.discovery_nonce'])), 'an advertisement echoes a discovery nonce');
    for (const a of adverts) t.is(a['amt.relay_address.ipv4'], '127.0.0.1');
  },
);
