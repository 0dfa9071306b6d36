import { readdirSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseCdniFile } from '../../accounting/cdni-parser.ts';
import type { AmtTunnel } from '../../sim/mx-jflow/exporter.ts';

/** A port free for both TCP and UDP on 127.0.0.1. */
export async function freeUdpTcpPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const free = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export function tunnelsFor(count: number, relay = '69.25.95.1'): AmtTunnel[] {
  return Array.from({ length: count }, (_, i) => ({
    relay,
    gateway: `198.51.100.${i + 1}`,
    gatewayPort: 40000 + i,
    packets: 1 + (i % 5),
    octets: (1 + (i % 5)) * 1316,
  }));
}

/** Every record of every completed CDNI file in `dir`, read by the independent parser. */
export function cdniRecords(dir: string): Array<Record<string, string> & { file: string }> {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.cdni')).sort();
  } catch {
    return [];
  }
  return names.flatMap((file) => parseCdniFile(readFileSync(join(dir, file))).groups.flatMap((g) => g.records.map((r) => ({ ...r, file }))));
}

export async function getJson(port: number, path: string): Promise<any> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).json();
}
