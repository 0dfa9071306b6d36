// Which local interface holds an address, from `ip -j addr show`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The interface that holds one of `addresses`, or null. */
export function interfaceHolding(json: string, addresses: readonly string[]): string | null {
  let links: Array<{ ifname?: string; addr_info?: Array<{ local?: string }> }>;
  try {
    links = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(links)) return null;
  for (const link of links) {
    if (link.addr_info?.some((a) => a.local !== undefined && addresses.includes(a.local))) return link.ifname ?? null;
  }
  return null;
}

/** `ip -j addr show`, for interfaceHolding. */
export async function listAddresses(ipCommand: string): Promise<string> {
  return (await run(ipCommand, ['-j', 'addr', 'show'], { timeout: 5000 })).stdout;
}
