import type { CollectorDefinition } from '../context.ts';
import { startIpfixCollector, type IpfixSettings } from './collector.ts';

/** The IPFIX/J-Flow collector: on when ipfix.enabled; its port is amtRelay.ipfixPort (the seed's key). */
export const ipfixCollector: CollectorDefinition<IpfixSettings> = {
  name: 'ipfix',
  configOf: (config) => (config.ipfix.enabled ? { ...config.ipfix, port: config.amtRelay.ipfixPort } : null),
  start: startIpfixCollector,
};
