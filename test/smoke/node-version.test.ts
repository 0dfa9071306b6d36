import test from 'ava';

test('runs on Node 24 or newer', (t) => {
  const major = Number(process.versions.node.split('.')[0]);
  t.true(major >= 24, `node ${process.versions.node}`);
});
