import test from 'ava';
import { hasChromium, launchChromium, CHROMIUM_PATH } from '../../helpers/chromium.ts';
import { DEFAULT_AUTH } from '../../sim/gnmi-mx/server.ts';
import { startWithMx, WAIT } from './driad.ts';

const browserTest = hasChromium ? test : test.skip;
const needs = hasChromium ? '' : ` (skipped: no chromium at ${CHROMIUM_PATH})`;

browserTest(`operator page: the collectors section shows each gNMI session, its mode and its last error${needs}`, async (t) => {
  const d = await startWithMx(t);
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const { page } = browser;
  await page.goto(`http://127.0.0.1:${d.httpPort}/?refresh=1`);
  const row = page.locator('[data-testid="session-row"][data-collector="gnmi"][data-relay="mx"][data-connected="true"]');
  await row.waitFor({ timeout: WAIT });
  t.true(await page.getByTestId('collectors').isVisible());
  t.is(await row.getByTestId('session-name').textContent(), 'gnmi · mx');
  t.is(await row.getByTestId('session-target').textContent(), d.mx.address);
  await page.locator('[data-testid="session-row"] [data-testid="session-mode"]', { hasText: 'stream · synced' }).waitFor({ timeout: WAIT });
  t.regex((await page.getByTestId('collectors-mode').textContent()) ?? '', /^gnmi: stream, 1 session( · |$)/);

  await d.mx.fail('reject-auth');
  await d.mx.fail('end-stream');
  const failed = page.locator('[data-testid="session-row"][data-relay="mx"][data-connected="false"]');
  await failed.waitFor({ timeout: WAIT });
  await failed.getByTestId('session-error').filter({ hasText: 'gNMI auth failed' }).waitFor({ timeout: WAIT });
  t.false((await page.content()).includes(DEFAULT_AUTH.password));
});
