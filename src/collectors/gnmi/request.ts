/** The requests driad sends (the collector and `driad gnmi`): Subscribe lists, Get, and the encoding to use. */
import type { GnmiPathConfig } from '../../config/types.ts';
import { parsePath, pathToMsg } from './wire/path.ts';
import type { CapabilityResponseMsg, EncodingName, GetRequestMsg, SubscribeRequestMsg, SubscriptionListMode, SubscriptionMsg } from './wire/types.ts';

const NS_PER_MS = 1_000_000n;

export interface SubscribeOptions {
  mode: SubscriptionListMode;
  encoding: EncodingName;
  sampleIntervalMs: number;
  heartbeatIntervalMs: number;
}

/** Paths were checked by the config validator; a CLI argument that does not parse is an error naming it. */
function pathMsg(text: string) {
  const parsed = parsePath(text);
  if (!parsed.ok) throw new Error(`path ${JSON.stringify(text)}: ${parsed.error}`);
  return pathToMsg(parsed.value);
}

/**
 * One SubscriptionList: in STREAM mode `sample` paths are SAMPLE at the interval and `on_change`
 * paths ON_CHANGE with the heartbeat (when one is set); POLL and ONCE carry the paths only.
 */
export function subscribeRequest(paths: readonly GnmiPathConfig[], o: SubscribeOptions): SubscribeRequestMsg {
  const subscription = paths.map((p): SubscriptionMsg => {
    const sub: SubscriptionMsg = { path: pathMsg(p.path) };
    if (o.mode !== 'STREAM') return sub;
    if (p.mode === 'sample') {
      sub.mode = 'SAMPLE';
      sub.sample_interval = String(BigInt(o.sampleIntervalMs) * NS_PER_MS);
    } else {
      sub.mode = 'ON_CHANGE';
      const heartbeat = p.heartbeatIntervalMs ?? o.heartbeatIntervalMs;
      if (heartbeat > 0) sub.heartbeat_interval = String(BigInt(heartbeat) * NS_PER_MS);
    }
    return sub;
  });
  return { subscribe: { subscription, mode: o.mode, encoding: o.encoding } };
}

export function getRequest(paths: readonly string[], encoding: EncodingName): GetRequestMsg {
  return { path: paths.map(pathMsg), type: 'ALL', encoding };
}

const PREFERRED: readonly EncodingName[] = ['PROTO', 'JSON_IETF', 'JSON'];

/** The configured encoding if the target lists it (or lists none), else the first of PROTO, JSON_IETF, JSON it does. */
export function chooseEncoding(wanted: EncodingName, caps: CapabilityResponseMsg | undefined): EncodingName {
  const supported = (caps?.supported_encodings ?? []).map(String);
  if (supported.length === 0 || supported.includes(wanted)) return wanted;
  return PREFERRED.find((e) => supported.includes(e)) ?? wanted;
}
