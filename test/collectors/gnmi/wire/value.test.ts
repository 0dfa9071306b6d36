import test from 'ava';
import { decodeMessage, encodeMessage } from '../../../../src/collectors/gnmi/wire/load.ts';
import type { TypedValueMsg } from '../../../../src/collectors/gnmi/wire/types.ts';
import {
  asBigInt,
  asNumber,
  asString,
  decimalText,
  decodeLegacyValue,
  decodeTypedValue,
  typedValueMsg,
  type GnmiValue,
} from '../../../../src/collectors/gnmi/wire/value.ts';

/** Sends a TypedValue through real protobuf bytes, as a target would, and decodes it. */
function overTheWire(msg: TypedValueMsg): GnmiValue {
  const bytes = encodeMessage('gnmi.TypedValue', msg);
  if (!bytes.ok) throw new Error(bytes.error);
  const back = decodeMessage<TypedValueMsg>('gnmi.TypedValue', bytes.value);
  if (!back.ok) throw new Error(back.error);
  return decodeTypedValue(back.value);
}

const U64_MAX = 18446744073709551615n;
const I64_MIN = -9223372036854775808n;

test('every TypedValue member decodes, 64-bit integers without precision loss', (t) => {
  t.deepEqual(overTheWire({ string_val: 'UP' }), { type: 'string', value: 'UP' });
  t.deepEqual(overTheWire({ ascii_val: 'show amt' }), { type: 'ascii', value: 'show amt' });
  t.deepEqual(overTheWire({ uint_val: U64_MAX.toString() }), { type: 'uint', value: U64_MAX });
  t.deepEqual(overTheWire({ uint_val: '9007199254740993' }), { type: 'uint', value: 9007199254740993n }, '2^53 + 1 stays exact');
  t.deepEqual(overTheWire({ uint_val: 0 }), { type: 'uint', value: 0n }, 'a zero oneof member is still present');
  t.deepEqual(overTheWire({ int_val: I64_MIN.toString() }), { type: 'int', value: I64_MIN });
  t.deepEqual(overTheWire({ int_val: -1 }), { type: 'int', value: -1n });
  t.deepEqual(overTheWire({ bool_val: false }), { type: 'bool', value: false });
  const bytes = overTheWire({ bytes_val: Buffer.from([0, 1, 255]) });
  t.is(bytes.type, 'bytes');
  t.deepEqual(bytes.type === 'bytes' ? [...bytes.value] : [], [0, 1, 255]);
  t.deepEqual(overTheWire({ double_val: 0.1 }), { type: 'double', value: 0.1 });
  const f = overTheWire({ float_val: 1.5 });
  t.deepEqual(f, { type: 'float', value: 1.5 });
  t.deepEqual(overTheWire({ decimal_val: { digits: '-12345', precision: 2 } }), { type: 'decimal', digits: -12345n, precision: 2, value: -123.45, text: '-123.45' });
  t.deepEqual(overTheWire({ decimal_val: { digits: '5', precision: 3 } }), { type: 'decimal', digits: 5n, precision: 3, value: 0.005, text: '0.005' });
  t.deepEqual(overTheWire({ leaflist_val: { element: [{ string_val: 'a' }, { uint_val: '7' }, { bool_val: true }] } }), {
    type: 'leaflist',
    value: [
      { type: 'string', value: 'a' },
      { type: 'uint', value: 7n },
      { type: 'bool', value: true },
    ],
  });
  const any = overTheWire({ any_val: { type_url: 'type.googleapis.com/x.Y', value: Buffer.from([8, 1]) } });
  t.is(any.type === 'any' ? any.typeUrl : '', 'type.googleapis.com/x.Y');
  t.deepEqual(overTheWire({ json_val: Buffer.from('{"in-octets": 18446744073709551615, "name": "xe-0/0/0"}') }), {
    type: 'json',
    value: { 'in-octets': U64_MAX, name: 'xe-0/0/0' },
  });
  t.deepEqual(overTheWire({ json_ietf_val: Buffer.from('{"openconfig-interfaces:in-octets":"123"}') }), {
    type: 'json_ietf',
    value: { 'openconfig-interfaces:in-octets': '123' },
  });
  const proto = overTheWire({ proto_bytes: Buffer.from([0x08, 0x96, 0x01]) });
  t.deepEqual(proto.type === 'proto_bytes' ? [...proto.value] : [], [0x08, 0x96, 0x01]);
});

test('values that cannot be read are error values, never exceptions', (t) => {
  const error = (v: GnmiValue) => (v.type === 'error' ? v.error : `not an error: ${v.type}`);
  t.regex(error(overTheWire({ json_val: Buffer.from('{"in-octets": 12') })), /^json_val: invalid JSON/);
  t.regex(error(overTheWire({ json_ietf_val: Buffer.from([0xff, 0xfe, 0x7b]) })), /^json_ietf_val: not UTF-8/);
  t.regex(error(overTheWire({})), /no member set/);
  t.regex(error(decodeTypedValue(undefined)), /TypedValue missing/);
  t.regex(error(decodeTypedValue({ value: 'uint_val', uint_val: 'twelve' })), /uint_val: not an integer/);
  t.regex(error(decodeTypedValue({ value: 'uint_val', uint_val: '-3' })), /negative/);
  t.regex(error(decodeTypedValue({ value: 'string_val', string_val: 5 as unknown as string })), /not a string/);
  t.regex(error(decodeTypedValue({ value: 'decimal_val', decimal_val: { digits: '1', precision: 99 } })), /bad precision/);
  t.regex(error(decodeTypedValue({ value: 'nonsense' as never })), /unknown TypedValue member/);
  const nested = overTheWire({ leaflist_val: { element: [{ leaflist_val: { element: [] } }, { json_val: Buffer.from('1') }] } });
  t.deepEqual(
    nested.type === 'leaflist' ? nested.value.map((v) => v.type) : [],
    ['error', 'error'],
    'leaf-lists hold scalars only',
  );
});

test('the deprecated Update.value is read by its encoding', (t) => {
  t.deepEqual(decodeLegacyValue({ value: Buffer.from('{"a":1}'), type: 'JSON' }), { type: 'json', value: { a: 1 } });
  t.deepEqual(decodeLegacyValue({ value: Buffer.from('"x"'), type: 'JSON_IETF' }), { type: 'json_ietf', value: 'x' });
  t.deepEqual(decodeLegacyValue({ value: Buffer.from('hi'), type: 'ASCII' }), { type: 'ascii', value: 'hi' });
  t.is(decodeLegacyValue({ value: Buffer.from('hi'), type: 9 }).type, 'error');
});

test('typedValueMsg and decodeTypedValue are inverses over the wire', (t) => {
  const values: GnmiValue[] = [
    { type: 'string', value: 'xe-0/0/0' },
    { type: 'uint', value: U64_MAX },
    { type: 'int', value: I64_MIN },
    { type: 'bool', value: true },
    { type: 'double', value: -2.5 },
    { type: 'decimal', digits: 314n, precision: 2, value: 3.14, text: '3.14' },
    { type: 'leaflist', value: [{ type: 'string', value: 'a' }, { type: 'int', value: 2n }] },
    { type: 'json_ietf', value: { 'openconfig-interfaces:out-octets': U64_MAX } },
    { type: 'json', value: [1, 'two', null, { x: false }] },
  ];
  for (const v of values) t.deepEqual(overTheWire(typedValueMsg(v)), v, v.type);
});

test('reading counters and state from any encoding: asBigInt, asNumber, asString', (t) => {
  t.is(asBigInt({ type: 'uint', value: U64_MAX }), U64_MAX);
  t.is(asBigInt({ type: 'string', value: '18446744073709551615' }), U64_MAX, 'JSON_IETF sends uint64 as a string');
  t.is(asBigInt({ type: 'double', value: 42 }), 42n);
  t.is(asBigInt({ type: 'double', value: 4.2 }), undefined);
  t.is(asBigInt({ type: 'string', value: 'n/a' }), undefined);
  t.is(asBigInt({ type: 'decimal', digits: 500n, precision: 2, value: 5, text: '5.00' }), undefined);
  t.is(asNumber({ type: 'string', value: '10000' }), 10000);
  t.is(asNumber({ type: 'string', value: '' }), undefined);
  t.is(asNumber({ type: 'bool', value: true }), undefined);
  t.is(asString({ type: 'uint', value: 7n }), '7');
  t.is(asString({ type: 'bytes', value: new Uint8Array() }), undefined);
  t.is(decimalText(-5n, 3), '-0.005');
  t.is(decimalText(12n, 0), '12');
});
