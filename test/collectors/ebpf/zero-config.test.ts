// Zero configuration on a machine that is not the Linux relay: driad with the embedded default
// config (the quick start: the gateway relay at 192.0.2.10, no local address) starts the ebpf
// collector, which runs nothing and attaches nothing, and says why on /api/v1/relays and the page.
import test from 'ava';
import { hasChromium, launchChromium, CHROMIUM_PATH } from '../../helpers/chromium.ts';
import { startTestDriad } from '../../helpers/driad.ts';

const json = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).json() as Promise<any>;
const REASON =
  'xdp: no interface holds 192.0.2.10 and no amt relay netdev names its link (set ebpf.interface); capture: no interface holds 192.0.2.10 and no amt relay netdev names its link (set ebpf.interface); kernel: no amt relay netdev (ip -d link show type amt)';

test('the embedded default config: ebpf on, mode off with the reason of every mode, no signal from it', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop());
  const relays = await json(d.httpPort, '/api/v1/relays');
  const ebpf = relays.collectors.find((c: { collector: string }) => c.collector === 'ebpf');
  t.like(ebpf, { mode: 'off', modeReason: REASON, tunnels: { active: 0, activeAddresses: 0, entries: 0 }, rates: null, kernel: [] });
  t.like(ebpf.sessions[0], { relay: 'gateway', mode: 'off', connected: false, errors: 0 });
  const gateway = relays.relays.find((r: { name: string }) => r.name === 'gateway');
  t.like(gateway.collectors[0], { collector: 'ebpf', mode: 'off' });
  t.false(d.health.signals('gateway').some((s) => s.source === 'ebpf'));
  t.regex(await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text(), /^driad_ebpf_mode\{mode="off"\} 1$/m);
});

test('ebpf.enabled: false is an explicit off: no ebpf collector at all', async (t) => {
  const d = await startTestDriad('ebpf:\n  enabled: false\n');
  t.teardown(() => d.stop());
  const relays = await json(d.httpPort, '/api/v1/relays');
  t.false(relays.collectors.some((c: { collector: string }) => c.collector === 'ebpf'));
});

const browserTest = hasChromium ? test : test.skip;
browserTest(`the page says the ebpf collector is off and why${hasChromium ? '' : ` (skipped: no chromium at ${CHROMIUM_PATH})`}`, async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  await browser.page.goto(`http://127.0.0.1:${d.httpPort}/?refresh=1`);
  const row = browser.page.locator('[data-testid="session-row"][data-collector="ebpf"][data-relay="gateway"][data-connected="false"]');
  await row.waitFor({ timeout: 10_000 });
  t.is(await row.getByTestId('session-mode').getAttribute('title'), REASON);
  t.regex((await browser.page.getByTestId('collectors-mode').textContent()) ?? '', new RegExp(`(^| · )ebpf: off \\(${REASON.replace(/[.()]/g, '\\$&')}\\), 1 session$`));
});
