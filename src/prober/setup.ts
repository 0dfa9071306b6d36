import type { CollectorDefinition } from '../collectors/context.ts';
import type { ProberConfig } from '../config/types.ts';
import { startProber } from './prober.ts';

/** The RTT prober: runs when the config has a `prober` section. */
export const proberDefinition: CollectorDefinition<ProberConfig> = {
  name: 'prober',
  configOf: (config) => config.prober,
  start: startProber,
};
