/**
 * A plain grpc-js gNMI client for tests and benchmarks of the simulator, built on driad's loader
 * (src/collectors/gnmi/wire/load.ts): no collector logic, just the RPCs and a recorder of what a
 * Subscribe stream delivers.
 */
import * as grpc from '@grpc/grpc-js';
import { createGnmiClient, credentialsMetadata, type GnmiClient } from '../../../src/collectors/gnmi/wire/load.ts';
import { readSubscribeResponse, type SubscribeEvent } from '../../../src/collectors/gnmi/wire/notification.ts';
import { parsePath, pathToMsg } from '../../../src/collectors/gnmi/wire/path.ts';
import type {
  CapabilityResponseMsg,
  GetRequestMsg,
  GetResponseMsg,
  SubscribeRequestMsg,
  SubscribeResponseMsg,
} from '../../../src/collectors/gnmi/wire/types.ts';
import { DEFAULT_AUTH, type GnmiMx } from './server.ts';
import type { TestPki } from './pki.ts';

export type ClientCert = 'ed25519' | 'p256' | 'other-ca' | 'none';

/** Channel credentials: mTLS with one of the test client certificates, or plaintext (no pki). */
export function clientCredentials(pki: TestPki | undefined, cert: ClientCert = 'ed25519'): grpc.ChannelCredentials {
  if (!pki) return grpc.credentials.createInsecure();
  const pair = cert === 'ed25519' ? pki.clientEd25519 : cert === 'p256' ? pki.clientP256 : cert === 'other-ca' ? pki.clientOtherCa : undefined;
  return pair ? grpc.credentials.createSsl(pki.ca.cert, pair.key, pair.cert) : grpc.credentials.createSsl(pki.ca.cert);
}

export function simClient(sim: GnmiMx, credentials: grpc.ChannelCredentials): GnmiClient {
  return createGnmiClient(sim.address, credentials, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
}

export const goodMetadata = (): grpc.Metadata => credentialsMetadata(DEFAULT_AUTH.username, DEFAULT_AUTH.password);

const deadline = (ms: number): grpc.CallOptions => ({ deadline: Date.now() + ms });

export function capabilities(client: GnmiClient, md = goodMetadata(), ms = 5000): Promise<CapabilityResponseMsg> {
  return new Promise((resolve, reject) => client.Capabilities({}, md, deadline(ms), (err, res) => (err ? reject(err) : resolve(res!))));
}

export function get(client: GnmiClient, req: GetRequestMsg, md = goodMetadata(), ms = 5000): Promise<GetResponseMsg> {
  return new Promise((resolve, reject) => client.Get(req, md, deadline(ms), (err, res) => (err ? reject(err) : resolve(res!))));
}

/** Everything one Subscribe RPC delivered, as it arrives. */
export class SubscribeRecorder {
  readonly call: grpc.ClientDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg>;
  readonly responses: SubscribeResponseMsg[] = [];
  readonly events: (SubscribeEvent & { at: number })[] = [];
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;
  readonly done: Promise<void>;

  constructor(call: grpc.ClientDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg>) {
    this.call = call;
    call.on('data', (r: SubscribeResponseMsg) => {
      this.responses.push(r);
      this.events.push({ ...readSubscribeResponse(r), at: Date.now() });
    });
    this.done = new Promise((resolve) => {
      call.on('error', (err: grpc.ServiceError) => {
        this.error = err;
      });
      call.on('status', (s: grpc.StatusObject) => {
        this.status = s;
        resolve();
      });
    });
  }

  get syncs(): number {
    return this.events.filter((e) => e.kind === 'sync').length;
  }

  updates(): Extract<SubscribeEvent, { kind: 'update' }>[] {
    return this.events.filter((e): e is Extract<SubscribeEvent, { kind: 'update' }> & { at: number } => e.kind === 'update');
  }

  /** Polls every 20 ms until `check` holds or `ms` pass. */
  async until(check: (r: this) => boolean, ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (check(this)) return true;
      if (this.status && !check(this)) return check(this);
      await new Promise((r) => setTimeout(r, 20));
    }
    return check(this);
  }

  /** Resolves with the final status, or undefined if the RPC is still open after `ms`. */
  async ended(ms = 5000): Promise<grpc.StatusObject | undefined> {
    await Promise.race([this.done, new Promise((r) => setTimeout(r, ms))]);
    return this.status;
  }

  cancel(): void {
    this.call.cancel();
  }
}

export function subscribe(client: GnmiClient, request: SubscribeRequestMsg, md = goodMetadata()): SubscribeRecorder {
  const recorder = new SubscribeRecorder(client.Subscribe(md));
  recorder.call.write(request);
  return recorder;
}

/** A SubscriptionList request: `paths` as strings, one mode for all. */
export function subscriptionRequest(
  paths: { path: string; mode?: 'SAMPLE' | 'ON_CHANGE' | 'TARGET_DEFINED'; sampleMs?: number; heartbeatMs?: number }[],
  list: { mode?: 'STREAM' | 'ONCE' | 'POLL'; encoding?: 'JSON' | 'JSON_IETF' | 'PROTO' | 'ASCII'; updatesOnly?: boolean; target?: string } = {},
): SubscribeRequestMsg {
  return {
    subscribe: {
      ...(list.target ? { prefix: { target: list.target } } : {}),
      mode: list.mode ?? 'STREAM',
      encoding: list.encoding ?? 'PROTO',
      updates_only: list.updatesOnly ?? false,
      subscription: paths.map((p) => ({
        path: pathMsg(p.path),
        mode: p.mode ?? 'SAMPLE',
        sample_interval: String(BigInt(p.sampleMs ?? 0) * 1_000_000n),
        heartbeat_interval: String(BigInt(p.heartbeatMs ?? 0) * 1_000_000n),
      })),
    },
  };
}

function pathMsg(s: string) {
  const p = parsePath(s);
  if (!p.ok) throw new Error(p.error);
  return pathToMsg(p.value);
}
