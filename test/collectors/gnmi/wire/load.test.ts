import test from 'ava';
import { decodeMessage, encodeMessage, gnmiServiceDefinition, type MessageName } from '../../../../src/collectors/gnmi/wire/load.ts';
import type { SubscribeResponseMsg } from '../../../../src/collectors/gnmi/wire/types.ts';

/**
 * Wire compatibility with OpenConfig's gnmi.proto: each row is a message whose bytes are known
 * from the field numbers and types in /work/shared/notes/protocol-facts.md §2 (tag byte =
 * field << 3 | wire type). If a field number or type in proto/ were wrong, the bytes would differ.
 */
const WIRE: [MessageName, object, string][] = [
  ['gnmi.SubscribeResponse', { sync_response: true }, '1801'], // sync_response = 3, varint
  ['gnmi.SubscribeResponse', { update: { timestamp: '1' } }, '0a020801'], // update = 1; Notification.timestamp = 1
  ['gnmi.Notification', { prefix: { target: 'm' } }, '12032201' + '6d'], // prefix = 2; Path.target = 4
  ['gnmi.Path', { origin: 'o', elem: [{ name: 'a', key: { k: 'v' } }] }, '12016f' + '1a0b' + '0a0161' + '1206' + '0a016b' + '120176'], // origin 2, elem 3, PathElem name 1 / key 2 (map entry key 1, value 2)
  ['gnmi.Path', { element: ['x'] }, '0a0178'], // deprecated element = 1
  ['gnmi.TypedValue', { string_val: 'a' }, '0a0161'],
  ['gnmi.TypedValue', { int_val: '-1' }, '10ffffffffffffffffff01'], // int64 = 2, two's complement varint
  ['gnmi.TypedValue', { uint_val: '18446744073709551615' }, '18ffffffffffffffffff01'], // uint64 = 3
  ['gnmi.TypedValue', { bool_val: true }, '2001'],
  ['gnmi.TypedValue', { bytes_val: Buffer.from([1]) }, '2a0101'],
  ['gnmi.TypedValue', { float_val: 1 }, '350000803f'], // float = 6, fixed32
  ['gnmi.TypedValue', { double_val: 1 }, '71000000000000f03f'], // double = 14, fixed64
  ['gnmi.TypedValue', { decimal_val: { digits: '5', precision: 1 } }, '3a0408051001'],
  ['gnmi.TypedValue', { leaflist_val: { element: [{ bool_val: true }] } }, '42040a022001'],
  ['gnmi.TypedValue', { any_val: { type_url: 't' } }, '4a030a0174'],
  ['gnmi.TypedValue', { json_val: Buffer.from('1') }, '520131'],
  ['gnmi.TypedValue', { json_ietf_val: Buffer.from('1') }, '5a0131'],
  ['gnmi.TypedValue', { ascii_val: 'a' }, '620161'],
  ['gnmi.TypedValue', { proto_bytes: Buffer.from([1]) }, '6a0101'],
  ['gnmi.SubscribeRequest', { poll: {} }, '1a00'], // poll = 3
  ['gnmi.SubscribeRequest', { extension: [{ registered_ext: { id: 1, msg: Buffer.from([8, 1]) } }] }, '2a080a06080112020801'], // extension = 5
  [
    'gnmi.SubscribeRequest',
    {
      subscribe: {
        prefix: {},
        subscription: [{ mode: 'SAMPLE', sample_interval: '1', suppress_redundant: true, heartbeat_interval: '2' }],
        qos: { marking: 1 },
        mode: 'POLL',
        allow_aggregation: true,
        use_models: [{ name: 'n' }],
        encoding: 'JSON_IETF',
        updates_only: true,
      },
    },
    '0a1d' + '0a00' + '1208' + '1002' + '1801' + '2001' + '2802' + '2202' + '0801' + '2802' + '3001' + '3a03' + '0a016e' + '4004' + '4801',
  ],
  ['gnmi.GetRequest', { prefix: {}, path: [{}], type: 'STATE', encoding: 'PROTO', use_models: [{}] }, '0a00' + '1200' + '1802' + '2802' + '3200'],
  ['gnmi.CapabilityResponse', { supported_models: [{ name: 'a', organization: 'b', version: 'c' }], supported_encodings: ['JSON_IETF'], gNMI_version: 'v' }, '0a09' + '0a0161' + '120162' + '1a0163' + '120104' + '1a0176'],
  ['gnmi_ext.Extension', { history: { snapshot_time: '1' } }, '1a020801'],
  ['GnmiJuniperTelemetryHeaderExtension', { system_id: 's', sequence_number: '1', eom: true, stream_id: 'PERIODIC' }, '0a0173' + '4001' + '7001' + '800102'],
];

test('messages encode to the bytes OpenConfig gnmi.proto field numbers give', (t) => {
  for (const [name, message, hex] of WIRE) {
    const bytes = encodeMessage(name, message);
    t.true(bytes.ok, name);
    t.is(bytes.ok ? bytes.value.toString('hex') : '', hex, `${name} ${JSON.stringify(message)}`);
  }
});

test('Notification: update = 4, delete = 5, atomic = 6; reserved 3 is not a field', (t) => {
  const bytes = encodeMessage('gnmi.Notification', { update: [{}], delete: [{}], atomic: true });
  t.is(bytes.ok ? bytes.value.toString('hex') : '', '2200' + '2a00' + '3001');
  // a message carrying the old field 3 ("alias", reserved upstream) decodes with the field skipped
  const withAlias = decodeMessage('gnmi.Notification', Buffer.from('1a0123' + '3001', 'hex'));
  t.deepEqual(withAlias.ok ? withAlias.value : {}, { update: [], delete: [], atomic: true });
});

test('garbage bytes decode to an error value', (t) => {
  const truncated = decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', Buffer.from('0aff7f', 'hex'));
  t.false(truncated.ok);
  t.regex(truncated.ok ? '' : truncated.error, /^undecodable gnmi\.SubscribeResponse: /);
  t.false(decodeMessage('gnmi.SubscribeResponse', Buffer.from('0f', 'hex')).ok, 'wire type 7 does not exist');
  t.false(encodeMessage('gnmi.SubscribeResponse', [] as unknown as object).ok, 'an array is not a message');
});

test('the service: package gnmi, service gNMI, four RPCs', (t) => {
  const service = gnmiServiceDefinition();
  t.deepEqual(
    Object.fromEntries(Object.entries(service).map(([name, m]) => [name, [m.path, m.requestStream, m.responseStream]])),
    {
      Capabilities: ['/gnmi.gNMI/Capabilities', false, false],
      Get: ['/gnmi.gNMI/Get', false, false],
      Set: ['/gnmi.gNMI/Set', false, false],
      Subscribe: ['/gnmi.gNMI/Subscribe', true, true],
    },
  );
  const raw = gnmiServiceDefinition({ rawResponses: true });
  const buf = Buffer.from('1801', 'hex');
  t.is(raw.Subscribe!.responseDeserialize(buf), buf, 'raw responses are handed over undecoded');
});

test('the wire module imports nothing from dns/, driad/ or api/ (the collector contract)', async (t) => {
  const { readdir, readFile } = await import('node:fs/promises');
  const dir = new URL('../../../../src/collectors/gnmi/wire/', import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
  t.true(files.length >= 7);
  for (const f of files) {
    const imports = [...(await readFile(new URL(f, dir), 'utf8')).matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    t.deepEqual(
      imports.filter((i) => /\/(dns|driad|api)\//.test(i)),
      [],
      f,
    );
  }
});
