// A captured frame to a tunnel-table observation, through src/capture and src/amt: what the
// capture fallback and `driad amt analyze` share.
import { decodeAmt } from '../../amt/codec.ts';
import { groupChanges } from '../../amt/group-records.ts';
import { decodeMembershipReport } from '../../amt/membership.ts';
import type { AmtMessageType } from '../../amt/messages.ts';
import { decodeUdpFrame } from '../../capture/frame.ts';
import type { Kind, Observation } from './tunnel-table.ts';

const KIND: Record<AmtMessageType, Kind> = {
  'relay-discovery': 'discovery',
  'relay-advertisement': 'advertisement',
  request: 'request',
  'membership-query': 'query',
  'membership-update': 'update',
  'multicast-data': 'data',
  teardown: 'teardown',
};

/** Sent to the relay (the gateway is the source) or by it (the gateway is the destination). */
const TO_RELAY = new Set<Kind>(['discovery', 'request', 'update', 'teardown']);

export type Decoded =
  | { ok: true; observation: Observation; deviation?: string; /** An Update whose report does not decode: counted, no groups. */ reportError?: string }
  /** Not AMT on the port at all: another protocol, or a fragment. */
  | { ok: false; skip: true; reason: string }
  /** Sent to or from the AMT port but not a valid AMT message (or its report is broken). */
  | { ok: false; skip: false; reason: string; detail: string };

export function decodeCapturedFrame(linktype: number, data: Uint8Array, at: number, port: number): Decoded {
  const f = decodeUdpFrame(linktype, data);
  if (!f.ok) return { ok: false, skip: true, reason: f.reason };
  const { frame } = f;
  const toPort = frame.destinationPort === port;
  if (!toPort && frame.sourcePort !== port) return { ok: false, skip: true, reason: 'other-port' };
  const d = decodeAmt(frame.payload, { copy: false });
  if (!d.ok) return { ok: false, skip: false, reason: `amt-${d.reason}`, detail: d.detail };
  const kind = KIND[d.message.type];
  // Which end is the gateway: the one that is not the relay's port; by the message's direction when both are.
  const gatewayIsSource = toPort && frame.sourcePort === port ? TO_RELAY.has(kind) : toPort;
  const gateway = gatewayIsSource ? { address: frame.source, port: frame.sourcePort } : { address: frame.destination, port: frame.destinationPort };
  const observation: Observation = { at, gateway, kind, bytes: frame.payload.length };
  const m = d.message;
  if (d.deviation) observation.kernelShaped = true;
  if (m.type === 'request') observation.nonce = m.nonce;
  if (m.type === 'teardown') observation.tunnel = { address: m.gateway.address, port: m.gateway.port };
  if (m.type === 'membership-update') {
    observation.nonce = m.nonce;
    const report = decodeMembershipReport(m.packet);
    if (!report.ok) return { ok: true, observation, reportError: `report-${report.reason}` };
    observation.changes = groupChanges(report.value.records).map((c) => ({ group: c.group, change: c.change }));
  }
  return d.deviation ? { ok: true, observation, deviation: d.deviation } : { ok: true, observation };
}
