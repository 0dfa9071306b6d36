import test from 'ava';
import { driadName, parseReversedV4, parseReversedV6, Scan, scannedV4Words, scannedV6Words, scanReversedV4, scanReversedV6 } from '../../src/driad/names.ts';
import { addressWords } from '../../src/driad/prefix.ts';

test('IPv4: four reversed octets are a source address', (t) => {
  t.deepEqual(parseReversedV4('10.95.25.69'), { kind: 'address', family: 4, address: '69.25.95.10' });
  t.deepEqual(parseReversedV4('255.0.0.0'), { kind: 'address', family: 4, address: '0.0.0.255' });
  t.deepEqual(parseReversedV4('0.0.0.0'), { kind: 'address', family: 4, address: '0.0.0.0' });
  t.deepEqual(parseReversedV4('199.100.10.1'), { kind: 'address', family: 4, address: '1.10.100.199' });
});

test('IPv4: fewer octets are prefixes (names that exist without data), not NXDOMAIN', (t) => {
  for (const rel of ['', '69', '25.69', '95.25.69']) t.is(parseReversedV4(rel).kind, 'prefix', rel);
});

test('IPv4: anything else is invalid', (t) => {
  for (const rel of ['256.1.1.1', '1.2.3.4.5', 'a.1.1.1', '01.1.1.1', '1..1.1', '-1.1.1.1', '1.1.1.1000', 'x', '1.2.3.4.', '.1.2.3', '1.2.3.00', '999.1.1.1', '1\\.2.3.4', '1.2.3.4a', '1.2.3.4.5.6']) {
    t.is(parseReversedV4(rel).kind, 'invalid', rel);
  }
});

test('IPv6: 32 nibbles are an address, fewer are prefixes', (t) => {
  const name = driadName('2001:db8::1', 'amt.ip6.arpa');
  t.is(name, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.amt.ip6.arpa');
  const relative = name.slice(0, -'.amt.ip6.arpa'.length);
  t.deepEqual(parseReversedV6(relative), { kind: 'address', family: 6, address: '2001:0db8:0000:0000:0000:0000:0000:0001' });
  t.is(parseReversedV6('8.b.d.0.1.0.0.2').kind, 'prefix');
  t.is(parseReversedV6('').kind, 'prefix');
});

test('IPv6: non-nibble labels and too many nibbles are invalid', (t) => {
  t.is(parseReversedV6('g.0').kind, 'invalid');
  t.is(parseReversedV6('10.0').kind, 'invalid');
  t.is(parseReversedV6(Array(33).fill('0').join('.')).kind, 'invalid');
  t.is(parseReversedV6('0..0').kind, 'invalid');
});

test('driadName builds the RFC 8777 owner name', (t) => {
  t.is(driadName('69.25.95.10', 'amt.in-addr.arpa'), '10.95.25.69.amt.in-addr.arpa');
});

test('the in-place scans read a whole name up to the tree root and give the same words as the address text', (t) => {
  const v4 = '10.95.25.69.amt.in-addr.arpa';
  t.is(scanReversedV4(v4, v4.length - '.amt.in-addr.arpa'.length), Scan.Address);
  t.deepEqual([...scannedV4Words()], [...addressWords('69.25.95.10')!]);
  t.is(scanReversedV4(v4, 'amt.in-addr.arpa'.length - 1), Scan.Invalid, 'a cut that is not at the root reads a wrong label');
  t.is(scanReversedV4('95.25.69.amt.in-addr.arpa', 8), Scan.Prefix);
  t.is(scanReversedV4('x', 0), Scan.Prefix, 'the root itself');
  for (const address of ['2001:db8::1', 'ff3e::8000:1', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
    const name = driadName(address, 'amt.ip6.arpa');
    t.is(scanReversedV6(name, name.length - '.amt.ip6.arpa'.length), Scan.Address, address);
    t.deepEqual([...scannedV6Words()], [...addressWords(address)!], address);
  }
  t.is(scanReversedV6('A.0.amt.ip6.arpa', 3), Scan.Invalid, 'upper case never reaches here: query names are lowercased first');
});
