// The gateway generator's datagrams (test/sim/amt-relay/generator.ts), both directions of every
// lifecycle variant it runs against the relay simulator on loopback (IPv4 and IPv6, SSM and ASM
// joins, leaves, Multicast Data, Teardown, a tunnel left to expire, gateways sharing an address),
// written to a pcap and read by Wireshark's AMT dissector: no malformed mark, and the nonces,
// MACs, gateway fields and group records tshark reads are the generator's ledger.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpPacket } from '../../src/amt/inet.ts';
import { frameFor } from '../../src/capture/frame.ts';
import { LINKTYPE, writePcap } from '../../src/capture/pcap.ts';
import { ledgerTotals, runGateways, type GatewayPlan, type LedgerEntry } from '../sim/amt-relay/generator.ts';
import { startAmtRelaySim } from '../sim/amt-relay/relay.ts';
import { all, assertClean, HAS_TSHARK, ip16, one, runTshark, type Json } from './helpers/tshark-json.ts';

const TYPE_NAME = ['', 'discovery', 'advertisement', 'request', 'query', 'update', 'data', 'teardown'];

const v4 = (i: number, o: Partial<GatewayPlan> = {}): GatewayPlan => ({ address: '127.0.0.1', port: 0, groups: [{ group: `232.7.0.${i}`, source: `198.51.100.${i}` }, { group: `239.7.0.${i}` }], ...o });
const v6 = (i: number, o: Partial<GatewayPlan> = {}): GatewayPlan => ({ address: '::1', port: 0, groups: [{ group: `ff3e::7:${i}`, source: `2001:db8::${i}` }, { group: `ff0e::7:${i}` }], ...o });
// Every variant in both families, several gateways on each address.
const PLANS: GatewayPlan[] = [
  v4(1),
  v4(2, { leave: 1 }),
  v4(3, { leave: 2, teardown: true }),
  v4(4, { teardown: true }),
  v4(5, { groups: [{ group: '232.7.0.5', source: '198.51.100.5' }] }),
  v6(1),
  v6(2, { leave: 1 }),
  v6(3, { leave: 2, teardown: true }),
  v6(4, { teardown: true }),
  v6(5, { groups: [{ group: 'ff0e::7:5' }] }),
];

(HAS_TSHARK ? test : test.skip)(
  HAS_TSHARK ? "tshark decodes every datagram of the generator's lifecycles cleanly, and reads the ledger's nonces, MACs, gateway fields and groups" : 'generator pcap in tshark: SKIPPED, tshark is not installed (apt-get install tshark)',
  async (t) => {
    const data = { packets: 2, bytes: 64 };
    const r4 = await startAmtRelaySim({ data });
    const r6 = await startAmtRelaySim({ host: '::1', data });
    const dir = mkdtempSync(join(tmpdir(), 'amt-generator-'));
    t.teardown(async () => {
      await Promise.all([r4.close(), r6.close()]);
      rmSync(dir, { recursive: true, force: true });
    });
    const run = (plans: GatewayPlan[], relay: { host: string; port: number }) =>
      runGateways(plans, { relay: { address: relay.host, port: relay.port }, dataPerGroup: data.packets, transcript: true, concurrency: 4 });
    const [a, b] = await Promise.all([run(PLANS.filter((p) => !p.address.includes(':')), r4), run(PLANS.filter((p) => p.address.includes(':')), r6)]);
    const ledger = [...a.ledger, ...b.ledger];
    // runGateways keeps the plans' order.
    const planOf = new Map<LedgerEntry, GatewayPlan>(ledger.map((e, i) => [e, [...PLANS.filter((p) => !p.address.includes(':')), ...PLANS.filter((p) => p.address.includes(':'))][i]!]));
    const transcript = [...a.transcript, ...b.transcript].sort((x, y) => x.at - y.at);
    t.deepEqual(ledger.flatMap((e) => e.errors), []);
    t.is(transcript.length, Object.values(ledgerTotals(ledger)).reduce((n, c) => n + c.packets, 0));

    const file = join(dir, 'generator.pcap');
    const records = transcript.map((d, i) => {
      const [src, dst] = d.direction === 'to' ? [d.gateway, d.relay] : [d.relay, d.gateway];
      const packet = udpPacket({ source: src.address, destination: dst.address, sourcePort: src.port, destinationPort: dst.port, payload: d.bytes });
      return { seconds: Math.floor(d.at / 1000), nanos: (d.at % 1000) * 1e6 + i, data: frameFor(LINKTYPE.ETHERNET, packet) };
    });
    writeFileSync(file, writePcap({ linktype: LINKTYPE.ETHERNET, nanosecond: true }, records));
    const packets = await runTshark(file, ['-d', `udp.port==${r4.port},amt`, '-d', `udp.port==${r6.port},amt`]);
    t.is(packets.length, transcript.length);

    const byGateway = new Map<string, LedgerEntry>(ledger.map((e) => [`${e.address}|${e.port}`, e]));
    const updatesSeen = new Map<LedgerEntry, number>();
    const seen: Record<string, number> = {};
    packets.forEach((p, i) => {
      const layers = (p as { _source: { layers: Record<string, Json> } })._source.layers;
      const d = transcript[i]!;
      const e = byGateway.get(`${d.gateway.address}|${d.gateway.port}`)!;
      const plan = planOf.get(e)!;
      const where = `#${i + 1} ${d.direction} ${d.gateway.address}:${d.gateway.port}`;
      assertClean(t, layers, where);
      const amt = layers.amt;
      const type = Number(one(amt, 'amt.type'));
      t.is(type, d.bytes[0]! & 0x0f, where);
      const name = TYPE_NAME[type]!;
      seen[name] = (seen[name] ?? 0) + 1;
      const num = (k: string): number => Number(one(amt, k));
      const six = e.address.includes(':');
      switch (name) {
        case 'advertisement':
          t.is(one(amt, six ? 'amt.relay_address.ipv6' : 'amt.relay_address.ipv4'), e.relay.address, where);
          break;
        case 'request':
          t.is(num('amt.request_nonce'), e.requestNonce, where);
          t.is(one(amt, 'amt.request.p'), six ? '1' : '0', where);
          break;
        case 'query':
          t.is(num('amt.request_nonce'), e.requestNonce, where);
          t.is(num('amt.response_mac'), e.responseMac, where);
          t.is(one(amt, 'amt.membership_query.g'), '1', where);
          t.is(num('amt.gateway.port_number'), e.port, where);
          t.is(ip16(one(amt, 'amt.gateway.ip_address') ?? ''), ip16(e.address), where);
          break;
        case 'update': {
          t.is(num('amt.request_nonce'), e.requestNonce, where);
          t.is(num('amt.response_mac'), e.responseMac, where);
          const n = (updatesSeen.get(e) ?? 0) + 1;
          updatesSeen.set(e, n);
          const groups = six ? all(amt, 'icmpv6.mldr.mar.multicast_address') : all(amt, 'igmp.maddr');
          const types = six ? all(amt, 'icmpv6.mldr.mar.record_type') : all(amt, 'igmp.record_type');
          const sources = six ? all(amt, 'icmpv6.mldr.mar.source_address') : all(amt, 'igmp.saddr');
          // The first Update joins (ALLOW_NEW_SOURCES {S}, CHANGE_TO_EXCLUDE {}); a second leaves (BLOCK_OLD_SOURCES {S}, CHANGE_TO_INCLUDE {}).
          const joined = n === 1;
          const records = joined ? plan.groups : plan.groups.slice(0, plan.leave);
          t.deepEqual(groups, records.map((g) => g.group), where);
          t.deepEqual(types, records.map((g) => String(joined ? (g.source ? 5 : 4) : g.source ? 6 : 3)), where);
          t.deepEqual(sources, records.flatMap((g) => (g.source ? [g.source] : [])), where);
          break;
        }
        case 'data':
          t.true(all(amt, 'udp.dstport').includes('60001'), `${where}: the multicast UDP packet inside`);
          t.true(plan.groups.some((g) => g.group === one(amt, six ? 'ipv6.dst' : 'ip.dst')), `${where}: to a group it joined`);
          break;
        case 'teardown':
          t.true(e.tornDown, where);
          t.is(num('amt.request_nonce'), e.requestNonce, where);
          t.is(num('amt.response_mac'), e.responseMac, where);
          t.is(num('amt.gateway.port_number'), e.port, where);
          t.is(ip16(one(amt, 'amt.gateway.ip_address') ?? ''), ip16(e.address), where);
          break;
        default:
          break;
      }
    });
    t.deepEqual(seen, Object.fromEntries(Object.entries(ledgerTotals(ledger)).filter(([, c]) => c.packets > 0).map(([k, c]) => [k, c.packets])));
    t.is(seen.update, PLANS.length + PLANS.filter((p) => p.leave).length);
  },
);
