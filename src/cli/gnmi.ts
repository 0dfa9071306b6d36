/**
 * `driad gnmi get|subscribe TARGET PATH...`: what an MX serves, read with the collector's own
 * TLS, credentials and decoding, so an operator sees exactly what driad would (docs/gnmi.md).
 * TARGET is HOST:PORT or the name of a juniper relay in the config.
 */
import * as grpc from '@grpc/grpc-js';
import { connection, CredentialError, quietIpServerNameWarning, redact } from '../collectors/gnmi/credentials.ts';
import { grpcFailure } from '../collectors/gnmi/failure.ts';
import { chooseEncoding, getRequest, subscribeRequest } from '../collectors/gnmi/request.ts';
import { gnmiSettings, type GnmiSettings } from '../collectors/gnmi/settings.ts';
import { createGnmiClient, type GnmiClient } from '../collectors/gnmi/wire/load.ts';
import { flattenNotification, readSubscribeResponse, type FlatNotification } from '../collectors/gnmi/wire/notification.ts';
import { pathToString } from '../collectors/gnmi/wire/path.ts';
import type { EncodingName, GetResponseMsg, SubscribeResponseMsg } from '../collectors/gnmi/wire/types.ts';
import type { GnmiValue } from '../collectors/gnmi/wire/value.ts';
import type { Config } from '../config/types.ts';
import { relayList } from '../inventory/relays.ts';

export interface GnmiCliOptions {
  json?: boolean;
  encoding?: EncodingName;
  mode?: 'once' | 'poll' | 'stream';
  /** poll: the interval between polls; stream: the SAMPLE interval. Default gnmi.sampleIntervalMs. */
  interval?: number;
  /** poll: how many polls; stream: stop after this many notifications. */
  count?: number;
  timeoutMs?: number;
}

type Out = (line: string) => void;

/** HOST:PORT as given, or the gNMI target of the relay of that name. */
export function resolveTarget(config: Config, target: string): string {
  if (/:\d+$/.test(target)) return target;
  const relay = relayList(config, []).find((r) => r.name === target);
  if (!relay?.gnmiTarget) throw new Error(`${target}: neither HOST:PORT nor a juniper relay of the config`);
  return relay.gnmiTarget;
}

async function open(config: Config, target: string): Promise<{ client: GnmiClient; metadata: grpc.Metadata; settings: GnmiSettings; secrets: string[] }> {
  const settings = gnmiSettings(config.gnmi, config.amtRelay);
  quietIpServerNameWarning();
  try {
    const conn = await connection(settings);
    return { client: createGnmiClient(resolveTarget(config, target), conn.credentials, conn.options), metadata: conn.metadata, settings, secrets: conn.secrets };
  } catch (err) {
    if (err instanceof CredentialError) throw new Error(`gNMI credentials unusable: ${err.message}`);
    throw err;
  }
}

function fail(err: unknown, rpc: string, secrets: string[]): Error {
  const f = grpcFailure(err, rpc);
  return new Error(redact(`${f.reason}: ${f.detail}`, secrets));
}

export async function gnmiGet(config: Config, target: string, paths: string[], o: GnmiCliOptions, out: Out): Promise<void> {
  const { client, metadata, settings, secrets } = await open(config, target);
  try {
    const encoding = o.encoding ?? settings.encoding;
    const res = await new Promise<GetResponseMsg>((resolve, reject) =>
      client.Get(getRequest(paths, encoding), metadata, { deadline: Date.now() + (o.timeoutMs ?? settings.connectTimeoutMs) }, (err, r) => (err ? reject(fail(err, 'Get', secrets)) : resolve(r ?? {}))),
    );
    const notifications = (res.notification ?? []).map((n) => flattenNotification(n));
    if (o.json) out(JSON.stringify({ notifications: notifications.map(notificationJson) }, null, 2));
    else for (const n of notifications) for (const line of notificationLines(n)) out(line);
  } finally {
    client.close();
  }
}

export async function gnmiSubscribe(config: Config, target: string, paths: string[], o: GnmiCliOptions, out: Out): Promise<void> {
  const { client, metadata, settings, secrets } = await open(config, target);
  const mode = o.mode ?? 'once';
  const interval = o.interval ?? settings.sampleIntervalMs;
  const count = o.count ?? (mode === 'poll' ? 1 : Infinity);
  try {
    const caps = await new Promise<Parameters<typeof chooseEncoding>[1]>((resolve, reject) =>
      client.Capabilities({}, metadata, { deadline: Date.now() + (o.timeoutMs ?? settings.connectTimeoutMs) }, (err, r) => {
        if (err?.code === grpc.status.UNIMPLEMENTED) return resolve(undefined);
        if (err) return reject(fail(err, 'Capabilities', secrets));
        resolve(r);
      }),
    );
    const encoding = o.encoding ?? chooseEncoding(settings.encoding, caps);
    const request = subscribeRequest(
      paths.map((path) => ({ path, mode: 'sample' })),
      { mode: mode === 'once' ? 'ONCE' : mode === 'poll' ? 'POLL' : 'STREAM', encoding, sampleIntervalMs: interval, heartbeatIntervalMs: 0 },
    );
    const call = client.Subscribe(metadata);
    await new Promise<void>((resolve, reject) => {
      let notifications = 0;
      let syncs = 0;
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error): void => {
        clearInterval(timer);
        call.removeAllListeners('data');
        call.on('error', () => undefined); // the cancel below reports CANCELLED
        call.cancel();
        if (err) reject(err);
        else resolve();
      };
      call.on('data', (r: SubscribeResponseMsg) => {
        const ev = readSubscribeResponse(r);
        if (ev.kind === 'update') {
          notifications++;
          if (o.json) out(JSON.stringify({ type: 'update', ...notificationJson(ev.notification) }));
          else for (const line of notificationLines(ev.notification)) out(line);
          if (mode === 'stream' && notifications >= count) done();
        } else if (ev.kind === 'sync') {
          syncs++;
          out(o.json ? JSON.stringify({ type: 'sync' }) : '# sync_response');
          if (mode === 'poll' && syncs >= count) done();
        } else {
          out(o.json ? JSON.stringify({ type: 'error', error: ev.error }) : `# ${ev.error}`);
        }
      });
      call.on('error', (err) => done(fail(err, 'Subscribe', secrets)));
      call.on('end', () => done());
      call.write(request);
      if (mode === 'poll') {
        const poll = (): void => void call.write({ poll: {} });
        poll();
        let sent = 1;
        timer = setInterval(() => {
          if (sent++ < count) poll();
        }, interval);
      }
    });
  } finally {
    client.close();
  }
}

function ns(ts: bigint): string {
  if (ts <= 0n) return '-';
  const ms = Number(ts / 1_000_000n);
  return Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : ts.toString();
}

/** A value for people: numbers and text as they are, the type for the rest. */
export function valueText(v: GnmiValue): string {
  switch (v.type) {
    case 'string':
    case 'ascii':
      return JSON.stringify(v.value);
    case 'int':
    case 'uint':
    case 'bool':
    case 'float':
    case 'double':
      return String(v.value);
    case 'decimal':
      return v.text;
    case 'leaflist':
      return `[${v.value.map(valueText).join(', ')}]`;
    case 'bytes':
    case 'proto_bytes':
      return `${v.type}(${v.value.length}) ${Buffer.from(v.value).toString('hex').slice(0, 64)}`;
    case 'any':
      return `any(${v.typeUrl})`;
    case 'json':
    case 'json_ietf':
      return JSON.stringify(v.value, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    case 'empty':
      return '(empty)';
    case 'error':
      return `(error: ${v.error})`;
  }
}

/** A value as JSON: 64-bit integers beyond 2^53 as strings, so no digit is lost. */
function valueJson(v: GnmiValue): unknown {
  switch (v.type) {
    case 'int':
    case 'uint':
      return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value.toString();
    case 'leaflist':
      return v.value.map(valueJson);
    case 'error':
      return { error: v.error };
    case 'decimal':
      return v.text;
    case 'empty':
      return null;
    case 'string':
    case 'ascii':
    case 'bool':
    case 'float':
    case 'double':
      return v.value;
    default:
      return valueText(v);
  }
}

function notificationLines(n: FlatNotification): string[] {
  const at = ns(n.timestampNs);
  return [
    ...n.updates.map((u) => `${at} ${pathToString(u.path)} = ${valueText(u.value)}`),
    ...n.deletes.map((d) => `${at} ${pathToString(d)} deleted`),
  ];
}

function notificationJson(n: FlatNotification): object {
  return {
    timestamp: n.timestampNs.toString(),
    time: ns(n.timestampNs),
    updates: n.updates.map((u) => ({ path: pathToString(u.path), type: u.value.type, value: valueJson(u.value) })),
    deletes: n.deletes.map(pathToString),
  };
}
