import test from 'ava';
import { decodeExtensions, decodeJuniperHeader, EID_JUNIPER_TELEMETRY_HEADER, extensionId } from '../../../../src/collectors/gnmi/wire/extension.ts';
import { decodeMessage, encodeMessage } from '../../../../src/collectors/gnmi/wire/load.ts';
import type { ExtensionMsg, JuniperHeaderMsg, SubscribeResponseMsg } from '../../../../src/collectors/gnmi/wire/types.ts';

function headerBytes(h: JuniperHeaderMsg): Buffer {
  const r = encodeMessage('GnmiJuniperTelemetryHeaderExtension', h);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Extensions as a client receives them: inside a serialised SubscribeResponse. */
function received(extension: ExtensionMsg[]): ExtensionMsg[] {
  const bytes = encodeMessage('gnmi.SubscribeResponse', { sync_response: true, extension });
  const back = decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', bytes.ok ? bytes.value : Buffer.alloc(0));
  return back.ok ? (back.value.extension ?? []) : [];
}

const HEADER: JuniperHeaderMsg = {
  system_id: 'mx1:69.25.95.1',
  component_id: 65535,
  sub_component_id: 0,
  sensor_name: 'sensor_1001_1_1',
  subscribed_path: '/interfaces/interface/state/counters/',
  streamed_path: '/interfaces/interface/state/counters/',
  component: 'mib2d',
  sequence_number: '18446744073709551615',
  payload_get_timestamp: '1700000000001',
  stream_creation_timestamp: '1700000000000',
  export_timestamp: '1700000000002',
  sub_sequence_number: '3',
  eom: true,
  event_publish_timestamp: '1700000000003',
  stream_id: 'PERIODIC',
};

test("Juniper's telemetry header (registered extension 1) is decoded", (t) => {
  const ext = decodeExtensions(received([{ registered_ext: { id: EID_JUNIPER_TELEMETRY_HEADER, msg: headerBytes(HEADER) } }]));
  t.deepEqual(ext, {
    juniper: {
      systemId: 'mx1:69.25.95.1',
      componentId: 65535,
      subComponentId: 0,
      sensorName: 'sensor_1001_1_1',
      subscribedPath: '/interfaces/interface/state/counters/',
      streamedPath: '/interfaces/interface/state/counters/',
      component: 'mib2d',
      sequenceNumber: 18446744073709551615n,
      subSequenceNumber: 3n,
      payloadGetTimestampMs: 1700000000001,
      streamCreationTimestampMs: 1700000000000,
      exportTimestampMs: 1700000000002,
      eventPublishTimestampMs: 1700000000003,
      endOfMarker: true,
      streamType: 'PERIODIC',
    },
    unknown: [],
    errors: [],
  });
});

test('other extensions are returned as unknown, for the caller to count', (t) => {
  const ext = decodeExtensions(
    received([
      { registered_ext: { id: 999, msg: Buffer.from('x') } }, // EID_EXPERIMENTAL
      { registered_ext: { id: 4242, msg: Buffer.from('x') } },
      { registered_ext: { msg: Buffer.from('x') } }, // EID_UNSET
      { history: { snapshot_time: '1' } },
      { depth: { level: 2 } },
      { registered_ext: { id: 1, msg: headerBytes({ sequence_number: '7' }) } },
    ]),
  );
  t.deepEqual(ext.unknown, [
    { kind: 'registered', id: 999 },
    { kind: 'registered', id: 4242 },
    { kind: 'registered', id: 0 },
    { kind: 'history' },
    { kind: 'depth' },
  ]);
  t.is(ext.juniper?.sequenceNumber, 7n, 'the header is found among others');
  t.is(ext.juniper?.streamType, 'INITIAL_SYNC', 'stream_id 0 (the proto3 default) is INITIAL_SYNC');
  t.deepEqual(decodeExtensions(undefined), { unknown: [], errors: [] });
});

test('an undecodable header is an error, not a crash', (t) => {
  const ext = decodeExtensions(received([{ registered_ext: { id: 1, msg: Buffer.from('08ff', 'hex') } }])); // a truncated varint
  t.is(ext.juniper, undefined);
  t.is(ext.errors.length, 1);
  t.regex(ext.errors[0]!, /^Juniper telemetry header: undecodable GnmiJuniperTelemetryHeaderExtension: /);
  t.false(decodeJuniperHeader(Buffer.from([0x07])).ok);
});

test('extension ids: enum names and numbers', (t) => {
  t.is(extensionId('EID_EXPERIMENTAL'), 999);
  t.is(extensionId('EID_UNSET'), 0);
  t.is(extensionId(1), 1);
  t.is(extensionId(undefined), 0);
  t.is(extensionId('bogus'), undefined);
});
