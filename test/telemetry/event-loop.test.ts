import test from 'ava';
import { watchEventLoop } from '../../src/telemetry/event-loop.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const blockFor = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

test('a blocked event loop shows in the max of the next window, and the window after forgets it', async (t) => {
  const metrics = new Metrics();
  const watch = watchEventLoop(metrics, 1000);
  t.teardown(() => watch.stop());
  t.is(metrics.get('driad_event_loop_delay_seconds', { quantile: '1' }), 0);
  await sleep(20);
  blockFor(120);
  // Poll for the roll of the window holding the block: a fixed sleep can overshoot a whole window on a loaded machine.
  let seen = 0;
  for (let i = 0; i < 80 && seen < 0.1; i++) {
    await sleep(50);
    seen = metrics.get('driad_event_loop_delay_seconds', { quantile: '1' });
  }
  t.true(seen >= 0.1, `max of the window with the block: ${seen}`);
  t.true(metrics.get('driad_event_loop_delay_seconds', { quantile: '0.5' }) <= metrics.get('driad_event_loop_delay_seconds', { quantile: '1' }));
  // A busy machine can delay a window by itself, so only ask that the 120 ms block be gone eventually.
  let max = Infinity;
  for (let i = 0; i < 20 && max >= 0.1; i++) {
    await sleep(500);
    max = metrics.get('driad_event_loop_delay_seconds', { quantile: '1' });
  }
  t.true(max < 0.1);
  t.regex(metrics.render(), /driad_event_loop_delay_seconds\{quantile="0.99"\} /);
});
