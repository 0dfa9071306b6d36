import test from 'ava';
import { pino } from 'pino';
import type { Logger } from '../../src/telemetry/log.ts';
import { Writable } from 'node:stream';
import { BadInputReporter } from '../../src/telemetry/bad-input.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';

function capture(): { lines: Array<Record<string, unknown>>; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) as unknown as Logger };
}

test('every bad input is counted, but a flood logs one line per kind per interval', async (t) => {
  const { lines, log } = capture();
  const metrics = new Metrics();
  const r = new BadInputReporter(log, metrics, 60_000);
  for (let i = 0; i < 1000; i++) r.report('dns', 'FORMERR', 'compression pointer in the question name', '192.0.2.1');
  r.report('dns', 'dropped', 'message is a response (QR=1)');
  await new Promise((res) => setImmediate(res));
  t.is(metrics.get('driad_bad_input_total', { component: 'dns', kind: 'FORMERR' }), 1000);
  t.is(metrics.get('driad_bad_input_total', { component: 'dns', kind: 'dropped' }), 1);
  t.deepEqual(
    lines.map((l) => l.msg),
    ['dns: FORMERR: compression pointer in the question name', 'dns: dropped: message is a response (QR=1)'],
  );
});

test('after the interval, the next line reports how many were suppressed', async (t) => {
  const { lines, log } = capture();
  const r = new BadInputReporter(log, new Metrics(), 20);
  r.report('ipfix', 'bad set', 'set length 3 < 4');
  r.report('ipfix', 'bad set', 'set length 3 < 4');
  r.report('ipfix', 'bad set', 'set length 3 < 4');
  await new Promise((res) => setTimeout(res, 30));
  r.report('ipfix', 'bad set', 'set length 3 < 4');
  await new Promise((res) => setImmediate(res));
  t.deepEqual(lines.map((l) => l.suppressed), [0, 2]);
});

test('metrics render in the Prometheus text format', (t) => {
  const m = new Metrics();
  m.counter('x_total', 'An example', { kind: 'a"b' }).inc(3);
  m.gauge('y', 'A gauge', () => [[{}, 7]]);
  t.is(m.render(), '# HELP x_total An example\n# TYPE x_total counter\nx_total{kind="a\\"b"} 3\n# HELP y A gauge\n# TYPE y gauge\ny 7\n');
});
