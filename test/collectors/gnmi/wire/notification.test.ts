import test from 'ava';
import fc from 'fast-check';
import { parseJson } from '../../../../src/collectors/gnmi/wire/json.ts';
import { decodeMessage, encodeMessage } from '../../../../src/collectors/gnmi/wire/load.ts';
import { flattenNotification, readSubscribeResponse, type LeafUpdate } from '../../../../src/collectors/gnmi/wire/notification.ts';
import { parsePath, pathToMsg, pathToString } from '../../../../src/collectors/gnmi/wire/path.ts';
import type { NotificationMsg, SubscribeResponseMsg } from '../../../../src/collectors/gnmi/wire/types.ts';
import { asBigInt, type GnmiValue } from '../../../../src/collectors/gnmi/wire/value.ts';

function path(s: string) {
  const r = parsePath(s);
  if (!r.ok) throw new Error(r.error);
  return pathToMsg(r.value);
}

/** Through real bytes, as from a target. */
function wire(n: NotificationMsg): NotificationMsg {
  const bytes = encodeMessage('gnmi.Notification', n);
  if (!bytes.ok) throw new Error(bytes.error);
  const back = decodeMessage<NotificationMsg>('gnmi.Notification', bytes.value);
  if (!back.ok) throw new Error(back.error);
  return back.value;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** `path -> value` lines, for readable assertions. */
function lines(updates: LeafUpdate[]): Record<string, string> {
  const show = (v: GnmiValue): string =>
    v.type === 'error' ? `error: ${v.error}` : v.type === 'leaflist' ? `leaflist ${v.value.map(show).join(', ')}` : 'value' in v ? `${v.type} ${String(v.value)}` : v.type;
  return Object.fromEntries(updates.map((u) => [pathToString(u.path), show(u.value)]));
}

test('PROTO-encoded updates: prefix joined, target and origin kept, timestamp exact', (t) => {
  const flat = flattenNotification(
    wire({
      timestamp: '1700000000123456789',
      prefix: { ...path('openconfig:/interfaces/interface[name=xe-0/0/0]/state'), target: 'mx1' },
      update: [
        { path: path('counters/in-octets'), val: { uint_val: '18446744073709551615' } },
        { path: path('oper-status'), val: { string_val: 'UP' } },
        { path: path('high-speed'), val: { uint_val: '10000' }, duplicates: 2 },
      ],
    }),
  );
  t.is(flat.timestampNs, 1700000000123456789n);
  t.is(flat.errors, 0);
  t.deepEqual(lines(flat.updates), {
    'openconfig:/interfaces/interface[name=xe-0/0/0]/state/counters/in-octets': 'uint 18446744073709551615',
    'openconfig:/interfaces/interface[name=xe-0/0/0]/state/oper-status': 'string UP',
    'openconfig:/interfaces/interface[name=xe-0/0/0]/state/high-speed': 'uint 10000',
  });
  t.true(flat.updates.every((u) => u.path.target === 'mx1' && u.timestampNs === 1700000000123456789n));
  t.is(flat.updates[2]!.duplicates, 2);
});

test('a JSON_IETF blob for a container becomes one update per leaf, module prefixes dropped', (t) => {
  const blob = {
    'openconfig-interfaces:in-octets': '18446744073709551615',
    'openconfig-interfaces:out-octets': '42',
    'openconfig-interfaces:in-unicast-pkts': '7',
    'openconfig-interfaces:last-clear': '1700000000000000000',
  };
  const flat = flattenNotification(
    wire({
      timestamp: '5',
      update: [{ path: path('/interfaces/interface[name=ud-0/0/0]/state/counters'), val: { json_ietf_val: json(blob) } }],
    }),
  );
  t.deepEqual(lines(flat.updates), {
    '/interfaces/interface[name=ud-0/0/0]/state/counters/in-octets': 'string 18446744073709551615',
    '/interfaces/interface[name=ud-0/0/0]/state/counters/out-octets': 'string 42',
    '/interfaces/interface[name=ud-0/0/0]/state/counters/in-unicast-pkts': 'string 7',
    '/interfaces/interface[name=ud-0/0/0]/state/counters/last-clear': 'string 1700000000000000000',
  });
  t.is(asBigInt(flat.updates[0]!.value), 18446744073709551615n, 'RFC 7951 strings read as exact integers');
});

test('nested JSON: containers, lists keyed by their keys, leaf-lists, empty, big numbers', (t) => {
  const text = `{"openconfig-interfaces:interface":[
      {"name":"xe-0/0/0","state":{"oper-status":"UP","high-speed":10000,"counters":{"out-octets":18446744073709551615}}},
      {"name":"ud-0/0/0","state":{"oper-status":"DOWN"}}],
    "tunnel":[{"gateway":"192.0.2.1","port":2268,"state":"Active"}],
    "other":[{"a":1},{"a":2}],
    "flags":["x","y"], "nothing":[null], "gone":null, "ratio":0.5, "up":true, "empty":{}}`;
  const flat = flattenNotification(wire({ update: [{ path: path('/root'), val: { json_val: Buffer.from(text) } }] }));
  t.deepEqual(lines(flat.updates), {
    '/root/interface[name=xe-0/0/0]/name': 'string xe-0/0/0',
    '/root/interface[name=xe-0/0/0]/state/oper-status': 'string UP',
    '/root/interface[name=xe-0/0/0]/state/high-speed': 'uint 10000',
    '/root/interface[name=xe-0/0/0]/state/counters/out-octets': 'uint 18446744073709551615',
    '/root/interface[name=ud-0/0/0]/name': 'string ud-0/0/0',
    '/root/interface[name=ud-0/0/0]/state/oper-status': 'string DOWN',
    '/root/tunnel[gateway=192.0.2.1][port=2268]/gateway': 'string 192.0.2.1',
    '/root/tunnel[gateway=192.0.2.1][port=2268]/port': 'uint 2268',
    '/root/tunnel[gateway=192.0.2.1][port=2268]/state': 'string Active',
    '/root/other[@index=0]/a': 'uint 1',
    '/root/other[@index=1]/a': 'uint 2',
    '/root/flags': 'leaflist string x, string y',
    '/root/nothing': 'empty',
    '/root/gone': 'empty',
    '/root/ratio': 'double 0.5',
    '/root/up': 'bool true',
  });
});

test('a blob that is a whole list replaces the last path element with keyed entries', (t) => {
  const flat = flattenNotification(
    wire({
      update: [
        {
          path: path('/interfaces/interface'),
          val: { json_ietf_val: json([{ name: 'xe-0/0/0', state: { 'oper-status': 'UP' } }]) },
        },
      ],
    }),
  );
  t.deepEqual(lines(flat.updates), {
    '/interfaces/interface[name=xe-0/0/0]/name': 'string xe-0/0/0',
    '/interfaces/interface[name=xe-0/0/0]/state/oper-status': 'string UP',
  });
});

test('a scalar JSON value stays at its path; expandJson: false keeps blobs whole', (t) => {
  const n = wire({ update: [{ path: path('/a/b'), val: { json_ietf_val: json('UP') } }, { path: path('/a/c'), val: { json_val: json({ d: 1 }) } }] });
  t.deepEqual(lines(flattenNotification(n).updates), { '/a/b': 'string UP', '/a/c/d': 'uint 1' });
  const whole = flattenNotification(n, { expandJson: false });
  t.deepEqual(
    whole.updates.map((u) => u.value.type),
    ['json_ietf', 'json'],
  );
});

test('deletes are joined with the prefix; bad updates are error values and counted', (t) => {
  const flat = flattenNotification(
    wire({
      prefix: path('/junos/amt/tunnels'),
      update: [
        { path: path('tunnel[gateway=192.0.2.1][port=2268]/state'), val: { json_ietf_val: Buffer.from('{"broken":') } },
        { path: path('tunnel[gateway=192.0.2.2][port=2268]/state') },
        { path: path('tunnel[gateway=192.0.2.3][port=2268]/state'), val: { string_val: 'Active' } },
      ],
      delete: [path('tunnel[gateway=192.0.2.9][port=40000]'), path('tunnel[gateway=192.0.2.8][port=40001]')],
    }),
  );
  t.is(flat.errors, 2);
  t.deepEqual(lines(flat.updates), {
    '/junos/amt/tunnels/tunnel[gateway=192.0.2.1][port=2268]/state': `error: json_ietf_val: invalid JSON (${jsonError('{"broken":')}): "{\\"broken\\":"`,
    '/junos/amt/tunnels/tunnel[gateway=192.0.2.2][port=2268]/state': 'error: update without a value',
    '/junos/amt/tunnels/tunnel[gateway=192.0.2.3][port=2268]/state': 'string Active',
  });
  t.deepEqual(flat.deletes.map(pathToString), ['/junos/amt/tunnels/tunnel[gateway=192.0.2.9][port=40000]', '/junos/amt/tunnels/tunnel[gateway=192.0.2.8][port=40001]']);
});

test('origin on both prefix and path: an error value when they differ', (t) => {
  const flat = flattenNotification(wire({ prefix: path('openconfig:/interfaces'), update: [{ path: path('junos_cli:/x'), val: { string_val: 'y' } }, { path: path('openconfig:/y'), val: { string_val: 'z' } }] }));
  t.deepEqual(lines(flat.updates), { 'junos_cli:/x': 'error: origin set in both prefix (openconfig) and path (junos_cli)', 'openconfig:/interfaces/y': 'string z' });
  t.is(flat.errors, 1);
});

function jsonError(text: string): string {
  const r = parseJson(Buffer.from(text));
  return r.ok ? '' : /\((.*)\)/.exec(r.error)![1]!;
}

test('SubscribeResponse: update, sync_response, and empty or odd responses as errors', (t) => {
  const read = (r: SubscribeResponseMsg) => {
    const bytes = encodeMessage('gnmi.SubscribeResponse', r);
    const back = decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', bytes.ok ? bytes.value : Buffer.alloc(0));
    return readSubscribeResponse(back.ok ? back.value : {});
  };
  const update = read({ update: { timestamp: '1', update: [{ path: path('/a'), val: { bool_val: true } }] } });
  t.is(update.kind, 'update');
  t.deepEqual(update.kind === 'update' ? lines(update.notification.updates) : {}, { '/a': 'bool true' });
  t.is(read({ sync_response: true }).kind, 'sync');
  t.deepEqual(read({}), { kind: 'error', error: 'empty SubscribeResponse (no update, sync_response or error)', extensions: { unknown: [], errors: [] } });
  const error = read({ error: { code: 14, message: 'gone' } });
  t.is(error.kind === 'error' ? error.error : '', 'target error 14: gone');
});

test('objects of the wrong shape (not from the decoder) give errors, not exceptions', (t) => {
  const odd = readSubscribeResponse({ response: 'update', update: { update: [null, 5, { path: { elem: 'x' }, val: { value: 'uint_val', uint_val: {} } }] } } as never);
  t.is(odd.kind, 'update');
  t.deepEqual(odd.kind === 'update' ? odd.notification.updates.map((u) => u.value.type) : [], ['error', 'error', 'error']);
  t.is(readSubscribeResponse({ response: 'update', update: { update: 'nope', delete: 7 } } as never).kind, 'update');
  t.is(readSubscribeResponse(null as never).kind, 'error');
});

test('random bytes and corrupted responses never throw (property)', (t) => {
  const valid = encodeMessage('gnmi.SubscribeResponse', {
    update: {
      timestamp: '1',
      prefix: path('/interfaces/interface[name=xe-0/0/0]'),
      update: [
        { path: path('state/counters/in-octets'), val: { uint_val: '5' } },
        { path: path('state'), val: { json_ietf_val: json({ 'openconfig-interfaces:oper-status': 'UP' }) } },
      ],
      delete: [path('/a')],
    },
    extension: [{ registered_ext: { id: 1, msg: Buffer.from('0a0161', 'hex') } }],
  });
  const base = valid.ok ? valid.value : Buffer.alloc(0);
  const readAll = (bytes: Uint8Array) => {
    const d = decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', bytes);
    if (d.ok) readSubscribeResponse(d.value);
    return true;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), readAll), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
      const b = Buffer.from(base);
      for (const [i, v] of flips) b[i] = v;
      return readAll(b);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
