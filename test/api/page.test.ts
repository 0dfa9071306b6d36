import test, { type ExecutionContext } from 'ava';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { hasChromium, launchChromium, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';

const SCREENSHOT = new URL('../../test-artifacts/operator-page.png', import.meta.url);
const WAIT = { timeout: 15_000 };

// CI installs chromium; without it these tests are skipped, not failed.
const browserTest = hasChromium ? test.serial : test.skip;
const needs = hasChromium ? '' : ` (skipped: no chromium at ${CHROMIUM_PATH})`;

async function admin(port: number, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

/** Records what the page does that it must not: script errors, foreign requests, overlapping polls. */
function watch(page: Page, origin: string) {
  const seen = { errors: [] as string[], foreign: [] as string[], relaysInFlight: 0, maxRelaysInFlight: 0, relaysRequests: 0 };
  page.on('pageerror', (err) => seen.errors.push(err.message));
  page.on('console', (msg) => {
    // A failed fetch the page handles still logs a network error to the console; those are fine.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) seen.errors.push(msg.text());
  });
  const isRelays = (url: string) => new URL(url).pathname === '/api/v1/relays';
  page.on('request', (req) => {
    if (!req.url().startsWith(origin + '/')) seen.foreign.push(req.url());
    if (isRelays(req.url())) {
      seen.relaysRequests++;
      seen.relaysInFlight++;
      seen.maxRelaysInFlight = Math.max(seen.maxRelaysInFlight, seen.relaysInFlight);
    }
  });
  const done = (req: { url(): string }) => {
    if (isRelays(req.url())) seen.relaysInFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  return seen;
}

/** A driad on fresh ports and a Chromium page watched for foreign requests and script errors; both stop with the test. */
async function openBrowser(t: ExecutionContext) {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const { page } = browser;
  const origin = `http://127.0.0.1:${d.httpPort}`;
  return { d, page, origin, seen: watch(page, origin) };
}

browserTest(`operator page shows relays, live state changes, signals and explain${needs}`, async (t) => {
  const { d, page, origin, seen } = await openBrowser(t);

  await page.goto(`${origin}/?refresh=1`);
  t.is(await page.title(), 'driad: relays');
  const row = (name: string) => page.locator(`[data-testid="relay-row"][data-relay="${name}"]`);

  // Both default relays, up.
  await row('gateway').waitFor(WAIT);
  t.deepEqual(await page.getByTestId('relay-name').allTextContents(), ['mx', 'gateway']);
  for (const name of ['mx', 'gateway']) {
    t.is(await row(name).getByTestId('relay-state').textContent(), 'up');
  }
  t.regex((await row('mx').getByTestId('relay-meta').textContent()) ?? '', /juniper · config/);
  t.regex((await row('gateway').getByTestId('relay-meta').textContent()) ?? '', /linux · config/);
  t.regex((await row('mx').textContent()) ?? '', /69\.25\.95\.1/);
  t.regex((await row('gateway').textContent()) ?? '', /192\.0\.2\.10/);
  t.regex((await page.getByTestId('updated-at').textContent()) ?? '', /^Updated \d\d:\d\d:\d\d/);
  t.true(await page.getByTestId('transitions-empty').isVisible());
  t.true(await page.getByTestId('trafficops-status').isHidden());
  // Mark mx's row: refreshes must update it in place (no flicker), not rebuild it.
  await row('mx').evaluate((el) => void ((el as unknown as { kept?: boolean }).kept = true));

  // An operator override shows up on the next refresh, with its reason and a transition row.
  await admin(d.httpPort, 'PUT', '/api/v1/relays/mx/state', { state: 'down', reason: 'maintenance window' });
  await page.locator('[data-testid="relay-row"][data-relay="mx"][data-state="down"]').waitFor(WAIT);
  t.is(await row('mx').getByTestId('relay-state').textContent(), 'down');
  t.is(await row('mx').getByTestId('relay-reason').textContent(), 'maintenance window');
  t.is(await row('mx').getByTestId('relay-state-source').textContent(), 'operator override');
  t.true(await row('mx').evaluate((el) => (el as unknown as { kept?: boolean }).kept === true), 'the row was updated in place');
  const transition = page.locator('[data-testid="transition-row"][data-relay="mx"]');
  await transition.waitFor(WAIT);
  t.is(await transition.getByTestId('transition-change').textContent(), 'up → down');
  t.is(await transition.getByTestId('transition-reason').textContent(), 'maintenance window');
  t.true(await page.getByTestId('transitions-empty').isHidden());

  // Signals: a fresh RTT and tunnel count for gateway, a stale one for mx (marked stale).
  await admin(d.httpPort, 'POST', '/api/v1/signals', { relay: 'gateway', source: 'prober', kind: 'rttMs', value: 12.5, maxAgeMs: 60000 });
  await admin(d.httpPort, 'POST', '/api/v1/signals', { relay: 'gateway', source: 'gnmi', kind: 'tunnels', value: 420, maxAgeMs: 60000 });
  await admin(d.httpPort, 'POST', '/api/v1/signals', { relay: 'mx', source: 'gnmi', kind: 'tunnels', value: 1200, at: Date.now() - 5000, maxAgeMs: 1000 });
  const rtt = row('gateway').locator('[data-testid="signal"][data-source="prober"][data-kind="rttMs"]');
  await rtt.waitFor(WAIT);
  t.regex((await rtt.textContent()) ?? '', /^prober\/rttMs = 12\.5 ms \(\d+ s old, counts for 1 min\)/);
  t.is(await rtt.getAttribute('data-stale'), 'false');
  t.true(await rtt.locator('.tag-stale').isHidden());
  t.is(await row('gateway').getByTestId('relay-rtt').textContent(), '12.5 ms');
  await page.locator('[data-testid="relay-row"][data-relay="gateway"] [data-kind="tunnels"]').waitFor(WAIT);
  t.is(await row('gateway').getByTestId('relay-utilization').textContent(), '42 %');
  t.true(await row('gateway').locator('.bar').isVisible());
  t.true(await row('mx').locator('.bar').isHidden());
  t.is(await row('mx').getByTestId('relay-utilization').textContent(), '—');
  const stale = row('mx').locator('[data-testid="signal"][data-kind="tunnels"]');
  await stale.waitFor(WAIT);
  t.is(await stale.getAttribute('data-stale'), 'true');
  t.regex((await stale.textContent()) ?? '', /stale$/);
  t.true(await stale.locator('.tag-stale').isVisible());

  // A bad source: the API's message, in an alert.
  const alert = page.getByTestId('explain-error');
  t.is(await alert.getAttribute('role'), 'alert');
  await page.getByLabel('Source').fill('not-an-ip');
  await page.getByTestId('explain-submit').click();
  await page.getByRole('alert').filter({ hasText: 'source:' }).waitFor(WAIT);
  t.regex((await alert.textContent()) ?? '', /source: must be an IPv4 or IPv6 address/);
  t.is(await page.getByLabel('Source').getAttribute('aria-invalid'), 'true');

  // Explain 69.25.95.10: mx is down, so the answer is the gateway, and the trace says why.
  await page.getByLabel('Source').fill('69.25.95.10');
  await page.getByLabel('Client').fill('');
  await page.getByTestId('explain-submit').click();
  await page.getByTestId('explain-result').waitFor(WAIT);
  t.is(await alert.textContent(), '');
  t.is(await page.getByTestId('explain-name').textContent(), '10.95.25.69.amt.in-addr.arpa');
  t.is(await page.getByTestId('explain-a').textContent(), '192.0.2.10 (gateway)');
  t.is(await page.getByTestId('explain-aaaa').textContent(), 'none');
  t.is(await page.getByTestId('explain-amtrelay').textContent(), '20 0 1 192.0.2.10 (gateway)');
  const health = page.locator('[data-testid="trace-step"][data-rule="health"]');
  t.is(await health.locator('[data-testid="trace-removed"]').count(), 1);
  t.is(await health.locator('[data-testid="trace-removed"]').textContent(), 'removed mx: down: maintenance window');
  t.deepEqual(await page.locator('[data-testid="trace-step"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-rule'))), [
    'source prefix',
    'health',
    'state',
    'capacity headroom',
    'client preference',
    'rtt',
    'preference',
    'result',
    'ttl',
  ]);

  // Let a couple more refreshes happen, then check the page behaved.
  const before = seen.relaysRequests;
  await page.waitForTimeout(2500);
  t.true(seen.relaysRequests > before, 'the page keeps refreshing');
  t.is(seen.maxRelaysInFlight, 1, 'one relays request at a time');
  t.deepEqual(seen.foreign, [], 'no request leaves driad');
  t.deepEqual(seen.errors, [], 'no script errors');

  mkdirSync(new URL('.', SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
});

browserTest(`operator page shows API failures, Traffic Ops status, and never renders data as HTML${needs}`, async (t) => {
  const { d, page, origin, seen } = await openBrowser(t);
  const relaysError = page.getByTestId('relays-error');

  // The API failing from the start: an error, no exception, and the loop keeps trying.
  await page.route('**/api/v1/relays', (route) =>
    route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'health store unavailable' }) }),
  );
  await page.goto(`${origin}/?refresh=1`);
  await page.getByRole('alert').filter({ hasText: 'health store unavailable' }).waitFor(WAIT);
  t.is(await relaysError.textContent(), 'Cannot load relays: health store unavailable');
  t.is(await page.getByTestId('updated-at').textContent(), 'Not loaded yet: retrying');

  // Not JSON at all (a proxy's error page).
  await page.unroute('**/api/v1/relays');
  await page.route('**/api/v1/relays', (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad Gateway</h1>' }));
  await page.getByRole('alert').filter({ hasText: '502' }).waitFor(WAIT);
  t.regex((await relaysError.textContent()) ?? '', /^Cannot load relays: 502/);
  t.is(await page.locator('[data-testid="relays-error"] h1').count(), 0);

  // Traffic Ops discovery on and failing: its status line says so.
  await page.unroute('**/api/v1/relays');
  const now = Date.now();
  await page.route('**/api/v1/relays', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        generation: 3,
        relays: [],
        transitions: [],
        inventory: {
          config: [],
          trafficOps: {
            relays: ['amt-1', 'amt-2'],
            fromDisk: true,
            lastSuccessAt: new Date(now - 600_000).toISOString(),
            lastAttemptAt: new Date(now - 5_000).toISOString(),
            lastError: 'GET https://to.example/api/4.0/servers: connect ECONNREFUSED',
            lastErrorAt: new Date(now - 5_000).toISOString(),
            consecutiveFailures: 3,
          },
        },
      }),
    }),
  );
  const to = page.getByTestId('trafficops-status');
  await to.waitFor(WAIT);
  t.is(await relaysError.textContent(), '');
  t.regex((await to.textContent()) ?? '', /^Traffic Ops: 2 relays · last success \d\d:\d\d:\d\d \(10 min ago\) · inventory loaded from disk · last error .*connect ECONNREFUSED \(3 failures in a row\)$/);
  t.true(await to.evaluate((el) => el.classList.contains('failing')));
  t.true(await page.getByTestId('relays-empty').isVisible());

  // Back to the real API; text that looks like HTML stays text.
  await page.unroute('**/api/v1/relays');
  const evil = '<img src=x onerror="window.__pwned=1">';
  await admin(d.httpPort, 'PUT', '/api/v1/relays/gateway/state', { state: 'degraded', reason: evil });
  const gw = page.locator('[data-testid="relay-row"][data-relay="gateway"][data-state="degraded"]');
  await gw.waitFor(WAIT);
  t.is(await gw.getByTestId('relay-reason').textContent(), evil);
  t.is(await gw.getByTestId('relay-state').textContent(), 'degraded');
  t.is(await page.locator('main img').count(), 0);
  t.is(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
  t.true(await page.getByTestId('trafficops-status').isHidden());

  // Explain when the network fails: an alert, no exception.
  await page.route('**/api/v1/explain*', (route) => route.abort('connectionrefused'));
  await page.getByLabel('Source').fill('69.25.95.10');
  await page.getByTestId('explain-submit').click();
  await page.getByRole('alert').filter({ hasText: 'cannot reach driad' }).waitFor(WAIT);
  t.true(await page.getByTestId('explain-result').isHidden());
  // An empty source is caught before asking.
  await page.getByLabel('Source').fill('');
  await page.getByTestId('explain-submit').click();
  t.regex((await page.getByTestId('explain-error').textContent()) ?? '', /^source: required/);

  t.is(seen.maxRelaysInFlight, 1);
  t.deepEqual(seen.foreign, []);
  t.deepEqual(seen.errors, []);
});
