// Template management (RFC 7011 §8): scoping per exporter and observation domain, withdrawal
// over TCP and its ignoring over UDP (§8.1, §8.4), redefinition, the UDP template lifetime,
// refused templates, limits, and the all-or-nothing handling of a malformed message (§9.1).

import test from 'ava';
import { encodeDataSet, encodeMessage, encodeTemplateSet, encodeWithdrawalSet, IpfixMessageWriter, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { decoder, manualClock, MX, ok, present, recordsOf } from './helpers.ts';

const T256: TemplateDef = { id: 256, fields: [{ id: 8 }, { id: 1 }] };
const T256_OTHER: TemplateDef = { id: 256, fields: [{ id: 1 }, { id: 8 }] };
const T257: TemplateDef = { id: 257, fields: [{ id: 12 }, { id: 2 }] };
const OPTS: TemplateDef = { id: 512, fields: [{ id: 144 }, { id: 2 }], scopeCount: 1 };

function msg(domain: number, ...sets: Parameters<typeof encodeMessage>[0]['sets']): Buffer {
  return encodeMessage({ exportTime: 1_700_000_000, sequence: 0, domain, sets });
}

test('message header: version 10 and a length equal to the message, else the message is refused', (t) => {
  const d = decoder();
  const good = msg(1, encodeTemplateSet([T256]));
  const r = ok(t, d.decode(good, MX));
  t.deepEqual(r.header, { version: 10, length: good.length, exportTime: 1_700_000_000, sequence: 0, domain: 1 });

  const v9 = Buffer.from(good);
  v9.writeUInt16BE(9, 0);
  t.like(d.decode(v9, MX), { ok: false, kind: 'bad-version' });
  const long = Buffer.concat([good, Buffer.alloc(4)]);
  t.like(d.decode(long, MX), { ok: false, kind: 'length-mismatch' });
  t.like(d.decode(good.subarray(0, good.length - 1), MX), { ok: false, kind: 'length-mismatch' });
  t.like(d.decode(good.subarray(0, 15), MX), { ok: false, kind: 'short-message' });
  const zeroSet = Buffer.from(good);
  zeroSet.writeUInt16BE(0, 18);
  t.like(d.decode(zeroSet, MX), { ok: false, kind: 'bad-set-length' });
  t.deepEqual(d.stats.errors, { 'bad-version': 1, 'length-mismatch': 2, 'short-message': 1, 'bad-set-length': 1 });
  t.is(d.stats.messagesRejected, 5);
  // A header-only message is legal and carries nothing.
  t.like(d.decode(msg(1), MX), { ok: true, records: 0 });
});

test('templates are scoped per exporter (address and port) and per observation domain', (t) => {
  const d = decoder();
  const other = { address: MX.address, port: MX.port + 1 };
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  ok(t, d.decode(msg(2, encodeTemplateSet([T256_OTHER])), MX));
  ok(t, d.decode(msg(1, encodeTemplateSet([T256_OTHER])), other));
  const data = (domain: number, def: TemplateDef) => msg(domain, encodeDataSet(def, [def === T256 ? ['10.0.0.1', 5] : [5, '10.0.0.1']]));
  const expect = { sourceIPv4Address: '10.0.0.1', octetDeltaCount: 5 };
  t.deepEqual(present(recordsOf(d.decode(data(1, T256), MX))[0]), expect);
  t.deepEqual(present(recordsOf(d.decode(data(2, T256_OTHER), MX))[0]), expect);
  t.deepEqual(present(recordsOf(d.decode(data(1, T256_OTHER), other))[0]), expect);
  // Domain 3 of MX, and any domain of a third exporter, know no template 256.
  t.deepEqual(recordsOf(d.decode(data(3, T256), MX)), []);
  t.deepEqual(recordsOf(d.decode(data(1, T256), { address: '192.0.2.2', port: MX.port })), []);
  t.is(d.stats.pendingHeld, 2);
  t.is(d.status().templates, 3);
});

test('TCP: a withdrawal stops the template; data for it waits as if it had never been defined (§8.1)', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256, T257])), MX));
  ok(t, d.decode(msg(1, encodeWithdrawalSet([256], 'template')), MX));
  t.deepEqual(
    d.templates(MX, 1).map((x) => x.id),
    [257],
  );
  const r = ok(t, d.decode(msg(1, encodeDataSet(T256, [['10.0.0.1', 1]]), encodeDataSet(T257, [['10.0.0.2', 2]])), MX));
  t.deepEqual(r.sets.map((s) => s.templateId), [257]);
  t.is(d.stats.templatesWithdrawn, 1);
  t.is(d.stats.pendingHeld, 1);
});

test('TCP: all-templates withdrawal (ID 2 in set 2) leaves options templates; ID 3 in set 3 takes those', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256, T257]), encodeTemplateSet([OPTS])), MX));
  ok(t, d.decode(msg(1, encodeWithdrawalSet([2], 'template')), MX));
  t.deepEqual(
    d.templates(MX, 1).map((x) => x.id),
    [512],
  );
  ok(t, d.decode(msg(1, encodeWithdrawalSet([3], 'options')), MX));
  t.deepEqual(d.templates(MX, 1), []);
  t.is(d.stats.templatesWithdrawn, 3);
});

test('TCP: a template withdrawn and defined again in one message is the new one from there on', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  const r = ok(t, d.decode(msg(1, encodeDataSet(T256, [['10.0.0.1', 1]]), encodeWithdrawalSet([256], 'template'), encodeTemplateSet([T256_OTHER]), encodeDataSet(T256_OTHER, [[2, '10.0.0.2']])), MX));
  t.deepEqual(
    recordsOf(r).map(present),
    [
      { sourceIPv4Address: '10.0.0.1', octetDeltaCount: 1 },
      { sourceIPv4Address: '10.0.0.2', octetDeltaCount: 2 },
    ],
  );
  t.deepEqual(r.issues, []);
  t.is(d.templates(MX, 1)[0].fields[0].id, 1);
});

test('TCP: definitions and withdrawals in one set apply in their order', (t) => {
  const d = decoder({ transport: 'tcp' });
  const definition = encodeTemplateSet([T256]).bytes.subarray(4);
  const withdrawal = Buffer.from([1, 0, 0, 0]);
  const set = (...records: Buffer[]): Buffer => {
    const body = Buffer.concat(records);
    return Buffer.concat([Buffer.from([0, 2, (body.length + 4) >> 8, (body.length + 4) & 0xff]), body]);
  };
  ok(t, d.decode(msg(1, set(definition, withdrawal)), MX));
  t.deepEqual(d.templates(MX, 1), []);
  ok(t, d.decode(msg(2, encodeTemplateSet([T256_OTHER])), MX));
  ok(t, d.decode(msg(2, set(withdrawal, definition)), MX));
  t.deepEqual(d.templates(MX, 2).map((x) => x.fields[0].id), [8]);
});

test('TCP: withdrawing an unknown template, or one of the other kind, is ignored and reported', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256]), encodeTemplateSet([OPTS])), MX));
  const r = ok(t, d.decode(msg(1, encodeWithdrawalSet([300], 'template'), encodeWithdrawalSet([256], 'options'), encodeWithdrawalSet([512], 'template')), MX));
  t.deepEqual(
    r.issues.map((i) => i.kind),
    ['withdrawal-unknown', 'withdrawal-mismatch', 'withdrawal-mismatch'],
  );
  t.is(d.templates(MX, 1).length, 2);
  t.deepEqual(d.stats.errors, { 'withdrawal-unknown': 1, 'withdrawal-mismatch': 2 });
});

test('UDP: withdrawals are ignored (§8.4), counted, and the template keeps decoding', (t) => {
  const d = decoder();
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  ok(t, d.decode(msg(1, encodeWithdrawalSet([256], 'template'), encodeWithdrawalSet([2], 'template')), MX));
  t.is(d.stats.withdrawalsIgnored, 2);
  t.is(recordsOf(d.decode(msg(1, encodeDataSet(T256, [['10.0.0.1', 1]])), MX)).length, 1);
});

test('UDP: a refresh is quiet; a different template under the same ID replaces it (§8.4)', (t) => {
  const d = decoder();
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  const refresh = ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  t.deepEqual(refresh.issues, []);
  t.is(d.stats.templatesRefreshed, 1);
  const redefine = ok(t, d.decode(msg(1, encodeTemplateSet([T256_OTHER]), encodeDataSet(T256_OTHER, [[7, '10.0.0.7']])), MX));
  t.deepEqual(redefine.issues, []);
  t.deepEqual(present(recordsOf(redefine)[0]), { sourceIPv4Address: '10.0.0.7', octetDeltaCount: 7 });
  t.is(d.stats.templatesRedefined, 1);
  t.is(d.stats.templatesAdded, 1);
});

test('TCP: a redefinition without a withdrawal is used, and reported as the exporter fault it is (§8.1)', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  const r = ok(t, d.decode(msg(1, encodeTemplateSet([T256_OTHER])), MX));
  t.deepEqual(r.issues.map((i) => i.kind), ['redefinition']);
  t.is(d.templates(MX, 1)[0].fields[0].id, 1);
});

test('UDP template lifetime: a template not refreshed in time expires; refreshes keep it (§8.4)', (t) => {
  const clock = manualClock();
  const d = decoder({ templateLifetimeMs: 60_000, exporterIdleMs: 3600_000, now: clock.now });
  const data = msg(1, encodeDataSet(T256, [['10.0.0.1', 1]]));
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  clock.advance(50_000);
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX)); // refresh
  clock.advance(50_000);
  t.is(recordsOf(d.decode(data, MX)).length, 1, '100 s after definition, 50 s after the refresh');
  clock.advance(60_001);
  t.deepEqual(recordsOf(d.decode(data, MX)), [], 'expired: the data waits for a template');
  t.is(d.stats.templatesExpired, 1);
  t.is(d.status().templates, 0);
  // The sweep expires templates that no data asks for.
  ok(t, d.decode(msg(1, encodeTemplateSet([T257])), MX));
  clock.advance(61_000);
  d.expire();
  t.is(d.status().templates, 0);
  t.is(d.stats.templatesExpired, 2);
});

test('TCP templates do not expire; closing the session forgets them', (t) => {
  const clock = manualClock();
  const d = decoder({ transport: 'tcp', templateLifetimeMs: 1000, exporterIdleMs: 10 * 3600_000, now: clock.now });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  clock.advance(3600_000);
  t.is(recordsOf(d.decode(msg(1, encodeDataSet(T256, [['10.0.0.1', 1]])), MX)).length, 1);
  d.closeSession(MX);
  t.is(d.status().templates, 0);
  t.deepEqual(recordsOf(d.decode(msg(1, encodeDataSet(T256, [['10.0.0.1', 1]])), MX)), []);
});

test('an exporter silent past the idle time is forgotten with its templates (§9.3)', (t) => {
  const clock = manualClock();
  const d = decoder({ templateLifetimeMs: 0, exporterIdleMs: 5000, now: clock.now });
  ok(t, d.decode(msg(1, encodeTemplateSet([T256])), MX));
  clock.advance(5001);
  d.expire();
  t.deepEqual(d.status(), { exporters: 0, templates: 0, pendingSets: 0, pendingBytes: 0 });
  t.is(d.stats.exportersExpired, 1);
});

test('unusable templates are refused with a reason; the rest of the message is used', (t) => {
  const d = decoder();
  const bad = (id: number, fieldCount: number, specs: number[][], scope?: number): Buffer => {
    const parts = [Buffer.from([id >> 8, id & 0xff, fieldCount >> 8, fieldCount & 0xff])];
    if (scope !== undefined) parts.push(Buffer.from([scope >> 8, scope & 0xff]));
    for (const [ie, len] of specs) parts.push(Buffer.from([ie >> 8, ie & 0xff, len >> 8, len & 0xff]));
    return Buffer.concat(parts);
  };
  const set = (setId: number, ...records: Buffer[]): Buffer => {
    const body = Buffer.concat(records);
    return Buffer.concat([Buffer.from([0, setId, (body.length + 4) >> 8, (body.length + 4) & 0xff]), body]);
  };
  const r = ok(
    t,
    d.decode(
      msg(
        1,
        set(
          2,
          bad(255, 1, [[8, 4]]), // template ID below 256
          bad(300, 1, [[8, 5]]), // an IPv4 address in 5 octets
          bad(301, 1, [[1, 9]]), // an unsigned64 in 9 octets
          bad(302, 1, [[7, 65535]]), // a port cannot be variable-length
          bad(303, 2, [
            [210, 0],
            [82, 0],
          ]), // records of zero octets
          bad(304, 1, [[8, 4]]), // fine
        ),
        set(3, bad(600, 2, [[144, 4], [34, 4]], 0), bad(601, 1, [[144, 4]], 2), bad(602, 2, [[144, 4], [34, 4]], 1)),
        encodeDataSet({ id: 304, fields: [{ id: 8 }] }, [['10.0.0.4']]),
      ),
      MX,
    ),
  );
  t.deepEqual(
    r.issues.map((i) => i.reason),
    [
      'template 255: template IDs start at 256',
      'template 300: sourceIPv4Address (8) has length 5, impossible for ipv4Address',
      'template 301: octetDeltaCount (1) has length 9, impossible for unsigned64',
      'template 302: sourceTransportPort (7) is unsigned16, which cannot be variable-length',
      'template 303: records would be zero octets long',
      'options template 600: scope field count is 0',
      'options template 601: scope field count 2 exceeds field count 1',
    ],
  );
  t.deepEqual(
    d.templates(MX, 1).map((x) => x.id),
    [304, 602],
  );
  t.is(recordsOf(r)[0].sourceIPv4Address, '10.0.0.4');
  t.is(d.stats.templatesRefused, 7);
  t.is(d.stats.errors['bad-template'], 7);
});

test('a template flood is bounded: per exporter, in all, and domains and exporters too', (t) => {
  const d = decoder({ maxTemplatesPerExporter: 100, maxTemplates: 150, maxDomainsPerExporter: 3, maxExporters: 2 });
  const flood = (first: number, n: number): TemplateDef[] => Array.from({ length: n }, (_, i) => ({ id: first + i, fields: [{ id: 8 }] }));
  const w = new IpfixMessageWriter();
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    const r = ok(t, d.decode(w.message(1, 1, [encodeTemplateSet(flood(256 + i * 50, 50))]), MX));
    refused += r.issues.filter((x) => x.kind === 'template-limit').length;
  }
  t.is(d.status().templates, 100);
  t.is(refused, 900);
  // Refreshing one it has is still fine at the limit.
  t.deepEqual(ok(t, d.decode(w.message(1, 1, [encodeTemplateSet(flood(256, 1))]), MX)).issues, []);
  const second = { address: '192.0.2.9', port: 1 };
  ok(t, d.decode(w.message(1, 1, [encodeTemplateSet(flood(256, 100))]), second));
  t.is(d.status().templates, 150, 'the global limit');
  ok(t, d.decode(msg(2), MX));
  ok(t, d.decode(msg(3), MX));
  t.like(d.decode(msg(4), MX), { ok: false, kind: 'domain-limit' });
  t.like(d.decode(msg(1), { address: '192.0.2.10', port: 1 }), { ok: false, kind: 'exporter-limit' });
});

test('a malformed message is discarded whole: its templates do not stay (§9.1)', (t) => {
  const d = decoder();
  const varDef: TemplateDef = { id: 258, fields: [{ id: 82 }] };
  // The data set claims a 200-octet string in a 10-octet set.
  const overrun = Buffer.from([1, 2, 0, 10, 200, 0x61, 0x62, 0x63, 0x64, 0x65]);
  const r = d.decode(msg(1, encodeTemplateSet([T256, varDef]), overrun), MX);
  t.like(r, { ok: false, kind: 'record-overrun' });
  t.deepEqual(d.templates(MX, 1), []);
  t.is(d.stats.templatesAdded, 0);
  // A template record cut short by its set is malformed too.
  const cut = encodeTemplateSet([T256]).bytes.subarray(0, 10);
  cut.writeUInt16BE(10, 2);
  t.like(d.decode(msg(1, cut), MX), { ok: false, kind: 'template-overrun' });
});

test('reserved set IDs are skipped and reported', (t) => {
  const d = decoder();
  const reserved = Buffer.from([0, 4, 0, 8, 1, 2, 3, 4]);
  const r = ok(t, d.decode(msg(1, reserved, encodeTemplateSet([T256]), encodeDataSet(T256, [['10.0.0.1', 1]])), MX));
  t.deepEqual(r.issues.map((i) => i.kind), ['reserved-set']);
  t.is(r.records, 1);
});
