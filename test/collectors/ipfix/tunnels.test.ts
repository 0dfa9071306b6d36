// TunnelTable: totals per (relay, gateway, port) across table growth, with keys that differ only
// in one part, and flush() starting the next interval empty.

import test from 'ava';
import { TunnelTable, type TunnelTotals } from '../../../src/collectors/ipfix/tunnels.ts';
import { IpfixDecoder } from '../../../src/ipfix/decoder.ts';
import { encodeDataSet, encodeTemplateSet, IpfixMessageWriter, type TemplateDef } from '../../../src/ipfix/encoder.ts';
import { JFLOW_FIELDS, SamplingRates } from '../../../src/ipfix/jflow.ts';
import { MxJflowExporter, type AmtTunnel } from '../../sim/mx-jflow/exporter.ts';
import { FlowColumns, flowColumnsFromRecords } from '../../../src/ipfix/flow-columns.ts';

/** One AMT flow, as the decoder's columns carry it (the reference conversion from a record). */
function flow(relayAddress: string, gateway: string, port: number, octets: number, packets: number): FlowColumns {
  const cols = new FlowColumns(1);
  const v6 = (a: string): boolean => a.includes(':');
  flowColumnsFromRecords(
    [
      {
        [v6(relayAddress) ? 'sourceIPv6Address' : 'sourceIPv4Address']: relayAddress,
        [v6(gateway) ? 'destinationIPv6Address' : 'destinationIPv4Address']: gateway,
        sourceTransportPort: 2268,
        destinationTransportPort: port,
        octetDeltaCount: octets,
        packetDeltaCount: packets,
      },
    ],
    cols,
  );
  return cols;
}

function add(table: TunnelTable, relay: string, relayAddress: string, gateway: string, port: number, octets: number, packets: number, rate: number): void {
  table.add(table.relayId(relay), flow(relayAddress, gateway, port, octets, packets), 0, rate);
}

test('totals per tunnel survive growth; keys differing in relay, gateway or port stay apart', (t) => {
  const table = new TunnelTable();
  const n = 5000;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      const gateway = i % 2 ? `198.51.${i >> 8}.${i & 255}` : `2001:db8::${i.toString(16)}`;
      add(table, 'mx', '69.25.95.1', gateway, 40000 + (i % 7), 1316, 1, 100);
      add(table, 'mx2', '69.25.95.2', gateway, 40000 + (i % 7), 100, 2, 10);
      add(table, 'mx', '69.25.95.1', gateway, 40001 + (i % 7), 1, 1, 1);
    }
  }
  t.is(table.size, 3 * n);
  const all = table.flush();
  t.is(all.length, 3 * n);
  const keys = new Set(all.map((x) => `${x.relay}|${x.gateway}|${x.gatewayPort}`));
  t.is(keys.size, 3 * n);
  const one = all.find((x) => x.relay === 'mx' && x.gateway === '198.51.0.1' && x.gatewayPort === 40001);
  t.like(one, { relayAddress: '69.25.95.1', bytes: 3 * 1316 * 100, packets: 3 * 100, samplingRate: 100, flows: 3 });
  const other = all.find((x) => x.relay === 'mx2' && x.gateway === '198.51.0.1' && x.gatewayPort === 40001);
  t.like(other, { bytes: 3 * 100 * 10, packets: 3 * 2 * 10, flows: 3 });
  t.is(table.size, 0);
  add(table, 'mx', '69.25.95.1', '198.51.0.1', 40001, 10, 1, 1);
  t.like(table.flush(), [{ gateway: '198.51.0.1', bytes: 10, flows: 1 }]);
});

test('a full table counts the flows it cannot place', (t) => {
  const table = new TunnelTable(10);
  for (let i = 0; i < 12; i++) add(table, 'mx', '69.25.95.1', `198.51.100.${i}`, 40000, 1, 1, 1);
  add(table, 'mx', '69.25.95.1', '198.51.100.3', 40000, 1, 1, 1);
  t.is(table.size, 10);
  t.is(table.overflow, 2);
});

// The same stream through the path the collector had before flow columns (records as objects,
// a table keyed by `relay|gateway|port` text; written out here as the reference) and through the
// one it has now (columns decoder, numeric keys): the same tunnels with the same totals.
test('the columns path gives exactly the totals of the record path', (t) => {
  const tunnels: AmtTunnel[] = [];
  for (let i = 0; i < 3000; i++) {
    const v6 = i % 3 === 0;
    tunnels.push({
      relay: v6 ? '2001:db8:95::1' : '69.25.95.1',
      gateway: v6 ? `2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}` : `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      gatewayPort: 1024 + (i % 5),
      packets: 1 + (i % 9),
      octets: (1 + (i % 9)) * 1316,
    });
  }
  const mx = new MxJflowExporter({ tunnels, samplingRate: 100 });
  const messages: Buffer[] = [];
  for (const domain of mx.domains) messages.push(...mx.templateMessages(domain, 1_700_000_000));
  for (let round = 0; round < 2; round++) messages.push(...mx.dataMessages(1_700_000_000 + round, 0, 1));
  // Flows that are not AMT data: another source port, TCP from 2268.
  const other: TemplateDef = { id: 999, fields: [{ id: 8 }, { id: 12 }, { id: 4 }, { id: 7 }, { id: 11 }, { id: 1 }, { id: 2 }] };
  messages.push(
    new IpfixMessageWriter().message(mx.domains[0] as number, 1_700_000_002, [
      encodeTemplateSet([other]),
      encodeDataSet(other, [
        ['69.25.95.1', '10.0.0.1', 17, 53, 1024, 100, 1],
        ['69.25.95.1', '10.0.0.1', 6, 2268, 1024, 100, 1],
        ['69.25.95.1', '10.0.0.1', 17, 2268, 1024, 100, 1],
      ]),
    ]),
  );
  const source = { address: '192.0.2.1', port: 4739 };

  const reference = new Map<string, TunnelTotals>();
  {
    const decoder = new IpfixDecoder({ fields: JFLOW_FIELDS });
    const rates = new SamplingRates();
    for (const m of messages) {
      const r = decoder.decode(m, source);
      if (!r.ok) return t.fail(r.reason);
      for (const set of r.sets) {
        if (set.scopeCount > 0) {
          rates.observe(source, set);
          continue;
        }
        const rate = rates.rate(source, set.domain).rate;
        for (const rec of set.records) {
          if (rec.sourceTransportPort !== 2268) continue;
          if (rec.protocolIdentifier !== undefined && rec.protocolIdentifier !== 17) continue;
          const from = (rec.sourceIPv4Address ?? rec.sourceIPv6Address) as string | undefined;
          const to = (rec.destinationIPv4Address ?? rec.destinationIPv6Address) as string | undefined;
          const port = rec.destinationTransportPort;
          if (from === undefined || to === undefined || typeof port !== 'number') continue;
          const key = `mx|${to}|${port}`;
          const x = reference.get(key) ?? { relay: 'mx', relayAddress: from, gateway: to, gatewayPort: port, group: null, bytes: 0, packets: 0, samplingRate: rate, flows: 0 };
          x.bytes += (typeof rec.octetDeltaCount === 'number' ? rec.octetDeltaCount : 0) * rate;
          x.packets += (typeof rec.packetDeltaCount === 'number' ? rec.packetDeltaCount : 0) * rate;
          x.samplingRate = Math.max(x.samplingRate, rate);
          x.flows++;
          reference.set(key, x);
        }
      }
    }
  }

  const table = new TunnelTable();
  const decoder = new IpfixDecoder({ fields: JFLOW_FIELDS, flowColumns: true });
  const rates = new SamplingRates();
  const relay = table.relayId('mx');
  for (const m of messages) {
    const r = decoder.decode(m, source);
    if (!r.ok) return t.fail(r.reason);
    const cols = decoder.columns;
    for (const set of r.sets) {
      if (set.scopeCount > 0) {
        rates.observe(source, set);
        continue;
      }
      const rate = rates.rate(source, set.domain).rate;
      // Alternately one add() per row and addRows() for the set, which must come to the same.
      const rows = new Int32Array(set.columns?.count ?? 0);
      let n = 0;
      for (let i = set.columns?.first ?? 0, end = i + (set.columns?.count ?? 0); i < end; i++) {
        if (cols.srcPort[i] !== 2268 || (cols.protocol[i] !== -1 && cols.protocol[i] !== 17)) continue;
        if (cols.srcFamily[i] === 0 || cols.dstFamily[i] === 0 || cols.dstPort[i] < 0) continue;
        if (set.templateId % 2) table.add(relay, cols, i, rate);
        else rows[n++] = i;
      }
      table.addRows(relay, cols, rows, n, rate);
    }
  }
  const order = (a: TunnelTotals, b: TunnelTotals): number => (a.gateway + a.gatewayPort < b.gateway + b.gatewayPort ? -1 : 1);
  const want = [...reference.values()].sort(order);
  t.is(want.length, 3001);
  t.true(want.some((x) => x.gateway.includes(':')) && want.every((x) => x.flows >= 2 || x.gateway === '10.0.0.1'));
  t.deepEqual(table.flush().sort(order), want);
});
