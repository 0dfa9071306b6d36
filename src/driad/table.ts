import type { RelayConfig } from '../config/types.ts';
import type { HealthStore } from '../health/store.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { prepareDecision, type PreparedDecision } from './answers.ts';
import { addressWords, longestMatch, type Prefix, type Words } from './prefix.ts';
import { decide, type CompiledPolicy, type TraceStep } from './selection.ts';

/**
 * Every answer DNS can give right now, one cell per (source rule, client rule) pair, rendered to
 * wire bytes. Rebuilt when health or policy changes; a query only looks up its cell.
 */
export interface DecisionTable {
  generation: number;
  sources: Prefix[];
  clients: Prefix[];
  /** cells[source rule + 1][client rule + 1]; index 0 is "no rule matched". */
  cells: PreparedDecision[][];
}

export function buildTable(relays: readonly RelayConfig[], health: HealthStore, policy: CompiledPolicy, metrics?: Metrics): DecisionTable {
  const cells: PreparedDecision[][] = [];
  for (let s = -1; s < policy.sources.length; s++) {
    const row: PreparedDecision[] = [];
    for (let c = -1; c < policy.clients.length; c++) row.push(prepareDecision(decide(relays, health, policy, s, c), metrics));
    cells.push(row);
  }
  return { generation: health.generation, sources: policy.sources.map((r) => r.prefix), clients: policy.clients.map((r) => r.prefix), cells };
}

export interface CellChoice {
  sourceRule: number;
  clientRule: number;
  /** ECS scope prefix for the answer: how much of the client address it depends on. */
  scope: number;
}

/** Which cell serves a source and a client; `clientWords` null when the client is unknown. */
export function chooseCell(table: DecisionTable, source: Words | null, client: Words | null, ecsSourcePrefix: number | null): CellChoice {
  const sourceRule = source && table.sources.length ? longestMatch(table.sources, source) : -1;
  if (table.clients.length === 0 || !client) return { sourceRule, clientRule: -1, scope: 0 };
  const clientRule = longestMatch(table.clients, client);
  const scope = clientRule >= 0 ? (table.clients[clientRule] as Prefix).length : (ecsSourcePrefix ?? 0);
  return { sourceRule, clientRule, scope };
}

export function cell(table: DecisionTable, choice: CellChoice): PreparedDecision {
  return (table.cells[choice.sourceRule + 1] as PreparedDecision[])[choice.clientRule + 1] as PreparedDecision;
}

/** The explain API: the same choice DNS makes for a source and client, with every rule traced. */
export function explain(
  relays: readonly RelayConfig[],
  health: HealthStore,
  policy: CompiledPolicy,
  table: DecisionTable,
  source: string,
  client: string | null,
): { choice: CellChoice; trace: TraceStep[]; prepared: PreparedDecision } {
  const choice = chooseCell(table, addressWords(source), client ? addressWords(client) : null, null);
  const trace: TraceStep[] = [];
  decide(relays, health, policy, choice.sourceRule, choice.clientRule, trace);
  return { choice, trace, prepared: cell(table, choice) };
}
