/** The gNMI collector's definition: configured by `gnmi.enabled`; gRPC loads only when it starts. See README.md. */
import type { CollectorDefinition } from '../context.ts';
import { gnmiSettings, type GnmiSettings } from './settings.ts';

export const gnmiCollector: CollectorDefinition<GnmiSettings> = {
  name: 'gnmi',
  configOf: (config) => (config.gnmi.enabled ? gnmiSettings(config.gnmi, config.amtRelay) : null),
  start: async (ctx) => (await import('./collector.ts')).startGnmi(ctx),
};
