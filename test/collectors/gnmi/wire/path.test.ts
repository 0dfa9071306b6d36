import test from 'ava';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../../../src/collectors/gnmi/wire/load.ts';
import {
  joinPath,
  parsePath,
  pathEquals,
  pathFromMsg,
  pathMatches,
  pathToMsg,
  pathToString,
  type GnmiPath,
} from '../../../../src/collectors/gnmi/wire/path.ts';
import type { PathMsg } from '../../../../src/collectors/gnmi/wire/types.ts';

function parsed(s: string): GnmiPath {
  const r = parsePath(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

test('the string form of paths, as gnmi-path-strings.md writes them', (t) => {
  t.deepEqual(parsed('/interfaces/interface[name=xe-0/0/0]/state/counters'), {
    elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'xe-0/0/0' } }, { name: 'state' }, { name: 'counters' }],
  });
  t.deepEqual(parsed('openconfig:/a/b[name=ud-0/0/0]/c'), {
    origin: 'openconfig',
    elem: [{ name: 'a' }, { name: 'b', key: { name: 'ud-0/0/0' } }, { name: 'c' }],
  });
  t.deepEqual(parsed('/'), { elem: [] });
  t.deepEqual(parsed('junos_cli:/'), { origin: 'junos_cli', elem: [] });
  // a module-prefixed first element of a relative path is not an origin
  t.deepEqual(parsed('openconfig-interfaces:interfaces/interface'), { elem: [{ name: 'openconfig-interfaces:interfaces' }, { name: 'interface' }] });
  t.deepEqual(parsed('/foo[name=\\]]'), { elem: [{ name: 'foo', key: { name: ']' } }] });
  t.deepEqual(parsed('/foo[name=[]'), { elem: [{ name: 'foo', key: { name: '[' } }] });
  t.deepEqual(parsed('/foo[name=a=b]'), { elem: [{ name: 'foo', key: { name: 'a=b' } }] });
  t.deepEqual(parsed('/foo[na\\=me=x]'), { elem: [{ name: 'foo', key: { 'na=me': 'x' } }] });
  t.deepEqual(parsed('/a/b/'), { elem: [{ name: 'a' }, { name: 'b' }] }, 'a trailing slash is ignored');
  t.deepEqual(parsed('a/b'), { elem: [{ name: 'a' }, { name: 'b' }] }, 'the leading slash is optional');

  t.is(pathToString(parsed('/protocols/protocol[name=65497][identifier=ISIS]')), '/protocols/protocol[identifier=ISIS][name=65497]', 'keys sorted');
  t.is(pathToString({ elem: [{ name: 'foo', key: { name: 'a]b\\c\nd' } }] }), '/foo[name=a\\]b\\\\c\\nd]');
  t.is(pathToString({ origin: 'openconfig', elem: [] }), 'openconfig:/');
  t.is(pathToString({ elem: [{ name: 'tunnel', key: { port: '2268', gateway: '192.0.2.1' } }] }), '/tunnel[gateway=192.0.2.1][port=2268]');
});

test('bad path strings are errors with the reason', (t) => {
  const error = (s: string) => {
    const r = parsePath(s);
    return r.ok ? 'parsed' : r.error;
  };
  t.regex(error(''), /empty path/);
  t.regex(error('/a//b'), /empty element name/);
  t.regex(error('/a[name'), /unterminated key/);
  t.regex(error('/a[name=x'), /unterminated key value/);
  t.regex(error('/a[=x]'), /empty key name/);
  t.regex(error('/a[x]'), /key without "="/);
  t.regex(error('/a[k=1][k=2]'), /duplicate key "k"/);
  t.regex(error('/a[k=1]b'), /unexpected "b"/);
  t.regex(error('/a\\'), /trailing backslash/);
});

const elemArb = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s && s !== '*' && s !== '...'),
    key: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['name'] },
);

test('any path survives string form and back (property)', (t) => {
  fc.assert(
    fc.property(fc.array(elemArb, { maxLength: 5 }), fc.option(fc.constantFrom('openconfig', 'junos_cli', 'rfc7951'), { nil: undefined }), (elems, origin) => {
      const path: GnmiPath = { elem: elems.map((e) => (e.key && Object.keys(e.key).length > 0 ? { name: e.name, key: e.key } : { name: e.name })) };
      if (origin) path.origin = origin;
      const back = parsePath(pathToString(path));
      return back.ok && pathEquals(back.value, path) && pathToString(back.value) === pathToString(path);
    }),
  );
  t.pass();
});

test('paths survive protobuf encoding; deprecated string elements are read', (t) => {
  const path = parsed('openconfig:/interfaces/interface[name=ud-0/0/0]/subinterfaces/subinterface[index=7]');
  const bytes = encodeMessage('gnmi.Path', pathToMsg({ ...path, target: 'mx1' }));
  t.true(bytes.ok);
  const back = decodeMessage<PathMsg>('gnmi.Path', bytes.ok ? bytes.value : new Uint8Array());
  t.true(back.ok);
  t.deepEqual(pathFromMsg(back.ok ? back.value : {}), { ...path, target: 'mx1' });

  t.deepEqual(pathFromMsg({ element: ['interfaces', 'interface[name=xe-0/0/0]', 'state'] }), parsed('/interfaces/interface[name=xe-0/0/0]/state'));
  t.deepEqual(pathFromMsg(undefined), { elem: [] });
  t.deepEqual(pathFromMsg({ elem: [{ name: 'a', key: {} }] }), { elem: [{ name: 'a' }] }, 'an empty key map is no keys');
});

test('prefix + path: origin from either side, target from the prefix', (t) => {
  const join = (p: GnmiPath, q: GnmiPath) => {
    const r = joinPath(p, q);
    return r.ok ? r.value : r.error;
  };
  t.deepEqual(join({ origin: 'openconfig', target: 'mx1', elem: [{ name: 'interfaces' }] }, parsed('interface[name=xe-0/0/0]/state')), {
    origin: 'openconfig',
    target: 'mx1',
    elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'xe-0/0/0' } }, { name: 'state' }],
  });
  t.deepEqual(join(parsed('/junos/amt'), parsed('openconfig:/statistics')), parsed('openconfig:/junos/amt/statistics'));
  t.deepEqual(join(parsed('openconfig:/a'), parsed('openconfig:/b')), parsed('openconfig:/a/b'), 'the same origin on both sides is tolerated');
  t.is(join(parsed('openconfig:/a'), parsed('junos_cli:/b')), 'origin set in both prefix (openconfig) and path (junos_cli)');
  t.deepEqual(join({ elem: [] }, parsed('/a')), parsed('/a'));
});

test('matching against subscribed paths: wildcards, key wildcards, descendants, origins', (t) => {
  const m = (pattern: string, path: string, descendants = true) => pathMatches(parsed(pattern), parsed(path), descendants);
  const leaf = '/interfaces/interface[name=xe-0/0/0]/state/counters/in-octets';
  t.true(m('/interfaces/interface/state/counters', leaf), 'a pattern element without keys matches any entry');
  t.true(m('/interfaces/interface[name=*]/state/counters', leaf));
  t.true(m('/interfaces/interface[name=xe-0/0/0]/state/counters', leaf));
  t.false(m('/interfaces/interface[name=xe-0/0/1]/state/counters', leaf));
  t.true(m('/interfaces/*/state', leaf));
  t.true(m('/interfaces/.../in-octets', leaf));
  t.true(m('/.../counters', leaf));
  t.false(m('/.../out-octets', leaf, false));
  t.false(m('/interfaces/interface/state/counters', leaf, false), 'exact match only without descendants');
  t.true(m(leaf, leaf, false));
  t.true(m('/', leaf), 'the root covers everything');
  t.true(m('/openconfig-interfaces:interfaces/interface/state', leaf), 'module prefixes are ignored');
  t.true(m('openconfig:/interfaces', leaf), 'no origin means openconfig');
  t.false(m('junos_cli:/interfaces', leaf));
  t.false(m('/interfaces/interface/state/counters/in-octets/x', leaf), 'a longer pattern does not match');
  t.true(m('/junos/amt/tunnels/tunnel[gateway=*][port=2268]', '/junos/amt/tunnels/tunnel[gateway=192.0.2.1][port=2268]/state'));
  t.false(m('/junos/amt/tunnels/tunnel[gateway=*][port=2268]', '/junos/amt/tunnels/tunnel[gateway=192.0.2.1][port=40000]/state'));
  t.false(m('/junos/amt/tunnels/tunnel[gateway=192.0.2.1]', '/junos/amt/tunnels/tunnel/state'), 'a concrete key needs the key');
});
