import test from 'ava';
import { addressWords, longestMatch, parsePrefix } from '../../src/driad/prefix.ts';

const words = (a: string) => {
  const w = addressWords(a);
  if (!w) throw new Error(`not an address: ${a}`);
  return w;
};

test('addresses become 32-bit words, IPv6 with :: and embedded IPv4', (t) => {
  t.deepEqual([...words('69.25.95.10')], [0x45195f0a]);
  t.deepEqual([...words('2001:db8::1')], [0x20010db8, 0, 0, 1]);
  t.deepEqual([...words('::ffff:192.0.2.1')], [0, 0, 0xffff, 0xc0000201]);
  t.deepEqual([...words('::')], [0, 0, 0, 0]);
  t.is(addressWords('1.2.3'), null);
});

test('longest prefix match, per family', (t) => {
  const prefixes = ['69.25.0.0/16', '69.25.95.0/24', '0.0.0.0/0', '2001:db8::/32', '2001:db8:95::/48'].map(parsePrefix);
  t.is(longestMatch(prefixes, words('69.25.95.10')), 1);
  t.is(longestMatch(prefixes, words('69.25.1.1')), 0);
  t.is(longestMatch(prefixes, words('8.8.8.8')), 2);
  t.is(longestMatch(prefixes, words('2001:db8:95::1')), 4);
  t.is(longestMatch(prefixes, words('2001:db8:1::1')), 3);
  t.is(longestMatch(prefixes, words('2001:db9::1')), -1);
  t.is(longestMatch([parsePrefix('10.0.0.0/31')], words('10.0.0.1')), 0);
  t.is(longestMatch([parsePrefix('10.0.0.0/32')], words('10.0.0.1')), -1);
});

test('bad prefixes are refused with the reason', (t) => {
  t.throws(() => parsePrefix('10.0.0.1/8'), { message: 'has bits set past /8 (got "10.0.0.1/8")' });
  t.throws(() => parsePrefix('10.0.0.0/33'), { message: 'prefix length 33 is too long for IPv4 (got "10.0.0.0/33")' });
  t.throws(() => parsePrefix('10.0.0.0'), { message: /^must be a prefix like/ });
  t.throws(() => parsePrefix('2001:db8::/129'), { message: /too long for IPv6/ });
});
