// Headless Chromium runs docs/browser/example.html from another origin: it resolves a DRIAD name
// through driad's JSON API over HTTP/2+TLS, reads /api/v1/candidates (ranked by the prober's RTTs
// against two simulated relays) and picks the faster relay; a wire-format POST needs a preflight.

import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hasChromium, launchChromium, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { buildQuery } from '../helpers/dns-client.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { until } from '../helpers/until.ts';
import { startAmtRelaySim } from '../sim/amt-relay/relay.ts';

const PAGE = readFileSync(new URL('../../docs/browser/example.html', import.meta.url));
const SCREENSHOT = new URL('../../test-artifacts/browser-example.png', import.meta.url);
const browserTest = hasChromium ? test : test.skip;
const needs = hasChromium ? '' : ` (skipped: no chromium at ${CHROMIUM_PATH})`;

browserTest(`a page on another origin resolves through the JSON API and picks the lowest-RTT relay${needs}`, async (t) => {
  const slow = await startAmtRelaySim({ delayMs: 120 });
  const fast = await startAmtRelaySim({ delayMs: 1 });
  t.teardown(() => Promise.all([slow.close(), fast.close()]));
  const d = await startTestDriad(`amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
health: { minHoldMs: 0, upAfter: 1 }
prober:
  intervalMs: 250
  timeoutMs: 200
  smoothing: 0.5
  relays:
    - { name: mx, target: "127.0.0.1:${slow.port}" }
    - { name: gateway, target: "127.0.0.1:${fast.port}" }
`);
  t.teardown(() => d.stop(0));
  t.true(await until(async () => (d.health.rttMs('gateway') ?? Infinity) < (d.health.rttMs('mx') ?? 0) - 50, 8000), 'the prober measured both relays apart');

  // The page's own origin: another port, plain HTTP.
  const site = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())));
  const origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  const doh = `https://127.0.0.1:${d.doh!.port}`;

  // Trust driad's self-signed certificate by its public key, as an operator would pin it.
  const browser = await launchChromium({ width: 1000, height: 700 }, [`--ignore-certificate-errors-spki-list=${d.doh!.spki}`]);
  t.teardown(() => browser.close());
  const { page } = browser;
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const crossOrigin: string[] = [];
  page.on('requestfinished', (req) => {
    if (req.url().startsWith(doh)) crossOrigin.push(`${req.method()} ${new URL(req.url()).pathname}`);
  });

  await page.goto(`${origin}/example.html?doh=${encodeURIComponent(doh)}&source=69.25.95.10`);
  const chosen = page.getByTestId('chosen');
  await page.locator('[data-testid=chosen]:not(:has-text("…"))').waitFor({ timeout: 15_000 });
  t.is(await page.getByTestId('error').textContent(), '');
  t.is(await chosen.textContent(), 'gateway (127.0.0.2)');
  t.is(await page.getByTestId('name').textContent(), '10.95.25.69.amt.in-addr.arpa');
  t.deepEqual(await page.getByTestId('amtrelay').locator('li').allTextContents(), ['20 0 1 127.0.0.2 (TTL 300)', '21 0 1 127.0.0.1 (TTL 300)'], 'the faster gateway first; the MX moved after it');
  const rows = await page.locator('[data-testid=candidates] tr').all();
  t.deepEqual(await Promise.all(rows.map((r) => r.getAttribute('data-relay'))), ['gateway', 'mx']);
  t.regex((await page.locator('[data-testid=candidates] tr[data-relay=mx]').textContent()) ?? '', /\d+\.\d ms/);
  t.deepEqual(crossOrigin.sort(), ['GET /api/v1/candidates', 'GET /resolve']);

  // A wire-format POST from the page: Content-Type application/dns-message makes Chromium send a preflight first.
  const query = [...buildQuery('10.95.25.69.amt.in-addr.arpa', 'A', { id: 0 })];
  const answer = await page.evaluate(async ([url, bytes]) => {
    const res = await fetch(url as string, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: new Uint8Array(bytes as number[]) });
    return { status: res.status, type: res.headers.get('content-type'), bytes: [...new Uint8Array(await res.arrayBuffer())] };
  }, [`${doh}/dns-query`, query] as const);
  t.is(answer.status, 200);
  t.is(answer.type, 'application/dns-message');
  t.deepEqual(answer.bytes.slice(-4), [127, 0, 0, 2], 'the A record names the faster relay');
  t.is(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '204' }), 1, 'one preflight');

  // Reloaded within the TTL, the page keeps its choice instead of asking again.
  await page.reload();
  await page.getByTestId('cached').waitFor({ timeout: 10_000 });
  t.regex((await page.getByTestId('cached').textContent()) ?? '', /kept until/);
  t.deepEqual(errors, []);
  mkdirSync(new URL('.', SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
});
