import test from 'ava';
import { connect } from 'node:net';
import { startTestDriad } from '../helpers/driad.ts';
import { ask, buildQuery, decodeMessage as decode, rcodeOf, tcpExchange, u16, udpExchange } from '../helpers/dns-client.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';

test('A for a DRIAD name: the MX anycast IP, authoritative, no recursion, TTL 300', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const r = await ask(d.dnsPort, NAME, 'A');
  t.is(rcodeOf(r), 'NOERROR');
  t.true(r.flag_aa);
  t.false(r.flag_ra);
  t.deepEqual(r.answers?.map((a) => [a.name, a.type, a.ttl, a.data]), [[NAME, 'A', 300, '69.25.95.1']]);
});

test('AMTRELAY lists every usable relay, best precedence first', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const r = await ask(d.dnsPort, NAME, 'AMTRELAY');
  t.deepEqual(
    r.answers?.map((a) => a.data),
    [
      { precedence: 10, discoveryOptional: false, relayType: 1, relay: '69.25.95.1' },
      { precedence: 20, discoveryOptional: false, relayType: 1, relay: '192.0.2.10' },
    ] as never,
  );
});

test('answers are synthesized for any valid source, not only zone entries', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  for (const name of ['1.0.0.232.amt.in-addr.arpa', '255.255.255.255.amt.in-addr.arpa', '0.0.0.0.amt.in-addr.arpa']) {
    const r = await ask(d.dnsPort, name, 'A');
    t.is(r.answers?.[0]?.data, '69.25.95.1', name);
  }
});

test('the question is echoed with the client letter case', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const r = await ask(d.dnsPort, '10.95.25.69.AMT.In-Addr.ARPA', 'A');
  t.is(r.questions?.[0]?.name, '10.95.25.69.AMT.In-Addr.ARPA');
  t.is(r.answers?.[0]?.data, '69.25.95.1');
});

test('NXDOMAIN with the SOA for names that are not reversed addresses (RFC 2308)', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  for (const name of ['300.1.2.3.amt.in-addr.arpa', 'x.1.2.3.amt.in-addr.arpa', '1.2.3.4.5.amt.in-addr.arpa', 'g.amt.ip6.arpa']) {
    const r = await ask(d.dnsPort, name, 'A');
    t.is(rcodeOf(r), 'NXDOMAIN', name);
    t.true(r.flag_aa);
    t.is(r.answers?.length, 0);
    t.is(r.authorities?.[0]?.type, 'SOA', name);
    t.regex(r.authorities?.[0]?.name ?? '', /^amt\.(in-addr|ip6)\.arpa$/);
  }
});

test('NODATA with the SOA for existing names without the type, and for address prefixes', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  for (const [name, type] of [
    [NAME, 'TXT'],
    [NAME, 'AAAA'],
    ['95.25.69.amt.in-addr.arpa', 'A'],
    ['69.amt.in-addr.arpa', 'AMTRELAY'],
    ['amt.in-addr.arpa', 'A'],
  ] as const) {
    const r = await ask(d.dnsPort, name, type);
    t.is(rcodeOf(r), 'NOERROR', `${name} ${type}`);
    t.is(r.answers?.length, 0, `${name} ${type}`);
    t.is(r.authorities?.[0]?.type, 'SOA', `${name} ${type}`);
  }
});

test('SOA and NS at the apex come from the zone file', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const soa = await ask(d.dnsPort, 'amt.in-addr.arpa', 'SOA');
  t.is(soa.answers?.[0]?.type, 'SOA');
  const ns = await ask(d.dnsPort, 'amt.in-addr.arpa', 'NS');
  t.true((ns.answers?.length ?? 0) >= 1);
  t.true(ns.answers?.every((a) => a.type === 'NS'));
});

test('REFUSED outside our zones, for other classes and for zone transfers', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const outside = await ask(d.dnsPort, 'example.com', 'A');
  t.is(rcodeOf(outside), 'REFUSED');
  t.false(outside.flag_aa);
  t.is(rcodeOf(await ask(d.dnsPort, 'version.bind', 'TXT', { qclass: 'CH' })), 'REFUSED');
  t.is(rcodeOf(await ask(d.dnsPort, NAME, 'A', { qclass: 'CH' })), 'REFUSED');
  const [axfr] = await tcpExchange(d.dnsPort, [buildQuery('amt.in-addr.arpa', 'AXFR')]);
  t.is(rcodeOf(decode(axfr as Buffer)), 'REFUSED');
  t.is(rcodeOf(await ask(d.dnsPort, 'amt.in-addr.arpa', 'IXFR')), 'REFUSED');
});

test('NOTIMP for other opcodes', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const q = buildQuery(NAME, 'A');
  q.writeUInt16BE(2 << 11, 2); // STATUS
  const r = decode(await udpExchange(d.dnsPort, q));
  t.is(rcodeOf(r), 'NOTIMP');
  t.is(r.opcode, 'STATUS');
});

test('EDNS: OPT echoed with our UDP size, DO copied, none when the query had none', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const withOpt = await ask(d.dnsPort, NAME, 'A', { udpSize: 4096, dnssecOk: true });
  const opt = withOpt.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number; flags: number } | undefined;
  t.is(opt?.udpPayloadSize, 1232);
  t.is(opt?.flags, 0x8000);
  const without = await ask(d.dnsPort, NAME, 'A');
  t.is(without.additionals?.length, 0);
});

test('EDNS: BADVERS for version > 0, with an OPT of version 0', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const raw = await udpExchange(d.dnsPort, buildQuery(NAME, 'A', { udpSize: 1232, ednsVersion: 1 }));
  t.is(raw.readUInt16BE(2) & 0xf, 0);
  t.is(raw.readUInt16BE(6), 0);
  const r = decode(raw);
  const opt = r.additionals?.find((a) => a.type === 'OPT') as { extendedRcode: number; ednsVersion: number } | undefined;
  t.is(opt?.extendedRcode, 1); // 16 >> 4
  t.is(opt?.ednsVersion, 0);
});

const manyRelays = `relays:\n${Array.from({ length: 30 }, (_, i) => `  - { name: r${i}, kind: linux, ipv6: "2001:db8::${i + 1}", precedence: ${30 + i} }`).join('\n')}\n`;

test('TC=1 over UDP when the answer exceeds the client size; the full answer over TCP', async (t) => {
  const d = await startTestDriad(manyRelays);
  t.teardown(() => d.stop(0));
  const small = decode(await udpExchange(d.dnsPort, buildQuery(NAME, 'AMTRELAY')));
  t.true(small.flag_tc);
  t.is(small.answers?.length, 0);
  t.is(small.questions?.[0]?.name, NAME);
  const big = decode(await udpExchange(d.dnsPort, buildQuery(NAME, 'AMTRELAY', { udpSize: 4096 })));
  t.false(big.flag_tc);
  t.is(big.answers?.length, 32);
  const [overTcp] = await tcpExchange(d.dnsPort, [buildQuery(NAME, 'AMTRELAY')]);
  const full = decode(overTcp as Buffer);
  t.false(full.flag_tc);
  t.is(full.answers?.length, 32);
});

test('TCP: several pipelined queries on one connection are answered in order', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const names = ['1.0.0.10.amt.in-addr.arpa', 'bad.amt.in-addr.arpa', NAME, 'example.org'];
  const replies = await tcpExchange(d.dnsPort, names.map((n, i) => buildQuery(n, 'A', { id: 100 + i })));
  t.deepEqual(
    replies.map((r) => [decode(r).id, rcodeOf(decode(r))]),
    [
      [100, 'NOERROR'],
      [101, 'NXDOMAIN'],
      [102, 'NOERROR'],
      [103, 'REFUSED'],
    ],
  );
});

function closedAfter(port: number, send: (s: ReturnType<typeof connect>) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const s = connect({ port, host: '127.0.0.1' }, () => send(s));
    s.on('data', () => {});
    s.on('close', () => resolve(performance.now() - start));
    s.on('error', reject);
    setTimeout(() => reject(new Error('server never closed the connection')), 5000).unref();
  });
}

test('TCP: an idle connection is closed after dns.tcpIdleTimeoutMs', async (t) => {
  const d = await startTestDriad('dns:\n  tcpIdleTimeoutMs: 300\n');
  t.teardown(() => d.stop(0));
  const ms = await closedAfter(d.dnsPort, () => {});
  t.true(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
});

test('TCP: a client dribbling a partial message is cut off; partial bytes do not keep it alive', async (t) => {
  const d = await startTestDriad('dns:\n  tcpIdleTimeoutMs: 300\n');
  t.teardown(() => d.stop(0));
  const ms = await closedAfter(d.dnsPort, (s) => {
    s.write(u16(65535)); // promises a huge message, then trickles
    const trickle = setInterval(() => (s.writable ? s.write(Buffer.from([0])) : clearInterval(trickle)), 50);
    s.on('close', () => clearInterval(trickle));
  });
  t.true(ms < 3000, `closed after ${ms} ms`);
  t.is(d.metrics.get('driad_dns_tcp_timeouts_total'), 1);
  t.is(rcodeOf(await ask(d.dnsPort, NAME, 'A')), 'NOERROR');
});

test('TCP: connections over dns.tcpMaxConnections are refused and counted', async (t) => {
  const d = await startTestDriad('dns:\n  tcpMaxConnections: 1\n');
  t.teardown(() => d.stop(0));
  const first = connect({ port: d.dnsPort, host: '127.0.0.1' });
  await new Promise((r) => first.once('connect', r));
  t.teardown(() => first.destroy());
  await new Promise((r) => setTimeout(r, 50));
  await closedAfter(d.dnsPort, () => {});
  t.is(d.metrics.get('driad_dns_tcp_refused_total'), 1);
});

test('IPv6 listener answers over UDP and TCP', async (t) => {
  const d = await startTestDriad(undefined, { dnsListen: ['[::1]:0'] });
  t.teardown(() => d.stop(0));
  const r = decode(await udpExchange(d.dnsPort, buildQuery(NAME, 'A'), '::1'));
  t.is(r.answers?.[0]?.data, '69.25.95.1');
  const [tcp] = await tcpExchange(d.dnsPort, [buildQuery(NAME, 'AMTRELAY')], '::1');
  t.is(decode(tcp as Buffer).answers?.length, 2);
});

test('IPv6 sources under amt.ip6.arpa: AAAA from a relay with an IPv6 address, AMTRELAY of both families', async (t) => {
  const d = await startTestDriad('gateway:\n  publicIP: 192.0.2.10\n  publicIPv6: "2001:db8::10"\n');
  t.teardown(() => d.stop(0));
  const name = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.amt.ip6.arpa';
  const aaaa = await ask(d.dnsPort, name, 'AAAA');
  t.deepEqual(aaaa.answers?.map((a) => a.data), ['2001:db8::10']);
  const amt = await ask(d.dnsPort, name, 'AMTRELAY');
  t.deepEqual(
    amt.answers?.map((a) => (a.data as { relay: string }).relay),
    ['69.25.95.1', '192.0.2.10', '2001:db8::10'],
  );
  const prefix = await ask(d.dnsPort, '8.b.d.0.1.0.0.2.amt.ip6.arpa', 'AAAA');
  t.is(rcodeOf(prefix), 'NOERROR');
  t.is(prefix.answers?.length, 0);
});

test('a static zone-file entry wins over the synthesized answer', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const name = '10.100.51.198.amt.in-addr.arpa';
  const amt = await ask(d.dnsPort, name, 'AMTRELAY');
  t.deepEqual(amt.answers?.map((a) => a.data), [{ precedence: 128, discoveryOptional: false, relayType: 3, relay: 'relays.example.net' }] as never);
  const a = await ask(d.dnsPort, name, 'A');
  t.is(rcodeOf(a), 'NOERROR');
  t.is(a.answers?.length, 0);
});

test('bad packets are answered or dropped, counted, and never stop the server', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  for (const junk of [Buffer.alloc(3), Buffer.from('not a dns message at all'), Buffer.concat([u16(1), u16(0), u16(1), u16(0), u16(0), u16(0), Buffer.from([0xc0, 0x0c])])]) {
    s.send(junk, d.dnsPort, '127.0.0.1');
  }
  await new Promise((r) => setTimeout(r, 100));
  s.close();
  t.is(rcodeOf(await ask(d.dnsPort, NAME, 'A')), 'NOERROR');
  t.true(d.metrics.get('driad_bad_input_total', { component: 'dns', kind: 'dropped' }) >= 1);
  t.true(d.metrics.get('driad_bad_input_total', { component: 'dns', kind: 'FORMERR' }) >= 1);
});
