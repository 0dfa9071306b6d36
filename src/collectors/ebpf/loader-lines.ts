// The loader's JSON lines (README.md, "Events" and "The loader") applied to the tunnel table.
import type { Counters, Gateway, Kind, TunnelTable } from './tunnel-table.ts';

type Line = Record<string, unknown>;

/** What the loader said about itself: its ready line and the latest snapshot's global counters. */
export interface LoaderState {
  ready: Line | null;
  stats: Record<string, number>;
  snapshots: number;
  evicted: number;
  lastLineAt: number | null;
  /** `at` of the latest snapshot line: the time the table's counters are as of. */
  lastSnapshotAt: number | null;
}

export function newLoaderState(): LoaderState {
  return { ready: null, stats: {}, snapshots: 0, evicted: 0, lastLineAt: null, lastSnapshotAt: null };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const hex = (v: unknown): number | undefined => (typeof v === 'string' && /^[0-9a-f]{1,8}$/i.test(v) ? Number.parseInt(v, 16) : undefined);

function gatewayOf(v: unknown): Gateway | null {
  if (typeof v !== 'object' || v === null) return null;
  const g = v as Line;
  return typeof g.address === 'string' && typeof g.port === 'number' ? { address: g.address, port: g.port } : null;
}

/** RFC 3376/3810 record types as the loader gives them (type and source count, 0 for IGMPv2/MLDv1). */
function change(report: unknown, recordType: number, sources: number): 'join' | 'leave' | null {
  switch (recordType) {
    case 0:
      return report === 'igmpv2-leave' || report === 'mldv1-done' ? 'leave' : 'join';
    case 1:
    case 3:
      return sources > 0 ? 'join' : 'leave';
    case 2:
    case 4:
      return 'join';
    case 5:
      return sources > 0 ? 'join' : null;
    case 6:
      return sources > 0 ? 'leave' : null;
    default:
      return null;
  }
}

const TO_RELAY: Record<string, Kind> = { discovery: 'discovery', request: 'request', update: 'update', teardown: 'teardown' };
const FROM_RELAY: Record<string, Kind> = { advertisement: 'advertisement', query: 'query', data: 'data' };

/** Applies one line; returns false for a line it does not understand (counted by the caller). */
export function applyLoaderLine(table: TunnelTable, state: LoaderState, line: Line, now: number): boolean {
  state.lastLineAt = now;
  const at = typeof line.at === 'number' ? line.at : now;
  switch (line.type) {
    case 'ready':
      state.ready = line;
      // A new loader run: its counters start from zero.
      table.countersRestarted();
      return true;
    case 'request':
    case 'update':
    case 'teardown': {
      const gateway = gatewayOf(line.gateway);
      if (!gateway) return false;
      const kind = line.type;
      const changes: Array<{ group: string; change: 'join' | 'leave' }> = [];
      if (kind === 'update' && Array.isArray(line.groups)) {
        for (const g of line.groups as Line[]) {
          const c = change(line.report, num(g.recordType), num(g.sources));
          if (c && typeof g.address === 'string') changes.push({ group: g.address, change: c });
        }
      }
      const tunnel = kind === 'teardown' ? gatewayOf(line.tunnel) : null;
      table.event({
        at,
        gateway,
        kind,
        bytes: num(line.length),
        nonce: hex(line.nonce),
        kernelShaped: line.kernelShaped === true,
        changes,
        ...(tunnel ? { tunnel } : {}),
      });
      return true;
    }
    case 'eviction':
      return true;
    case 'gateway': {
      if (typeof line.address !== 'string' || typeof line.port !== 'number') return false;
      const counters: Partial<Counters> = {};
      for (const [dir, names] of [['toRelay', TO_RELAY], ['fromRelay', FROM_RELAY]] as const) {
        const group = (line[dir] ?? {}) as Record<string, Line>;
        for (const [name, kind] of Object.entries(names)) {
          if (group[name]) counters[kind] = { packets: num(group[name].packets), bytes: num(group[name].bytes) };
        }
      }
      table.setCounters({ address: line.address, port: line.port }, num(line.lastSeen) || now, counters, {
        kernelShapedRequests: num(line.kernelShapedRequests),
        nonceMismatches: num(line.nonceMismatches),
      });
      return true;
    }
    case 'gone':
      if (typeof line.address !== 'string' || typeof line.port !== 'number') return false;
      table.remove({ address: line.address, port: line.port }, now);
      return true;
    case 'snapshot':
      state.snapshots++;
      state.lastSnapshotAt = at;
      // The snapshot's gateway lines came before it: tunnels that ended since the last one now have their counters.
      table.settle();
      state.evicted = num(line.evicted);
      if (typeof line.stats === 'object' && line.stats !== null) {
        state.stats = Object.fromEntries(Object.entries(line.stats as Line).map(([k, v]) => [k, num(v)]));
      }
      return true;
    case 'stopped':
    case 'probe':
      return true;
    default:
      return false;
  }
}
