/** `driad gnmi get|subscribe`: registered here, run by gnmi.ts (loaded, with gRPC, only when used). */
import { Command, Option } from 'commander';
import { loadConfig } from '../config/load.ts';

const gnmiOptions = (cmd: Command): Command =>
  cmd
    .option('-c, --config <file>', 'YAML config file for TLS and credentials (env DRIAD_CONFIG; GNMI_PASSWORD as for the server)')
    .addOption(new Option('--encoding <encoding>', 'encoding to ask for (default gnmi.encoding)').choices(['PROTO', 'JSON', 'JSON_IETF']))
    .option('--json', 'print JSON (subscribe: one object per line)');

async function run(target: string, paths: string[], opts: Record<string, unknown>, what: 'get' | 'subscribe'): Promise<void> {
  const { gnmiGet, gnmiSubscribe } = await import('./gnmi.ts');
  const config = loadConfig({ config: opts.config as string | undefined });
  const o = { ...opts, interval: opts.interval === undefined ? undefined : Number(opts.interval), count: opts.count === undefined ? undefined : Number(opts.count) };
  await (what === 'get' ? gnmiGet : gnmiSubscribe)(config, target, paths, o, (line) => console.log(line));
}

export function addGnmiCommand(program: Command): void {
  const gnmi = program.command('gnmi').description("read an MX over gNMI with driad's TLS, credentials and decoding (docs/gnmi.md)");
  gnmiOptions(gnmi.command('get <target> <paths...>').description('Get: the current values under the paths (TARGET: HOST:PORT or a relay name)')).action(
    (target: string, paths: string[], opts: Record<string, unknown>) => run(target, paths, opts, 'get'),
  );
  gnmiOptions(gnmi.command('subscribe <target> <paths...>').description('Subscribe ONCE (default), POLL or STREAM (SAMPLE) and print each update'))
    .addOption(new Option('--mode <mode>', 'subscription mode').choices(['once', 'poll', 'stream']).default('once'))
    .option('--interval <ms>', 'poll interval, or the SAMPLE interval of a stream (default gnmi.sampleIntervalMs)')
    .option('--count <n>', 'poll: how many polls (default 1); stream: stop after n notifications')
    .action((target: string, paths: string[], opts: Record<string, unknown>) => run(target, paths, opts, 'subscribe'));
}
