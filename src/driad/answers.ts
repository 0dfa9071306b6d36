import { encodeRdata } from '../dns/packet.ts';
import { QTYPE } from '../dns/wire/constants.ts';
import { joinRRsets, rrTail, wireRRset, type WireRRset } from '../dns/wire/rr.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Decision } from './selection.ts';

/** A decision rendered to wire RRsets once, so each query only copies bytes. */
export interface PreparedDecision {
  decision: Decision;
  /** Answers for names under the DRIAD trees (amt.in-addr.arpa, amt.ip6.arpa), by QTYPE. */
  driad: Map<number, WireRRset>;
  /** Answers at plain reverse names (RFC 8777's own lookup): AMTRELAY only. */
  reverse: Map<number, WireRRset>;
}

/** Answers by the relay they name first, counted per QTYPE: `driad_answers_total{relay,qtype}`. */
function counted(rrset: WireRRset, metrics: Metrics | undefined, relay: string | null, qtype: string): WireRRset {
  if (metrics) rrset.sent = metrics.counter('driad_answers_total', 'DRIAD answers by the relay they name first', { relay: relay ?? 'none', qtype });
  return rrset;
}

export function prepareDecision(decision: Decision, metrics?: Metrics): PreparedDecision {
  const { ttl } = decision;
  const driad = new Map<number, WireRRset>();
  const amtrelay = counted(
    wireRRset(decision.amtrelay.map((r) => rrTail(QTYPE.AMTRELAY, ttl, encodeRdata('AMTRELAY', r.data)))),
    metrics,
    decision.amtrelay[0]?.relay ?? null,
    'AMTRELAY',
  );
  if (decision.a) driad.set(QTYPE.A, counted(wireRRset([rrTail(QTYPE.A, ttl, encodeRdata('A', decision.a.address))]), metrics, decision.a.relay, 'A'));
  if (decision.aaaa) {
    driad.set(QTYPE.AAAA, counted(wireRRset([rrTail(QTYPE.AAAA, ttl, encodeRdata('AAAA', decision.aaaa.address))]), metrics, decision.aaaa.relay, 'AAAA'));
  }
  driad.set(QTYPE.AMTRELAY, amtrelay);
  driad.set(QTYPE.ANY, joinRRsets(driad.values()));
  const reverse = new Map<number, WireRRset>([
    [QTYPE.AMTRELAY, amtrelay],
    [QTYPE.ANY, amtrelay],
  ]);
  return { decision, driad, reverse };
}
