// Which local interface holds an address, from `ip -j addr show`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function interfaceHolding(json: string, addresses: readonly string[]): string | null {
  const links = JSON.parse(json) as Array<{ ifname?: string; addr_info?: Array<{ local?: string }> }>;
  for (const link of links) {
    if (link.addr_info?.some((a) => a.local !== undefined && addresses.includes(a.local))) return link.ifname ?? null;
  }
  return null;
}

/** The interface that holds one of `addresses`, or null. */
export async function findInterface(ipCommand: string, addresses: readonly string[]): Promise<string | null> {
  if (addresses.length === 0) return null;
  const { stdout } = await run(ipCommand, ['-j', 'addr', 'show'], { timeout: 5000 });
  return interfaceHolding(stdout, addresses);
}
