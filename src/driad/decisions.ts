import type { RelayConfig } from '../config/types.ts';
import type { HealthStore } from '../health/store.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { rankingInputs, type CompiledPolicy } from './selection.ts';
import type { DecisionHolder } from './synthesizer.ts';
import { buildTable } from './table.ts';

export interface DecisionsDeps {
  /** Where synthesizers read the table; filled here. */
  holder: DecisionHolder;
  health: HealthStore;
  relays: () => readonly RelayConfig[];
  policy: () => CompiledPolicy;
  metrics: Metrics;
  log: Logger;
}

/**
 * Keeps the decision table current: rebuilt on every relay state change, when a measurement changes
 * a ranking input (RTT band, headroom), and when `recompute()` is called (relays or policy changed).
 */
export function startDecisions(deps: DecisionsDeps): { recompute(): void } {
  const { holder, health, metrics, log } = deps;
  const recomputations = metrics.counter('driad_decision_recomputations_total', 'Times the decision table was rebuilt');
  let ranking = '';
  const recompute = (): void => {
    const relays = deps.relays();
    ranking = rankingInputs(relays, health, deps.policy());
    holder.current = buildTable(relays, health, deps.policy(), metrics);
    recomputations.inc();
  };
  recompute();
  health.onSignals(() => {
    if (rankingInputs(deps.relays(), health, deps.policy()) !== ranking) recompute();
  });
  health.onChange((generation, changed, from) => {
    metrics.counter('driad_relay_state_transitions_total', 'Relay state changes', { relay: changed.name, from, to: changed.state }).inc();
    recompute();
    log.info(
      { relay: changed.name, from, state: changed.state, reason: changed.reason, source: changed.source, generation },
      `relay ${changed.name} is now ${changed.state}: ${changed.reason}`,
    );
  });
  return { recompute };
}
