/**
 * The plain objects @grpc/proto-loader gives and takes for the gNMI messages, with the conversion
 * options of load.ts: field names as in the .proto (snake_case), 64-bit integers as decimal strings,
 * enums as their names (a number when the value is not in the enum), bytes as Buffers, repeated
 * fields and maps always present when decoding, and the name of the set member of a oneof in a
 * virtual property named after the oneof (`TypedValue.value`, `SubscribeResponse.response`).
 *
 * Optional fields are optional here because decoding leaves proto3 defaults out and encoding
 * accepts them missing. Only the messages driad uses are typed.
 */

export type Int64 = string; // decimal digits, possibly with a leading '-'
export type EncodingName = 'JSON' | 'BYTES' | 'PROTO' | 'ASCII' | 'JSON_IETF';
export type SubscriptionListMode = 'STREAM' | 'ONCE' | 'POLL';
export type SubscriptionModeName = 'TARGET_DEFINED' | 'ON_CHANGE' | 'SAMPLE';

export interface PathElemMsg {
  name?: string;
  key?: Record<string, string>;
}

export interface PathMsg {
  element?: string[]; // deprecated string elements (gNMI < 0.4.0)
  origin?: string;
  elem?: PathElemMsg[];
  target?: string;
}

export type TypedValueCase =
  | 'string_val'
  | 'int_val'
  | 'uint_val'
  | 'bool_val'
  | 'bytes_val'
  | 'float_val'
  | 'double_val'
  | 'decimal_val'
  | 'leaflist_val'
  | 'any_val'
  | 'json_val'
  | 'json_ietf_val'
  | 'ascii_val'
  | 'proto_bytes';

export interface TypedValueMsg {
  value?: TypedValueCase; // the oneof's set member (decoding only)
  string_val?: string;
  int_val?: Int64 | number;
  uint_val?: Int64 | number;
  bool_val?: boolean;
  bytes_val?: Uint8Array;
  float_val?: number;
  double_val?: number;
  decimal_val?: { digits?: Int64 | number; precision?: number };
  leaflist_val?: { element?: TypedValueMsg[] };
  any_val?: { type_url?: string; value?: Uint8Array };
  json_val?: Uint8Array;
  json_ietf_val?: Uint8Array;
  ascii_val?: string;
  proto_bytes?: Uint8Array;
}

/** Deprecated Update.value (gNMI < 0.3.0): untyped bytes and their encoding. */
export interface ValueMsg {
  value?: Uint8Array;
  type?: EncodingName | number;
}

export interface UpdateMsg {
  path?: PathMsg;
  value?: ValueMsg;
  val?: TypedValueMsg;
  duplicates?: number;
}

export interface NotificationMsg {
  timestamp?: Int64 | number;
  prefix?: PathMsg;
  update?: UpdateMsg[];
  delete?: PathMsg[];
  atomic?: boolean;
}

export interface RegisteredExtensionMsg {
  id?: string | number; // an ExtensionID name, or the number when it is not in the enum (Juniper's 1)
  msg?: Uint8Array;
}

export type ExtensionCase = 'registered_ext' | 'master_arbitration' | 'history' | 'commit' | 'depth' | 'config_subscription';

export interface ExtensionMsg {
  ext?: ExtensionCase;
  registered_ext?: RegisteredExtensionMsg;
  master_arbitration?: object;
  history?: object;
  commit?: object;
  depth?: object;
  config_subscription?: object;
}

export interface SubscriptionMsg {
  path?: PathMsg;
  mode?: SubscriptionModeName | number;
  sample_interval?: Int64 | number; // ns
  suppress_redundant?: boolean;
  heartbeat_interval?: Int64 | number; // ns
}

export interface ModelDataMsg {
  name?: string;
  organization?: string;
  version?: string;
}

export interface SubscriptionListMsg {
  prefix?: PathMsg;
  subscription?: SubscriptionMsg[];
  qos?: { marking?: number };
  mode?: SubscriptionListMode | number;
  allow_aggregation?: boolean;
  use_models?: ModelDataMsg[];
  encoding?: EncodingName | number;
  updates_only?: boolean;
}

export interface SubscribeRequestMsg {
  request?: 'subscribe' | 'poll';
  subscribe?: SubscriptionListMsg;
  poll?: Record<string, never>;
  extension?: ExtensionMsg[];
}

export interface SubscribeResponseMsg {
  response?: 'update' | 'sync_response' | 'error';
  update?: NotificationMsg;
  sync_response?: boolean;
  error?: { code?: number; message?: string };
  extension?: ExtensionMsg[];
}

export interface GetRequestMsg {
  prefix?: PathMsg;
  path?: PathMsg[];
  type?: 'ALL' | 'CONFIG' | 'STATE' | 'OPERATIONAL' | number;
  encoding?: EncodingName | number;
  use_models?: ModelDataMsg[];
  extension?: ExtensionMsg[];
}

export interface GetResponseMsg {
  notification?: NotificationMsg[];
  extension?: ExtensionMsg[];
}

export interface CapabilityRequestMsg {
  extension?: ExtensionMsg[];
}

export interface CapabilityResponseMsg {
  supported_models?: ModelDataMsg[];
  supported_encodings?: (EncodingName | number)[];
  gNMI_version?: string;
  extension?: ExtensionMsg[];
}

export interface JuniperHeaderMsg {
  system_id?: string;
  component_id?: number;
  sub_component_id?: number;
  sensor_name?: string;
  subscribed_path?: string;
  streamed_path?: string;
  component?: string;
  sequence_number?: Int64 | number;
  payload_get_timestamp?: Int64 | number;
  stream_creation_timestamp?: Int64 | number;
  event_timestamp?: Int64 | number;
  export_timestamp?: Int64 | number;
  sub_sequence_number?: Int64 | number;
  eom?: boolean;
  event_publish_timestamp?: Int64 | number;
  stream_id?: 'INITIAL_SYNC' | 'ONCHANGE' | 'PERIODIC' | number;
}

/** What every codec function of this module returns instead of throwing on bad input. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };
