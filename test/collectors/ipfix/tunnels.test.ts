// TunnelTable: totals per (relay, gateway, port) across table growth, with keys that differ only
// in one part, and flush() starting the next interval empty.

import test from 'ava';
import { TunnelTable } from '../../../src/collectors/ipfix/tunnels.ts';

test('totals per tunnel survive growth; keys differing in relay, gateway or port stay apart', (t) => {
  const table = new TunnelTable();
  const n = 5000;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      const gateway = i % 2 ? `198.51.${i >> 8}.${i & 255}` : `2001:db8::${i.toString(16)}`;
      table.add('mx', '69.25.95.1', gateway, 40000 + (i % 7), 1316, 1, 100);
      table.add('mx2', '69.25.95.2', gateway, 40000 + (i % 7), 100, 2, 10);
      table.add('mx', '69.25.95.1', gateway, 40001 + (i % 7), 1, 1, 1);
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
  table.add('mx', '69.25.95.1', '198.51.0.1', 40001, 10, 1, 1);
  t.like(table.flush(), [{ gateway: '198.51.0.1', bytes: 10, flows: 1 }]);
});

test('a full table counts the flows it cannot place', (t) => {
  const table = new TunnelTable(10);
  for (let i = 0; i < 12; i++) table.add('mx', '69.25.95.1', `198.51.100.${i}`, 40000, 1, 1, 1);
  table.add('mx', '69.25.95.1', '198.51.100.3', 40000, 1, 1, 1);
  t.is(table.size, 10);
  t.is(table.overflow, 2);
});
