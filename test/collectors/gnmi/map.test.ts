import test from 'ava';
import { interfaceMatcher, MxState, type ResetKind } from '../../../src/collectors/gnmi/map.ts';
import { encodeMessage, decodeMessage } from '../../../src/collectors/gnmi/wire/load.ts';
import { flattenNotification } from '../../../src/collectors/gnmi/wire/notification.ts';
import { parsePath, pathToMsg, type GnmiPath } from '../../../src/collectors/gnmi/wire/path.ts';
import type { NotificationMsg } from '../../../src/collectors/gnmi/wire/types.ts';
import type { GnmiValue } from '../../../src/collectors/gnmi/wire/value.ts';

function p(s: string): GnmiPath {
  const r = parsePath(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
const u = (n: bigint | number): GnmiValue => ({ type: 'uint', value: BigInt(n) });
const str = (s: string): GnmiValue => ({ type: 'string', value: s });

function state(resets: Array<[ResetKind, string]> = []) {
  return new MxState({ relayInterface: interfaceMatcher([]), rateMaxAgeMs: 30_000, onReset: (kind, detail) => resets.push([kind, detail]) });
}

const IN = (name: string) => `/interfaces/interface[name=${name}]/state/counters/in-octets`;
const OUT = (name: string) => `/interfaces/interface[name=${name}]/state/counters/out-octets`;

test('each rule of the table feeds its reading', (t) => {
  const rows: Array<[string, GnmiValue, (s: MxState) => unknown, unknown]> = [
    [IN('xe-0/0/0'), u(5), (s) => s.interfaces.get('xe-0/0/0')?.in?.value, 5n],
    [OUT('xe-0/0/0'), u(7), (s) => s.interfaces.get('xe-0/0/0')?.out?.value, 7n],
    ['/interfaces/interface[name=xe-0/0/1]/state/oper-status', str('openconfig-interfaces:down'), (s) => s.interfaces.get('xe-0/0/1')?.oper, 'DOWN'],
    ['/interfaces/interface[name=xe-0/0/1]/state/high-speed', u(10000), (s) => s.interfaces.get('xe-0/0/1')?.speedMbps, 10000],
    ['/junos/amt/summary/active-tunnels', u(1234), (s) => s.readings(0).tunnels, 1234],
    ['/junos/amt/summary/tunnel-limit', { type: 'string', value: '500000' }, (s) => s.readings(0).tunnelLimit, 500000], // JSON_IETF: 64-bit as text
    ['/junos/amt/tunnels/tunnel[gateway=10.0.0.1][port=2268]/state', str('Active'), (s) => s.readings(0).tunnels, 1],
    ['/junos/amt/statistics/invalid-mac', u(3), (s) => s.statistics.get('invalid-mac'), 3n],
  ];
  for (const [path, value, read, want] of rows) {
    const s = state();
    t.is(s.apply(p(path), value, 1000, 1000), 'applied', path);
    t.deepEqual(read(s), want, path);
  }
});

test('leaves no rule reads are ignored, not errors; wrong types and undecodable values are errors', (t) => {
  const s = state();
  t.is(s.apply(p('/interfaces/interface[name=xe-0/0/0]/state/counters/in-pkts'), u(1), 1, 1), 'ignored');
  t.is(s.apply(p('/junos/amt/tunnels/tunnel[gateway=10.0.0.1][port=1]/group-count'), u(1), 1, 1), 'ignored');
  t.is(s.apply(p('/'), u(1), 1, 1), 'ignored');
  const wrong = s.apply(p(IN('xe-0/0/0')), str('n/a'), 1, 1);
  t.like(wrong, { undecodable: false });
  t.regex((wrong as { error: string }).error, /in-octets: expected a counter \(unsigned number\), got string "n\/a"/);
  t.like(s.apply(p('/interfaces/interface[name=xe-0/0/0]/state/oper-status'), u(1), 1, 1), { undecodable: false });
  t.like(s.apply(p(OUT('xe-0/0/0')), { type: 'int', value: -1n }, 1, 1), { undecodable: false });
  t.like(s.apply(p(OUT('xe-0/0/0')), { type: 'error', error: 'json_ietf_val: invalid JSON' }, 1, 1), { undecodable: true });
  t.like(s.apply(p('/interfaces/interface[name=xe-0/0/0]/state'), { type: 'error', error: 'json_ietf_val: invalid JSON' }, 1, 1), { undecodable: true }, 'a blob above what a rule reads');
  t.is(s.apply(p('/system/state'), { type: 'error', error: 'json_ietf_val: invalid JSON' }, 1, 1), 'ignored', 'a blob nothing reads');
  t.like(s.apply(p('/interfaces/interface/state/counters/in-octets'), u(1), 1, 1), { error: '/interfaces/interface/state/counters/in-octets: no key for the entry' });
  t.is(s.interfaces.size, 0, 'nothing was stored from a bad value');
});

test('bandwidth: octet deltas over the target timestamps, busier direction, relay-facing interfaces only', (t) => {
  const s = state();
  const at = (ms: number, name: string, inOctets: number, outOctets: number) => {
    s.apply(p(IN(name)), u(inOctets), ms, ms);
    s.apply(p(OUT(name)), u(outOctets), ms, ms);
  };
  at(10_000, 'xe-0/0/0', 0, 0);
  at(10_000, 'xe-0/0/1', 0, 0);
  at(10_000, 'ud-0/0/0', 0, 0);
  t.is(s.readings(10_000).bandwidthBps, undefined, 'one sample gives no rate');
  // 10 s later: xe-0/0/0 out 125 MB (100 Mbit/s), xe-0/0/1 out 250 MB (200 Mbit/s), in 25 MB (20 Mbit/s); ud-* is not relay-facing.
  at(20_000, 'xe-0/0/0', 12_500_000, 125_000_000);
  at(20_000, 'xe-0/0/1', 12_500_000, 250_000_000);
  at(20_000, 'ud-0/0/0', 999_000_000_000, 999_000_000_000);
  const r = s.readings(20_000);
  t.is(r.outBps, 300_000_000);
  t.is(r.inBps, 20_000_000);
  t.is(r.bandwidthBps, 300_000_000);
  t.is(s.readings(20_000 + 30_001).bandwidthBps, undefined, 'a rate goes stale');

  const only = new MxState({ relayInterface: interfaceMatcher(['xe-0/0/1']), rateMaxAgeMs: 30_000 });
  for (const [ms, v] of [[0, 0], [1000, 1_000_000]] as const) only.apply(p(OUT('xe-0/0/1')), u(v), ms, ms);
  for (const [ms, v] of [[0, 0], [1000, 5_000_000]] as const) only.apply(p(OUT('xe-0/0/0')), u(v), ms, ms);
  t.is(only.readings(1000).bandwidthBps, 8_000_000, 'relayInterfaces picks the interfaces');
});

test('counter resets (reboot), 2^64 wraps and jumps never become a rate', (t) => {
  const resets: Array<[ResetKind, string]> = [];
  const s = state(resets);
  const out = (ms: number, v: bigint) => s.apply(p(OUT('xe-0/0/0')), u(v), ms, ms);
  out(0, 1_000_000_000n);
  out(1000, 1_125_000_000n); // 1 Gbit/s
  t.is(s.readings(1000).bandwidthBps, 1_000_000_000);
  out(2000, 10n); // router rebooted
  t.is(s.readings(2000).bandwidthBps, undefined, 'no rate across a reset');
  t.deepEqual(resets.map((r) => r[0]), ['reset']);
  out(3000, 125_000_010n);
  t.is(s.readings(3000).bandwidthBps, 1_000_000_000, 'rates resume from the new baseline');

  out(4000, (1n << 64n) - 1000n); // a jump of ~2^64 in a second, no speed known: a glitch
  t.deepEqual(resets.map((r) => r[0]), ['reset', 'implausible']);
  t.is(s.readings(4000).bandwidthBps, undefined);
  out(5000, 500n); // and from near 2^64 down to a small value: the counter wrapped
  t.deepEqual(resets.map((r) => r[0]), ['reset', 'implausible', 'wrap']);
  t.is(s.readings(5000).bandwidthBps, undefined);

  // A jump beyond the interface's speed (10 Gbit/s) is a glitch.
  s.apply(p('/interfaces/interface[name=xe-0/0/0]/state/high-speed'), u(10_000), 5000, 5000);
  out(6000, 500n + 2_000_000_000n); // 16 Gbit/s
  t.is(resets.at(-1)![0], 'implausible');
  t.is(s.readings(6000).bandwidthBps, undefined);
  out(7000, 500n + 2_000_000_000n + 125_000_000n);
  t.is(s.readings(7000).bandwidthBps, 1_000_000_000);
  for (const r of resets) t.regex(r[1], /xe-0\/0\/0 out-octets/);
});

test('duplicates and out-of-order samples leave the rate alone', (t) => {
  const s = state();
  const out = (ms: number, v: number) => s.apply(p(OUT('xe-0/0/0')), u(v), ms, ms);
  out(0, 0);
  out(1000, 1_000_000);
  out(1000, 1_000_000); // heartbeat resend
  out(500, 400_000); // late
  t.is(s.readings(1000).bandwidthBps, 8_000_000);
});

test('state from oper-status: all relay-facing down is down, some is degraded, all ud-* down is down', (t) => {
  const s = state();
  const oper = (name: string, v: string) => s.apply(p(`/interfaces/interface[name=${name}]/state/oper-status`), str(v), 1, 1);
  t.is(s.readings(1).state, undefined, 'nothing known');
  oper('xe-0/0/0', 'UP');
  oper('xe-0/0/1', 'UP');
  oper('ud-0/0/0', 'UP');
  t.like(s.readings(1).state, { value: 'up' });
  oper('xe-0/0/1', 'LOWER_LAYER_DOWN');
  t.deepEqual(s.readings(1).state, { value: 'degraded', reason: 'relay-facing interface down: xe-0/0/1' });
  oper('xe-0/0/0', 'DOWN');
  t.deepEqual(s.readings(1).state, { value: 'down', reason: 'relay-facing interfaces down: xe-0/0/0, xe-0/0/1' });
  oper('xe-0/0/0', 'UP');
  oper('xe-0/0/1', 'UP');
  oper('ud-0/0/0', 'DOWN');
  t.deepEqual(s.readings(1).state, { value: 'down', reason: 'AMT tunnel interface down: ud-0/0/0' });
});

test('tunnels: the summary count wins; else active tunnel entries, which deletes remove', (t) => {
  const s = state();
  const tunnel = (gw: string, v = 'Active') => s.apply(p(`/junos/amt/tunnels/tunnel[gateway=${gw}][port=2268]/state`), str(v), 1, 1);
  t.is(s.readings(1).tunnels, undefined);
  tunnel('10.0.0.1');
  tunnel('10.0.0.2');
  tunnel('10.0.0.3');
  tunnel('10.0.0.3'); // repeated
  t.is(s.readings(1).tunnels, 3);
  tunnel('10.0.0.2', 'Inactive');
  t.is(s.readings(1).tunnels, 2);
  s.delete(p('/junos/amt/tunnels/tunnel[gateway=10.0.0.1][port=2268]'));
  t.is(s.readings(1).tunnels, 1);
  s.delete(p('/junos/amt/tunnels'));
  t.is(s.readings(1).tunnels, 0, 'an empty list after entries were seen is zero tunnels');
  s.apply(p('/junos/amt/summary/active-tunnels'), u(42), 1, 1);
  tunnel('10.0.0.9');
  t.is(s.readings(1).tunnels, 42);
  s.delete(p('/junos/amt/summary'));
  t.is(s.readings(1).tunnels, 1);
});

test('deletes of an interface, its counters or everything', (t) => {
  const s = state();
  for (const name of ['xe-0/0/0', 'xe-0/0/1']) {
    s.apply(p(IN(name)), u(1), 1, 1);
    s.apply(p(`/interfaces/interface[name=${name}]/state/oper-status`), str('UP'), 1, 1);
  }
  s.delete(p('/interfaces/interface[name=xe-0/0/0]/state/counters'));
  t.is(s.interfaces.get('xe-0/0/0')?.in, undefined);
  t.is(s.interfaces.get('xe-0/0/0')?.oper, 'UP');
  s.delete(p('/interfaces/interface[name=xe-0/0/0]'));
  t.false(s.interfaces.has('xe-0/0/0'));
  t.true(s.interfaces.has('xe-0/0/1'));
  s.delete(p('/interfaces'));
  t.is(s.interfaces.size, 0);
  s.apply(p('/junos/amt/statistics/invalid-mac'), u(1), 1, 1);
  s.delete(p('/junos/amt/statistics/invalid-mac'));
  t.is(s.statistics.size, 0);
});

test('whatever the encoding, the same leaves reach the same readings (PROTO, JSON_IETF, JSON blobs through the wire layer)', (t) => {
  const wire = (n: NotificationMsg) => {
    const bytes = encodeMessage('gnmi.Notification', n);
    if (!bytes.ok) throw new Error(bytes.error);
    const back = decodeMessage<NotificationMsg>('gnmi.Notification', bytes.value);
    if (!back.ok) throw new Error(back.error);
    return flattenNotification(back.value);
  };
  const feed = (s: MxState, n: NotificationMsg) => {
    const flat = wire(n);
    const ms = Number(flat.timestampNs / 1_000_000n);
    for (const x of flat.updates) s.apply(x.path, x.value, ms, ms);
  };
  const proto = (ms: number, out: number): NotificationMsg => ({
    timestamp: String(BigInt(ms) * 1_000_000n),
    prefix: pathToMsg(p('/interfaces/interface[name=xe-0/0/0]/state')),
    update: [
      { path: pathToMsg(p('counters/out-octets')), val: { uint_val: String(out) } },
      { path: pathToMsg(p('oper-status')), val: { string_val: 'UP' } },
    ],
  });
  const ietf = (ms: number, out: number): NotificationMsg => ({
    timestamp: String(BigInt(ms) * 1_000_000n),
    update: [
      {
        path: pathToMsg(p('/interfaces/interface[name=xe-0/0/0]/state')),
        val: { json_ietf_val: Buffer.from(JSON.stringify({ 'openconfig-interfaces:counters': { 'out-octets': String(out) }, 'openconfig-interfaces:oper-status': 'UP' })) },
      },
    ],
  });
  const json = (ms: number, out: number): NotificationMsg => ({
    timestamp: String(BigInt(ms) * 1_000_000n),
    update: [{ path: pathToMsg(p('/interfaces/interface')), val: { json_val: Buffer.from(`[{"name":"xe-0/0/0","state":{"counters":{"out-octets":${out}},"oper-status":"UP"}}]`) } }],
  });
  for (const make of [proto, ietf, json]) {
    const s = state();
    feed(s, make(1000, 0));
    feed(s, make(2000, 1_250_000));
    t.like(s.readings(2000), { bandwidthBps: 10_000_000, state: { value: 'up' } }, make.name);
  }
});

test('interfaceMatcher: globs, and the default leaves out tunnel, loopback and management interfaces', (t) => {
  const d = interfaceMatcher([]);
  t.deepEqual(['xe-0/0/0', 'et-1/0/0', 'ae0', 'ud-0/0/0', 'lo0', 'fxp0', 'em0'].filter(d), ['xe-0/0/0', 'et-1/0/0', 'ae0']);
  const g = interfaceMatcher(['ae*', 'xe-0/0/?']);
  t.deepEqual(['ae0', 'ae12', 'xe-0/0/1', 'xe-0/0/10', 'xe-1/0/0'].filter(g), ['ae0', 'ae12', 'xe-0/0/1']);
});
