import test from 'ava';
import { startTestDriad } from '../helpers/driad.ts';
import { ask, rcodeOf } from '../helpers/dns-client.ts';

const ZONES = new URL('./fixtures/reverse-zones', import.meta.url).pathname;

test('in a zone listed in driad.reverseZones, AMTRELAY is answered at the plain reverse name', async (t) => {
  const d = await startTestDriad(`zones:\n  directory: ${ZONES}\ndriad:\n  reverseZones: ["100.51.198.in-addr.arpa"]\n`);
  t.teardown(() => d.stop(0));
  const amt = await ask(d.dnsPort, '77.100.51.198.in-addr.arpa', 'AMTRELAY');
  t.deepEqual(amt.answers.map((a) => (a.data as { relay: string }).relay), ['69.25.95.1', '192.0.2.10']);
  // The zone file's own data is still served, and synthesis adds no A records here.
  const ptr = await ask(d.dnsPort, '10.100.51.198.in-addr.arpa', 'PTR');
  t.is(ptr.answers[0]?.data, 'sender.example.net');
  const a = await ask(d.dnsPort, '77.100.51.198.in-addr.arpa', 'A');
  t.is(rcodeOf(a), 'NOERROR');
  t.is(a.answers.length, 0);
  t.is(rcodeOf(await ask(d.dnsPort, 'x.100.51.198.in-addr.arpa', 'AMTRELAY')), 'NXDOMAIN');
});

test('a reverse zone that is loaded but not listed gets no synthesis', async (t) => {
  const d = await startTestDriad(`zones:\n  directory: ${ZONES}\n`);
  t.teardown(() => d.stop(0));
  const amt = await ask(d.dnsPort, '77.100.51.198.in-addr.arpa', 'AMTRELAY');
  t.is(rcodeOf(amt), 'NXDOMAIN');
});

test('listing a reverse zone without a zone file fails at start, naming the key', async (t) => {
  await t.throwsAsync(startTestDriad('driad:\n  reverseZones: ["9.51.198.in-addr.arpa"]\n'), {
    message: /^config error: driad.reverseZones\[0\]: no zone file for 9.51.198.in-addr.arpa in /,
  });
});
