/**
 * One simulated Juniper MX for bench/gnmi/run.sh, in its own process (one simulator process
 * writes ~80,000 bundled tunnels/s: one per MX keeps the targets from being the bottleneck).
 * Prints `address HOST:PORT` once listening; on SIGTERM prints `stats {...}` and exits.
 *
 *   node bench/gnmi/mx.ts --tunnels 500000 --bundle 100 --churn 1000 --port 0
 */
import { parseArgs } from 'node:util';
import { startGnmiMx } from '../../test/sim/gnmi-mx/server.ts';

const { values } = parseArgs({
  options: {
    tunnels: { type: 'string', default: '500000' },
    bundle: { type: 'string', default: '100' },
    churn: { type: 'string', default: '0' },
    port: { type: 'string', default: '0' },
  },
});
const count = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: not a count: ${v}`);
  return n;
};

const mx = await startGnmiMx({
  port: count('port', values.port),
  tunnels: count('tunnels', values.tunnels),
  bundle: Math.max(1, count('bundle', values.bundle)),
  churnPerSecond: count('churn', values.churn),
});
console.log(`address ${mx.address}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log(`stats ${JSON.stringify(mx.stats)}`);
  await mx.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
