// Property-based tests of the AMT codec, the IGMP/MLD decoders, the frame decoder and the pcap
// reader: random fields round-trip exactly; random and mutated bytes never throw and never
// decode to something that does not encode back to the same bytes.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx ava test/amt/codec.fuzz.test.ts
// Hunt longer with FUZZ_SCALE=<n> (multiplies every run count).

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { decodeAmt, encodeAmt } from '../../src/amt/codec.ts';
import { groupChanges, type GroupRecord } from '../../src/amt/group-records.ts';
import { formatIpv4, formatIpv6, internetChecksum, IPPROTO, pseudoHeaderSum, udpPacket } from '../../src/amt/inet.ts';
import { decodeMembershipQuery, decodeMembershipReport, encodeMembershipQuery, encodeMembershipReport } from '../../src/amt/membership.ts';
import type { AmtDeviation, AmtMessage } from '../../src/amt/messages.ts';
import { decodeUdpFrame, frameFor } from '../../src/capture/frame.ts';
import { LINKTYPE, PcapReader, writePcap } from '../../src/capture/pcap.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
if (!Number.isInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

function params(t: ExecutionContext, runs: number): { seed: number; numRuns: number; includeErrorInReport: boolean } {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  t.log(`FUZZ_SEED=${SEED} numRuns=${numRuns}`);
  return { seed: SEED, numRuns, includeErrorInReport: true };
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const mac = fc.tuple(u16, u32).map(([hi, lo]) => hi * 2 ** 32 + lo);
const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));
const ipv4 = bytes(4, 4).map((b) => formatIpv4(b));
const ipv6 = bytes(16, 16).map((b) => formatIpv6(b));
// A gateway address reads back as written unless it is IPv4-compatible (96 zero bits, then
// something outside 0.0.0.0/8), which decodes as the IPv4 address: generate neither ambiguity.
const gatewayV4 = bytes(4, 4).filter((b) => b[0] !== 0).map((b) => formatIpv4(b));
const gatewayV6 = bytes(16, 16).filter((b) => !(b.subarray(0, 12).every((x) => x === 0) && b[12] !== 0)).map((b) => formatIpv6(b));
const gateway = fc.record({ port: u16, address: fc.oneof(gatewayV4, gatewayV6) });
const packet = bytes(20, 300);

const messageArb: fc.Arbitrary<AmtMessage> = fc.oneof(
  u32.map((nonce): AmtMessage => ({ type: 'relay-discovery', nonce })),
  fc.tuple(u32, fc.oneof(ipv4, ipv6)).map(([nonce, relayAddress]): AmtMessage => ({ type: 'relay-advertisement', nonce, relayAddress })),
  fc.tuple(fc.boolean(), u32).map(([p, nonce]): AmtMessage => ({ type: 'request', p, nonce })),
  fc.tuple(fc.boolean(), mac, u32, packet, fc.option(gateway, { nil: null })).map(([limited, responseMac, nonce, p, g]): AmtMessage => ({ type: 'membership-query', limited, responseMac, nonce, packet: p, gateway: g })),
  fc.tuple(mac, u32, packet).map(([responseMac, nonce, p]): AmtMessage => ({ type: 'membership-update', responseMac, nonce, packet: p })),
  packet.map((p): AmtMessage => ({ type: 'multicast-data', packet: p })),
  fc.tuple(mac, u32, gateway).map(([responseMac, nonce, g]): AmtMessage => ({ type: 'teardown', responseMac, nonce, gateway: g })),
);

function expectedDeviation(m: AmtMessage, kernel: boolean): AmtDeviation | undefined {
  if (!kernel) return undefined;
  if (m.type === 'request' && m.p) return 'kernel-p-flag';
  if (m.type === 'membership-query' && (m.limited || m.gateway)) return 'kernel-query-flags';
  return undefined;
}

test('random fields: encode -> decode gives the message back, and the deviation exactly when kernel bits were used', (t) => {
  fc.assert(
    fc.property(messageArb, fc.boolean(), (m, kernel) => {
      const b = encodeAmt(m, { kernelFlags: kernel });
      const d = decodeAmt(b);
      if (!d.ok) return false;
      t.deepEqual(d.message, m);
      t.is(d.deviation, expectedDeviation(m, kernel));
      t.deepEqual(encodeAmt(d.message, { kernelFlags: d.deviation !== undefined }), b);
      return true;
    }),
    params(t, 1000),
  );
});

// Bytes shaped like messages (a real type, a length the type can or nearly can have, byte 1 from
// the flag values that mean something, the rest random), valid messages with mutations, and
// fully random bytes.
const LENGTHS: Record<number, number[]> = { 1: [8], 2: [12, 24], 3: [8], 4: [32, 50, 51, 70], 5: [32, 40, 60], 6: [22, 30, 60], 7: [30] };
const mutation = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([p, bit]) => (b: Buffer): Buffer => (b.length ? ((b[p % b.length] = (b[p % b.length] as number) ^ (1 << bit)), b) : b)),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([p, v]) => (b: Buffer): Buffer => (b.length ? ((b[p % b.length] = v), b) : b)),
  fc.nat().map((n) => (b: Buffer): Buffer => b.subarray(0, n % (b.length + 1))),
  fc.tuple(fc.nat(), bytes(1, 8)).map(([p, ins]) => (b: Buffer): Buffer => Buffer.concat([b.subarray(0, p % (b.length + 1)), ins, b.subarray(p % (b.length + 1))])),
);
const amtLikeBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 7 }), fc.constantFrom(0, 0, 0, 1, 2, 3, 0x40, 0x80, 0xc0, 0x81), fc.nat(), fc.integer({ min: -1, max: 1 }))
    .chain(([type, b1, pick, off]) => {
      const lengths = LENGTHS[type] as number[];
      const len = Math.max(1, (lengths[pick % lengths.length] as number) + (pick % 4 === 0 ? off : 0));
      return bytes(len, len).map((b) => {
        b[0] = type;
        if (len > 1) b[1] = b1;
        if (type <= 3) b.fill(0, 2, Math.min(4, len));
        return b;
      });
    }),
  fc.tuple(messageArb, fc.boolean(), fc.array(mutation, { maxLength: 2 })).map(([m, kernel, ms]) => ms.reduce((b, f) => f(Buffer.from(b)), encodeAmt(m, { kernelFlags: kernel }))),
  bytes(0, 64),
  bytes(0, 1500),
);

test('random bytes never throw; whatever decodes encodes back to the same bytes', (t) => {
  let decoded = 0;
  fc.assert(
    fc.property(amtLikeBytes, (b) => {
      const d = decodeAmt(b);
      if (!d.ok) return typeof d.reason === 'string' && d.detail.length > 0;
      decoded++;
      return encodeAmt(d.message, { kernelFlags: d.deviation !== undefined }).equals(b);
    }),
    params(t, 3000),
  );
  t.log(`${decoded} of the inputs decoded`);
  t.true(decoded > 0.1 * 3000 * SCALE, 'too few inputs decoded for the property to mean much');
});

const recordArb = (family: 4 | 6): fc.Arbitrary<GroupRecord> =>
  fc
    .tuple(fc.integer({ min: 1, max: 6 }), family === 4 ? ipv4 : ipv6, fc.array(family === 4 ? ipv4 : ipv6, { maxLength: 5 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }))
    .map(([type, group, sources, auxWords]) => (auxWords ? { type, group, sources, auxData: Buffer.alloc(auxWords * 4, 0xab) } : { type, group, sources }));

test('random IGMPv3/MLDv2 reports and queries round-trip through their IP datagrams', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4 as const, 6 as const), fc.nat(), (family, salt) => {
      const records = fc.sample(fc.array(recordArb(family), { maxLength: 8 }), { seed: salt, numRuns: 1 })[0] as GroupRecord[];
      const r = decodeMembershipReport(encodeMembershipReport({ family, records }));
      if (!r.ok) return false;
      t.deepEqual(r.value.records, records);
      groupChanges(r.value.records);
      const q = decodeMembershipQuery(encodeMembershipQuery({ family, qrv: salt % 8, qqic: salt % 256, maxRespCode: salt % 256, suppress: salt % 2 === 0 }));
      return q.ok && q.value.qrv === salt % 8 && q.value.qqic === salt % 256 && q.value.general;
    }),
    params(t, 300),
  );
});

/** Rewrites the IPv4 header, IGMP and ICMPv6 checksums where the lengths allow, so mutations reach the message parsers. */
function fixChecksums(b: Buffer): Buffer {
  if (b.length >= 20 && (b[0] as number) >> 4 === 4) {
    const ihl = ((b[0] as number) & 0x0f) * 4;
    if (ihl >= 20 && ihl <= b.length) {
      b.writeUInt16BE(0, 10);
      b.writeUInt16BE(internetChecksum(b, 0, ihl), 10);
      const end = Math.min(b.readUInt16BE(2), b.length);
      if (end >= ihl + 4) {
        b.writeUInt16BE(0, ihl + 2);
        b.writeUInt16BE(internetChecksum(b, ihl, end), ihl + 2);
      }
    }
  } else if (b.length >= 52 && (b[0] as number) >> 4 === 6) {
    const end = Math.min(40 + b.readUInt16BE(4), b.length);
    if (end >= 52) {
      b.writeUInt16BE(0, 50);
      b.writeUInt16BE(internetChecksum(b, 48, end, pseudoHeaderSum(b.subarray(8, 24), b.subarray(24, 40), IPPROTO.ICMPV6, end - 48)), 50);
    }
  }
  return b;
}


test('mutated IGMP/MLD datagrams (checksums fixed up) never throw', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4 as const, 6 as const), fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (family, report, ms, fix) => {
      let b = report ? encodeMembershipReport({ family, records: [{ type: 1, group: family === 4 ? '232.1.1.1' : 'ff3e::1', sources: [family === 4 ? '192.0.2.1' : '2001:db8::1'] }, { type: 4, group: family === 4 ? '239.1.1.1' : 'ff0e::1', sources: [] }] }) : encodeMembershipQuery({ family });
      for (const m of ms) b = m(Buffer.from(b));
      if (fix) b = fixChecksums(Buffer.from(b));
      for (const d of [decodeMembershipReport(b), decodeMembershipQuery(b)]) {
        if (!d.ok && (typeof d.reason !== 'string' || d.detail.length === 0)) return false;
      }
      return true;
    }),
    params(t, 3000),
  );
  t.pass();
});

const frameLinktype = fc.constantFrom(LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LINUX_SLL);

test('random UDP frames round-trip through frameFor and decodeUdpFrame, checksums verified', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(fc.tuple(ipv4, ipv4), fc.tuple(ipv6, ipv6)),
      u16,
      u16,
      bytes(0, 200),
      frameLinktype,
      fc.array(fc.integer({ min: 0, max: 4095 }), { maxLength: 2 }),
      ([source, destination], sourcePort, destinationPort, payload, linktype, vlans) => {
        const ip = udpPacket({ source, destination, sourcePort, destinationPort, payload });
        const frame = frameFor(linktype, ip, { vlans });
        const d = decodeUdpFrame(linktype, frame, { verifyChecksum: true });
        if (!d.ok) return false;
        t.deepEqual(
          { ...d.frame, payload: Buffer.from(d.frame.payload) },
          { vlans: linktype === LINKTYPE.ETHERNET ? vlans : [], family: source.includes(':') ? 6 : 4, source, destination, ttl: 64, sourcePort, destinationPort, payload, checksumOk: true },
        );
        return true;
      },
    ),
    params(t, 500),
  );
});

test('random and mutated frames never throw', (t) => {
  const valid = frameFor(LINKTYPE.ETHERNET, udpPacket({ source: '192.0.2.1', destination: '192.0.2.2', sourcePort: 1, destinationPort: 2268, payload: Buffer.alloc(8, 1) }), { vlans: [10, 20] });
  fc.assert(
    fc.property(fc.constantFrom(...Object.values(LINKTYPE), 0, 9999), fc.oneof(bytes(0, 120), fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => ms.reduce((b, m) => m(Buffer.from(b)), valid))), (linktype, b) => {
      const d = decodeUdpFrame(linktype, b, { verifyChecksum: true });
      return d.ok || (typeof d.reason === 'string' && d.detail.length > 0);
    }),
    params(t, 3000),
  );
  t.pass();
});

const pcapRecordArb = fc.record({ seconds: u32, nanos: fc.integer({ min: 0, max: 999_999_999 }), data: bytes(0, 300) });

test('random pcap files round-trip in both byte orders and timestamp units, however the stream is split', (t) => {
  fc.assert(
    fc.property(fc.array(pcapRecordArb, { maxLength: 10 }), fc.boolean(), fc.boolean(), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (records, littleEndian, nanosecond, cuts) => {
      const o = { linktype: LINKTYPE.RAW, littleEndian, nanosecond };
      const file = writePcap(o, records);
      const reader = new PcapReader();
      const got: Array<{ seconds: number; nanos: number; data: Buffer }> = [];
      let at = 0;
      let i = 0;
      while (at < file.length) {
        const n = cuts[i++ % cuts.length] as number;
        for (const e of reader.push(file.subarray(at, at + n))) {
          if (e.kind === 'error') return false;
          if (e.kind === 'record') got.push({ seconds: e.record.seconds, nanos: e.record.nanos, data: e.record.data });
        }
        at += n;
      }
      if (reader.end().length !== 0) return false;
      t.like(reader.header, { linktype: LINKTYPE.RAW, littleEndian, nanosecond });
      t.deepEqual(
        got,
        records.map((r) => ({ seconds: r.seconds, nanos: nanosecond ? r.nanos : Math.floor(r.nanos / 1000) * 1000, data: r.data })),
      );
      return true;
    }),
    params(t, 300),
  );
});

test('random bytes never throw the pcap reader', (t) => {
  const valid = writePcap({ linktype: LINKTYPE.ETHERNET }, [{ seconds: 1, data: Buffer.alloc(60, 7) }, { seconds: 2, data: Buffer.alloc(10, 8) }]);
  fc.assert(
    fc.property(fc.oneof(bytes(0, 200), fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((b, m) => m(Buffer.from(b)), valid))), (b) => {
      const reader = new PcapReader();
      const events = [...reader.push(b), ...reader.end()];
      return events.every((e) => e.kind !== 'error' || e.error.detail.length > 0);
    }),
    params(t, 2000),
  );
  t.pass();
});
