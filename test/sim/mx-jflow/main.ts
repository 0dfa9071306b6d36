/**
 * Runs the MX J-Flow simulator from the command line, for trying a collector by hand:
 *
 *   node test/sim/mx-jflow/main.ts --port 4739 [--host 127.0.0.1] [--tunnels 100] [--domains 3]
 *       [--rounds 10] [--interval-ms 1000] [--sampling 1000] [--drop 0.01] [--reorder 0.05]
 *       [--data-first] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { startMxJflowSim } from './sim.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    tunnels: { type: 'string', default: '100' },
    domains: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '10' },
    'interval-ms': { type: 'string', default: '1000' },
    sampling: { type: 'string', default: '1000' },
    drop: { type: 'string', default: '0' },
    reorder: { type: 'string', default: '0' },
    'data-first': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.port) throw new Error('--port is required');
if (!['127.0.0.1', '::1', 'localhost'].includes(values.host)) throw new Error('the simulator sends to loopback only');

const tunnelCount = Number(values.tunnels);
const tunnels = Array.from({ length: tunnelCount }, (_, i) => ({
  relay: i % 4 === 3 ? '2001:db8:95::1' : '69.25.95.1',
  gateway: i % 4 === 3 ? `2001:db8:100::${(i + 1).toString(16)}` : `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`,
  gatewayPort: 40000 + (i % 20000),
  packets: 1 + (i % 7),
  octets: (1 + (i % 7)) * 1316,
}));
const sim = await startMxJflowSim({
  host: values.host,
  port: Number(values.port),
  tunnels,
  domains: Array.from({ length: Number(values.domains) }, (_, i) => 524288 + i),
  samplingRate: Number(values.sampling),
  faults: { drop: Number(values.drop), reorder: Number(values.reorder), dataBeforeTemplates: values['data-first'], seed: Number(values.seed) },
});
for (let r = 0; r < Number(values.rounds); r++) {
  const report = await sim.round();
  console.log(`round ${r}: ${report.sent.length} messages, ${report.records} records, ${report.dropped.length} dropped`);
  await new Promise((resolve) => setTimeout(resolve, Number(values['interval-ms'])));
}
await sim.close();
