import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigOverrides } from '../../src/config/load.ts';
import { startDriad, type Driad } from '../../src/server.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * Starts driad in this process on free loopback ports, optionally with a YAML config. Of the
 * environment only DRIAD_DOH_NATIVE_H2 reaches the config: test/doh/node-http2-*.test.ts set it to
 * run every DoH test again on node:http2.
 */
export async function startTestDriad(yaml?: string, overrides: ConfigOverrides = {}): Promise<Driad & { dnsPort: number; httpPort: number }> {
  let config: string | undefined;
  if (yaml !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'driad-test-'));
    config = join(dir, 'driad.yaml');
    writeFileSync(config, yaml);
  }
  const cfg = loadConfig({ dnsListen: ['127.0.0.1:0'], httpListen: '127.0.0.1:0', dohListen: '127.0.0.1:0', adminToken: ADMIN_TOKEN, config, ...overrides }, { DRIAD_DOH_NATIVE_H2: process.env.DRIAD_DOH_NATIVE_H2 });
  const driad = await startDriad(cfg, silentLogger());
  return Object.assign(driad, { dnsPort: (driad.dns[0] as { port: number }).port, httpPort: driad.http.port });
}
