import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { defaultConfig } from './defaults.ts';
import type { Config } from './types.ts';
import { ConfigError, validateConfig } from './validate.ts';

export interface ConfigOverrides {
  config?: string;
  dnsListen?: string[];
  httpListen?: string;
  dohListen?: string;
  zones?: string;
  adminToken?: string;
  logLevel?: string;
  queryLog?: boolean;
}

type Raw = Record<string, unknown>;

/** Environment variables, including the seed's container variables (GNMI_USERNAME, ...). */
const ENV_KEYS: Array<[string, string[]]> = [
  ['DRIAD_DNS_LISTEN', ['dns', 'listen']],
  ['DRIAD_HTTP_LISTEN', ['http', 'listen']],
  ['DRIAD_DOH_LISTEN', ['doh', 'listen']],
  ['DRIAD_DOH_NATIVE_H2', ['doh', 'nativeH2']],
  ['DRIAD_ZONES', ['zones', 'directory']],
  ['DRIAD_ADMIN_TOKEN', ['http', 'adminToken']],
  ['DRIAD_LOG_LEVEL', ['log', 'level']],
  ['DRIAD_QUERY_LOG', ['dns', 'queryLog']],
  ['DRIAD_UDP_BATCH', ['dns', 'udpBatch']],
  ['AMT_RELAY_ENABLED', ['amtRelay', 'enabled']],
  ['AMT_RELAY_TYPE', ['amtRelay', 'relayType']],
  ['AMT_RELAY_PUBLIC_IP', ['amtRelay', 'amtRelayPublicIP']],
  ['GNMI_TARGET', ['amtRelay', 'gnmiTarget']],
  ['GNMI_AUTH_MODE', ['amtRelay', 'gnmiAuthMode']],
  ['GNMI_USERNAME', ['amtRelay', 'gnmiUsername']],
  ['GNMI_TLS_SKIP_VERIFY', ['amtRelay', 'gnmiTLSSkipVerify']],
  ['GNMI_PASSWORD', ['gnmi', 'password']],
  ['GNMI_ENABLED', ['gnmi', 'enabled']],
  ['IPFIX_PORT', ['amtRelay', 'ipfixPort']],
  ['GATEWAY_PUBLIC_IP', ['gateway', 'publicIP']],
  ['DRIAD_EBPF', ['ebpf', 'enabled']],
  ['TRAFFIC_OPS_PASSWORD', ['trafficOps', 'password']],
];

/** Layers, later wins: embedded default, YAML file, environment, command-line flags. */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const layers: Raw[] = [defaultConfig() as unknown as Raw];
  const file = overrides.config ?? env.DRIAD_CONFIG;
  if (file) layers.push(readYamlLayer(file));
  layers.push(envLayer(env));
  layers.push(cliLayer(overrides));
  const merged = layers.reduce((acc, layer) => deepMerge(acc, layer), {} as Raw);
  delete merged.source;
  // With Traffic Ops discovery, an amtRelayPublicIP set by the operator overrides it; the embedded default's does not.
  const setByOperator = layers.slice(1).some((l) => (l.amtRelay as Raw | undefined)?.amtRelayPublicIP !== undefined);
  if (merged.trafficOps && !setByOperator) delete (merged.amtRelay as Raw).amtRelayPublicIP;
  return validateConfig(merged, file);
}

function readYamlLayer(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0]?.line;
      throw new ConfigError(line ? `${file}:${line}` : file, err.message.split('\n')[0] ?? 'bad YAML');
    }
    throw err;
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(file, 'must hold a YAML mapping at the top level');
  const layer = doc as Raw;
  const zones = layer.zones as Raw | undefined;
  if (zones && typeof zones.directory === 'string') zones.directory = resolve(dirname(file), zones.directory);
  const doh = layer.doh as Raw | undefined;
  for (const key of ['certFile', 'keyFile', 'stateDir']) {
    if (doh && typeof doh[key] === 'string') doh[key] = resolve(dirname(file), doh[key] as string);
  }
  const accounting = layer.accounting as Raw | undefined;
  if (accounting && typeof accounting.directory === 'string') accounting.directory = resolve(dirname(file), accounting.directory);
  const cdni = accounting?.cdni as Raw | undefined;
  if (cdni && typeof cdni.directory === 'string') cdni.directory = resolve(dirname(file), cdni.directory);
  return layer;
}

function envLayer(env: NodeJS.ProcessEnv): Raw {
  const layer: Raw = {};
  for (const [name, path] of ENV_KEYS) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(layer, path, value);
  }
  return layer;
}

function cliLayer(o: ConfigOverrides): Raw {
  const layer: Raw = {};
  if (o.dnsListen?.length) setPath(layer, ['dns', 'listen'], o.dnsListen);
  if (o.httpListen) setPath(layer, ['http', 'listen'], o.httpListen);
  if (o.dohListen) setPath(layer, ['doh', 'listen'], o.dohListen);
  if (o.zones) setPath(layer, ['zones', 'directory'], resolve(o.zones));
  if (o.adminToken) setPath(layer, ['http', 'adminToken'], o.adminToken);
  if (o.logLevel) setPath(layer, ['log', 'level'], o.logLevel);
  if (o.queryLog !== undefined) setPath(layer, ['dns', 'queryLog'], o.queryLog);
  return layer;
}

function setPath(target: Raw, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Raw;
  }
  node[path[path.length - 1] as string] = value;
}

function isPlainObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Raw, value) : value;
  }
  return out;
}
