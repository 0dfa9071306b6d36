#!/usr/bin/env node
import { Command, Option } from 'commander';
import { loadConfig, type ConfigOverrides } from './config/load.ts';
import { startDriad } from './server.ts';
import { createLogger } from './telemetry/log.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function serverOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (env DRIAD_CONFIG)')
    .option('--dns-listen <host:port>', 'DNS address, UDP and TCP; repeat for several (default 127.0.0.1:5300)', collect)
    .option('--http-listen <host:port>', 'HTTP address for the API and metrics (default 127.0.0.1:8080)')
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
    zones: opts.zones as string | undefined,
    adminToken: opts.adminToken as string | undefined,
    logLevel: opts.logLevel as string | undefined,
    queryLog: opts.queryLog as boolean | undefined,
  };
}

async function serve(overrides: ConfigOverrides): Promise<void> {
  const config = loadConfig(overrides);
  const log = createLogger(config.log.level);
  const driad = await startDriad(config, log);

  process.on('SIGHUP', () => {
    try {
      driad.reload(loadConfig(overrides));
    } catch (err) {
      log.error(`reload failed, still serving the previous config and zones: ${(err as Error).message}`);
    }
  });
  let stopping = false;
  const stop = (signal: string): void => {
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
}

const program = new Command('driad').description('Authoritative DNS for DRIAD (RFC 8777) AMT relay discovery').showHelpAfterError();

serverOptions(program.command('serve', { isDefault: true }).description('run the DNS server (the default command)')).action((opts) =>
  serve(overridesFrom(opts)),
);

serverOptions(program.command('check-config').description('validate the config and zone files, then exit')).action(async (opts) => {
  const config = loadConfig(overridesFrom(opts));
  const { loadZoneDirectory } = await import('./zones/zone.ts');
  const zones = loadZoneDirectory(config.zones.directory);
  console.log(`config OK (${config.source ?? 'embedded default'}); zones: ${zones.map((z) => z.origin).join(', ')}`);
});

program.parseAsync().catch((err: unknown) => {
  console.error(`driad: ${(err as Error).message}`);
  process.exit(1);
});
