/**
 * Loads proto/gnmi (gNMI, gnmi_ext) and proto/juniper (Juniper's telemetry header extension) once,
 * with @grpc/proto-loader, and hands out what grpc-js and the codecs need: the gNMI service
 * definition (for a client or a server), a client constructor, and decode/encode for single
 * messages (the header extension arrives as bytes inside RegisteredExtension.msg; raw-bytes
 * clients decode SubscribeResponse themselves, e.g. in a worker thread).
 *
 * Conversion options, the same for every message: see types.ts. 64-bit integers come as decimal
 * strings (`longs: String`), never as JS numbers, so uint64 counters keep every digit; the codecs
 * turn them into bigint.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  CapabilityRequestMsg,
  CapabilityResponseMsg,
  GetRequestMsg,
  GetResponseMsg,
  Result,
  SubscribeRequestMsg,
  SubscribeResponseMsg,
} from './types.ts';

const PROTO_ROOT = fileURLToPath(new URL('../../../../proto/', import.meta.url));

/** The include directories: "gnmi_ext.proto" resolves in proto/gnmi, google/protobuf/* are bundled. */
export const PROTO_INCLUDE_DIRS = [`${PROTO_ROOT}gnmi`, `${PROTO_ROOT}juniper`];
export const PROTO_FILES = ['gnmi.proto', 'gnmi_juniper_telemetry_header_extension.proto'];

export const CONVERSION: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: PROTO_INCLUDE_DIRS,
};

/** Message types decode/encode accept (fully qualified names). */
export type MessageName =
  | 'gnmi.SubscribeRequest'
  | 'gnmi.SubscribeResponse'
  | 'gnmi.Notification'
  | 'gnmi.TypedValue'
  | 'gnmi.Path'
  | 'gnmi.GetRequest'
  | 'gnmi.GetResponse'
  | 'gnmi.CapabilityResponse'
  | 'gnmi_ext.Extension'
  | 'GnmiJuniperTelemetryHeaderExtension';

let loaded: protoLoader.PackageDefinition | undefined;

/** The package definition of all three files (loaded on first use, then shared). */
export function gnmiPackage(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync(PROTO_FILES, CONVERSION);
  return loaded;
}

function messageType(name: MessageName): protoLoader.MessageTypeDefinition<object, object> {
  const def = gnmiPackage()[name];
  if (!def || !('format' in def) || def.format !== 'Protocol Buffer 3 DescriptorProto') throw new Error(`no message ${name} in proto/`);
  return def as protoLoader.MessageTypeDefinition<object, object>;
}

/** Decodes one serialised message; bad bytes give an error value, never an exception. */
export function decodeMessage<T>(name: MessageName, bytes: Uint8Array): Result<T> {
  try {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { ok: true, value: messageType(name).deserialize(buf) as T };
  } catch (err) {
    return { ok: false, error: `undecodable ${name}: ${(err as Error).message}` };
  }
}

/** Serialises one message from its plain-object form; a wrongly shaped object gives an error value. */
export function encodeMessage(name: MessageName, message: object): Result<Buffer> {
  try {
    return { ok: true, value: messageType(name).serialize(message) };
  } catch (err) {
    return { ok: false, error: `cannot encode ${name}: ${(err as Error).message}` };
  }
}

/**
 * The gNMI service definition for grpc-js. With `rawResponses`, Subscribe's responses are not
 * decoded but handed over as Buffers (decode them with decodeMessage('gnmi.SubscribeResponse', ...)),
 * for a client that decodes elsewhere or must see undecodable messages itself.
 */
export function gnmiServiceDefinition(options: { rawResponses?: boolean } = {}): grpc.ServiceDefinition {
  const service = gnmiPackage()['gnmi.gNMI'] as grpc.ServiceDefinition;
  if (!options.rawResponses) return service;
  return { ...service, Subscribe: { ...service.Subscribe!, responseDeserialize: (b: Buffer) => b } } as grpc.ServiceDefinition;
}

/** A gNMI client: the four RPCs with driad's message types. */
export interface GnmiClient extends grpc.Client {
  Capabilities(
    req: CapabilityRequestMsg,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: CapabilityResponseMsg) => void,
  ): grpc.ClientUnaryCall;
  Get(req: GetRequestMsg, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: GetResponseMsg) => void): grpc.ClientUnaryCall;
  Subscribe(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg>;
}

/** A client whose Subscribe yields undecoded Buffers (see gnmiServiceDefinition). */
export interface RawGnmiClient extends Omit<GnmiClient, 'Subscribe'> {
  Subscribe(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<SubscribeRequestMsg, Buffer>;
}

export function createGnmiClient(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): GnmiClient;
export function createGnmiClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions | undefined, raw: true): RawGnmiClient;
export function createGnmiClient(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions, raw = false): GnmiClient | RawGnmiClient {
  const Client = grpc.makeGenericClientConstructor(gnmiServiceDefinition({ rawResponses: raw }), 'gNMI');
  return new Client(address, credentials, options) as unknown as GnmiClient;
}

/** Metadata with the credentials gNMI targets read (spec §3.1; Junos requires both, see docs/gnmi.md). */
export function credentialsMetadata(username: string, password: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('username', username);
  md.set('password', password);
  return md;
}
