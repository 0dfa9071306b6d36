/**
 * gNMI extensions on a response (spec §2.8, gnmi_ext.proto): Juniper's telemetry header
 * (registered extension id 1) is decoded; every other extension is returned as `unknown` for the
 * caller to count and ignore. Undecodable header bytes give an entry in `errors`, never a throw.
 */
import { decodeMessage } from './load.ts';
import type { ExtensionMsg, JuniperHeaderMsg } from './types.ts';

/** Juniper's EID_JUNIPER_TELEMETRY_HEADER (not in the upstream ExtensionID enum). */
export const EID_JUNIPER_TELEMETRY_HEADER = 1;

const UPSTREAM_EXTENSION_IDS: Readonly<Record<string, number>> = { EID_UNSET: 0, EID_EXPERIMENTAL: 999 };

export type JuniperStreamType = 'INITIAL_SYNC' | 'ONCHANGE' | 'PERIODIC' | number;

/** GnmiJuniperTelemetryHeaderExtension, with timestamps in epoch milliseconds. */
export interface JuniperHeader {
  systemId: string;
  componentId: number;
  subComponentId: number;
  sensorName: string;
  subscribedPath: string;
  streamedPath: string;
  component: string;
  sequenceNumber: bigint;
  subSequenceNumber: bigint;
  payloadGetTimestampMs: number;
  streamCreationTimestampMs: number;
  exportTimestampMs: number;
  eventPublishTimestampMs: number;
  endOfMarker: boolean; // eom: last packet of one wrap of the sensor
  streamType: JuniperStreamType;
}

export type UnknownExtension = { kind: 'registered'; id: number } | { kind: Exclude<NonNullable<ExtensionMsg['ext']>, 'registered_ext'> | 'unset' };

export interface Extensions {
  juniper?: JuniperHeader;
  unknown: UnknownExtension[];
  errors: string[];
}

/** A registered extension id as a number, whether the loader gave the enum name or the number. */
export function extensionId(id: string | number | undefined): number | undefined {
  if (id === undefined) return 0; // proto3 default: EID_UNSET
  if (typeof id === 'number') return id;
  return UPSTREAM_EXTENSION_IDS[id] ?? (/^\d+$/.test(id) ? Number(id) : undefined);
}

const big = (v: string | number | undefined): bigint => (v === undefined ? 0n : BigInt(v));
const num = (v: string | number | undefined): number => (v === undefined ? 0 : Number(v));

/** Decodes the serialised header (RegisteredExtension.msg). */
export function decodeJuniperHeader(bytes: Uint8Array): { ok: true; value: JuniperHeader } | { ok: false; error: string } {
  const decoded = decodeMessage<JuniperHeaderMsg>('GnmiJuniperTelemetryHeaderExtension', bytes);
  if (!decoded.ok) return decoded;
  const h = decoded.value;
  return {
    ok: true,
    value: {
      systemId: h.system_id ?? '',
      componentId: h.component_id ?? 0,
      subComponentId: h.sub_component_id ?? 0,
      sensorName: h.sensor_name ?? '',
      subscribedPath: h.subscribed_path ?? '',
      streamedPath: h.streamed_path ?? '',
      component: h.component ?? '',
      sequenceNumber: big(h.sequence_number),
      subSequenceNumber: big(h.sub_sequence_number),
      payloadGetTimestampMs: num(h.payload_get_timestamp),
      streamCreationTimestampMs: num(h.stream_creation_timestamp),
      exportTimestampMs: num(h.export_timestamp),
      eventPublishTimestampMs: num(h.event_publish_timestamp),
      endOfMarker: h.eom ?? false,
      streamType: h.stream_id ?? 'INITIAL_SYNC',
    },
  };
}

/** Reads a response's extensions. */
export function decodeExtensions(extensions: readonly ExtensionMsg[] | undefined): Extensions {
  const result: Extensions = { unknown: [], errors: [] };
  for (const ext of extensions ?? []) {
    const kind = ext.ext ?? (Object.keys(ext).find((k) => k !== 'ext') as ExtensionMsg['ext']);
    if (kind !== 'registered_ext') {
      result.unknown.push({ kind: kind ?? 'unset' });
      continue;
    }
    const id = extensionId(ext.registered_ext?.id);
    if (id !== EID_JUNIPER_TELEMETRY_HEADER) {
      result.unknown.push({ kind: 'registered', id: id ?? -1 });
      continue;
    }
    const header = decodeJuniperHeader(ext.registered_ext?.msg ?? new Uint8Array(0));
    if (header.ok) result.juniper = header.value;
    else result.errors.push(`Juniper telemetry header: ${header.error}`);
  }
  return result;
}
