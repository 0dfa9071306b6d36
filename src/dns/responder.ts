import type { Catalog, ServedZone, SynthContext } from './catalog.ts';
import type { Peer } from './peer.ts';
import { clientSubnetOption, readClientSubnet, type ClientSubnet } from './wire/ecs.ts';
import { HEADER_SIZE, QTYPE, RCODE } from './wire/constants.ts';
import { isInternetClass, isZoneTransfer, type Query } from './wire/query.ts';
import type { Reply } from './wire/response.ts';
import { withOwner, type WireRRset } from './wire/rr.ts';
import { encodeName } from './packet.ts';

const MAX_CNAME_HOPS = 8;

function bare(rcode: number, authoritative = false): Reply {
  return { rcode, authoritative, answer: null, ancount: 0, soaTail: null, soaOwnerOffset: 0, ednsOptions: null };
}

const REFUSED = bare(RCODE.REFUSED);
const BADVERS = bare(RCODE.BADVERS);

/** Reused for every query: answering is synchronous, so one context at a time is in use. */
const ctx: SynthContext = { peer: { address: '' }, ecs: null, scope: 0 };

/**
 * Decides the reply for a well-formed query. Pure lookups over prepared data: no allocation on
 * the synthesized-answer path beyond the Reply object, unless the query carries Client Subnet.
 */
export function respond(catalog: Catalog, query: Query, peer: Peer): Reply {
  if (query.edns && query.edns.version > 0) return BADVERS;
  const ecs = query.edns && query.edns.options.length > 0 ? readClientSubnet(query.edns) : null;
  if (typeof ecs === 'string') return { ...bare(RCODE.FORMERR), problem: ecs };
  if (!isInternetClass(query.qclass) || isZoneTransfer(query.qtype)) return REFUSED;
  const zone = catalog.find(query.qname);
  if (!zone) return REFUSED;
  const reply = answer(zone, query, peer, ecs);
  // RFC 7871 §7.2.1: echo the option; scope 0 says the answer is the same for every client.
  if (ecs) reply.ednsOptions = clientSubnetOption(ecs, ctx.scope);
  return reply;
}

function answer(zone: ServedZone, query: Query, peer: Peer, ecs: ClientSubnet | null): Reply {
  ctx.scope = 0;
  const staticData = zone.names.get(query.qname);
  if (staticData) return fromStatic(zone, query, staticData);

  if (zone.synth) {
    ctx.peer = peer;
    ctx.ecs = ecs;
    const synthesized = zone.synth.lookup(query.qname, ctx);
    if (synthesized !== null) {
      const rrset = synthesized === 'empty' ? undefined : synthesized.get(query.qtype);
      if (!rrset) return negative(zone, query, RCODE.NOERROR);
      rrset.sent?.inc();
      return positive(rrset.atQname, rrset.count);
    }
  }
  return negative(zone, query, zone.zone.nameExists(query.qname) ? RCODE.NOERROR : RCODE.NXDOMAIN);
}

function positive(answer: Buffer, ancount: number): Reply {
  return { rcode: RCODE.NOERROR, authoritative: true, answer, ancount, soaTail: null, soaOwnerOffset: 0, ednsOptions: null };
}

/** NXDOMAIN or NODATA with the zone's SOA, its owner a pointer to the origin inside the question. */
function negative(zone: ServedZone, query: Query, rcode: number): Reply {
  return {
    rcode,
    authoritative: true,
    answer: null,
    ancount: 0,
    soaTail: zone.soaTail,
    soaOwnerOffset: Math.max(HEADER_SIZE, query.qnameEnd - zone.originWireLength),
    ednsOptions: null,
  };
}

function fromStatic(zone: ServedZone, query: Query, byType: Map<number, WireRRset>): Reply {
  const rrset = byType.get(query.qtype);
  if (rrset) return positive(rrset.atQname, rrset.count);
  const cname = byType.get(QTYPE.CNAME);
  if (cname && query.qtype !== QTYPE.CNAME) return followCname(zone, query, cname);
  return negative(zone, query, RCODE.NOERROR);
}

/** A CNAME answer plus, while the chain stays inside this zone, the records it leads to (RFC 1034 §4.3.2). */
function followCname(zone: ServedZone, query: Query, first: WireRRset): Reply {
  const parts: Buffer[] = [first.atQname];
  let ancount = first.count;
  let target = cnameTarget(first);
  for (let hop = 0; hop < MAX_CNAME_HOPS && target !== null; hop++) {
    const byType = zone.names.get(target);
    if (!byType) break;
    const owner = encodeName(target);
    const rrset = byType.get(query.qtype);
    if (rrset) {
      parts.push(withOwner(owner, rrset.tails));
      ancount += rrset.count;
      break;
    }
    const next = byType.get(QTYPE.CNAME);
    if (!next) break;
    parts.push(withOwner(owner, next.tails));
    ancount += next.count;
    target = cnameTarget(next);
  }
  return positive(Buffer.concat(parts), ancount);
}

/** The target of a CNAME RRset from its wire tail: an uncompressed name after the 10-byte fixed part. */
function cnameTarget(rrset: WireRRset): string | null {
  const tail = rrset.tails[0];
  if (!tail) return null;
  const labels: string[] = [];
  let offset = 10;
  while (offset < tail.length) {
    const len = tail[offset] as number;
    if (len === 0) return labels.join('.').toLowerCase();
    labels.push(tail.toString('latin1', offset + 1, offset + 1 + len));
    offset += 1 + len;
  }
  return null;
}
