import test from 'ava';
import { mayHold, nameLengths } from '../../src/zones/name-lengths.ts';

test('a name whose length no name in the set has is not in the set; every name in it may be', (t) => {
  const names = ['amt.in-addr.arpa', 'ns1.amt.in-addr.arpa', '10.100.51.198.amt.in-addr.arpa'];
  const lengths = nameLengths(names);
  for (const name of names) t.true(mayHold(lengths, name), name);
  t.true(mayHold(lengths, '10.100.51.199.amt.in-addr.arpa'), 'the same length: the set must still be asked');
  t.false(mayHold(lengths, '1.95.25.69.amt.in-addr.arpa'));
  t.false(mayHold(lengths, ''));
});

test('names longer than the table are always passed to the set', (t) => {
  const long = 'a'.repeat(1500);
  const lengths = nameLengths([long]);
  t.true(mayHold(lengths, long));
  t.true(mayHold(lengths, 'b'.repeat(1200)));
  t.false(mayHold(lengths, 'short'));
});
