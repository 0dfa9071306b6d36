#!/usr/bin/env node
import { Command, Option } from 'commander';
import { addGnmiCommand } from './cli/gnmi-command.ts';
import { loadConfig, type ConfigOverrides } from './config/load.ts';
import { startDriad, type Driad } from './server.ts';
import { createLogger } from './telemetry/log.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function serverOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (env DRIAD_CONFIG)')
    .option('--dns-listen <host:port>', 'DNS address, UDP and TCP; repeat for several (default 127.0.0.1:5300)', collect)
    .option('--http-listen <host:port>', 'HTTP address for the API and metrics (default 127.0.0.1:8080)')
    .option('--doh-listen <host:port>', 'DNS over HTTPS address, HTTP/2 and HTTP/1.1 over TLS (default 127.0.0.1:8443)')
    .option('--zones <dir>', 'directory of zone files (default zones/)')
    .option('--admin-token <token>', 'token for the admin API (prefer env DRIAD_ADMIN_TOKEN)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .option('--query-log', 'log every query');
}

function overridesFrom(opts: Record<string, unknown>): ConfigOverrides {
  return {
    config: opts.config as string | undefined,
    dnsListen: opts.dnsListen as string[] | undefined,
    httpListen: opts.httpListen as string | undefined,
    dohListen: opts.dohListen as string | undefined,
    zones: opts.zones as string | undefined,
    adminToken: opts.adminToken as string | undefined,
    logLevel: opts.logLevel as string | undefined,
    queryLog: opts.queryLog as boolean | undefined,
  };
}

async function serve(overrides: ConfigOverrides): Promise<void> {
  const config = loadConfig(overrides);
  const log = createLogger(config.log.level);
  // The handlers come first: a SIGHUP while the server starts (the log already says it listens)
  // would otherwise get the default action, which ends the process; it reloads once started.
  let driad: Driad | undefined;
  let reloadWanted = false;
  const reload = (d: Driad): void => {
    const failed = (err: unknown) => log.error(`reload failed, still serving the previous config and zones: ${(err as Error).message}`);
    try {
      d.reload(loadConfig(overrides)).catch(failed);
    } catch (err) {
      failed(err);
    }
  };
  process.on('SIGHUP', () => {
    if (driad) reload(driad);
    else reloadWanted = true;
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (!driad) {
      // Nothing to drain yet: end as the signal's default action would.
      log.info(`${signal} while starting: exiting`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining and stopping`);
    driad.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error(`stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  driad = await startDriad(config, log);
  if (reloadWanted) reload(driad);
}

const program = new Command('driad').description('Authoritative DNS for DRIAD (RFC 8777) AMT relay discovery').showHelpAfterError();

serverOptions(program.command('serve', { isDefault: true }).description('run the DNS server (the default command)')).action((opts) =>
  serve(overridesFrom(opts)),
);

serverOptions(program.command('check-config').description('validate the config and zone files, then exit')).action(async (opts) => {
  const config = loadConfig(overridesFrom(opts));
  const { loadZoneDirectory } = await import('./zones/zone.ts');
  const zones = loadZoneDirectory(config.zones.directory);
  const warnings = zones.flatMap((z) => z.warnings);
  for (const w of warnings) console.error(`warning: ${w.file}:${w.line}: ${w.message}`);
  const noted = warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''}: data not served as written)` : '';
  console.log(`config OK (${config.source ?? 'embedded default'}); zones: ${zones.map((z) => z.origin).join(', ')}${noted}`);
});

function serverUrl(opts: { server?: string }): string {
  if (opts.server) return opts.server;
  if (process.env.DRIAD_SERVER) return process.env.DRIAD_SERVER;
  const listen = loadConfig({}).http.listen;
  return `http://${listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}`;
}

const serverOption = new Option('--server <url>', 'driad HTTP address (default: env DRIAD_SERVER, else http.listen of the config)');

program
  .command('relays')
  .description('show the relays of a running driad: state, reason, load, RTT, signals')
  .addOption(serverOption)
  .option('--json', 'print the API JSON')
  .action(async (opts: { server?: string; json?: boolean }) => {
    const { getJson } = await import('./cli/client.ts');
    const { formatRelays } = await import('./cli/format.ts');
    const body = await getJson(serverUrl(opts), '/api/v1/relays');
    console.log(opts.json ? JSON.stringify(body, null, 2) : formatRelays(body as Parameters<typeof formatRelays>[0]));
  });

program
  .command('explain <source>')
  .description('why a running driad answers a multicast source the way it does')
  .addOption(serverOption)
  .option('--client <ip>', 'client or resolver address, as EDNS Client Subnet would carry it')
  .option('--json', 'print the API JSON')
  .action(async (source: string, opts: { server?: string; client?: string; json?: boolean }) => {
    const { getJson } = await import('./cli/client.ts');
    const { formatExplain } = await import('./cli/format.ts');
    const query = new URLSearchParams({ source });
    if (opts.client) query.set('client', opts.client);
    const body = await getJson(serverUrl(opts), `/api/v1/explain?${query}`);
    console.log(opts.json ? JSON.stringify(body, null, 2) : formatExplain(body as Parameters<typeof formatExplain>[0]));
  });

program
  .command('amt')
  .description('AMT (RFC 7450) tools')
  .command('analyze <file>')
  .description('tunnels, groups, message counts, deviations and malformed packets of a pcap file')
  .option('--port <n>', 'AMT UDP port', '2268')
  .option('--json', 'print JSON')
  .action(async (file: string, opts: { port: string; json?: boolean }) => {
    const { analyzeFile, formatAnalysis } = await import('./cli/amt.ts');
    const a = await analyzeFile(file, { port: Number(opts.port) });
    console.log(opts.json ? JSON.stringify(a, null, 2) : formatAnalysis(a));
  });

addGnmiCommand(program);

program.parseAsync().catch((err: unknown) => {
  console.error(`driad: ${(err as Error).message}`);
  process.exit(1);
});
