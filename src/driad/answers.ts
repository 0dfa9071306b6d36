import { encodeRdata } from '../dns/packet.ts';
import { QTYPE } from '../dns/wire/constants.ts';
import { joinRRsets, rrTail, wireRRset, type WireRRset } from '../dns/wire/rr.ts';
import type { Decision } from './selection.ts';

/** A decision rendered to wire RRsets once, so each query only copies bytes. */
export interface PreparedDecision {
  decision: Decision;
  /** Answers for names under the DRIAD trees (amt.in-addr.arpa, amt.ip6.arpa), by QTYPE. */
  driad: Map<number, WireRRset>;
  /** Answers at plain reverse names (RFC 8777's own lookup): AMTRELAY only. */
  reverse: Map<number, WireRRset>;
}

export function prepareDecision(decision: Decision): PreparedDecision {
  const { ttl } = decision;
  const driad = new Map<number, WireRRset>();
  const amtrelay = wireRRset(decision.amtrelay.map((r) => rrTail(QTYPE.AMTRELAY, ttl, encodeRdata('AMTRELAY', r.data))));
  if (decision.a) driad.set(QTYPE.A, wireRRset([rrTail(QTYPE.A, ttl, encodeRdata('A', decision.a.address))]));
  if (decision.aaaa) driad.set(QTYPE.AAAA, wireRRset([rrTail(QTYPE.AAAA, ttl, encodeRdata('AAAA', decision.aaaa.address))]));
  driad.set(QTYPE.AMTRELAY, amtrelay);
  driad.set(QTYPE.ANY, joinRRsets(driad.values()));
  const reverse = new Map<number, WireRRset>([
    [QTYPE.AMTRELAY, amtrelay],
    [QTYPE.ANY, amtrelay],
  ]);
  return { decision, driad, reverse };
}
