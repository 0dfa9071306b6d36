import type { Catalog, Delegation, ServedZone, SynthContext } from './catalog.ts';
import { Found, lookup, type Lookup } from './lookup.ts';
import { synthesizeFromWire } from './wire-synthesis.ts';
import type { Peer } from './peer.ts';
import { clientSubnetOption, readClientSubnet } from './wire/ecs.ts';
import { HEADER_SIZE, QTYPE, RCODE } from './wire/constants.ts';
import { isInternetClass, isZoneTransfer, type Query } from './wire/query.ts';
import type { Reply } from './wire/response.ts';
import { QNAME_POINTER, rrTail, withOwner, type WireRRset } from './wire/rr.ts';
import { encodeName } from './packet.ts';
import { MAX_NAME_LENGTH } from './rr/name.ts';

/** CNAME and DNAME steps followed before giving up; a loop stops at the first repeated name. */
export const MAX_CHAIN = 12;

/** A Reply of its own, for constants and for callers that keep it. */
export function bareReply(rcode: number, authoritative = false): Reply {
  return fill(newReply(), rcode, authoritative, null, 0);
}

function newReply(): Reply {
  return {
    rcode: 0,
    authoritative: false,
    answer: null,
    ancount: 0,
    soa: null,
    soaOwnerOffset: 0,
    authority: null,
    nscount: 0,
    additional: null,
    arcount: 0,
    additionalRequired: false,
    ednsOptions: null,
  };
}

/**
 * The Reply being built for the current query. Answering is synchronous and the engine writes the
 * response before it takes the next message, so one object serves every query (no garbage per query).
 */
const current = newReply();

function reply(rcode: number, authoritative: boolean, answer: Buffer | null, ancount: number): Reply {
  return fill(current, rcode, authoritative, answer, ancount);
}

function fill(r: Reply, rcode: number, authoritative: boolean, answer: Buffer | null, ancount: number): Reply {
  r.rcode = rcode;
  r.authoritative = authoritative;
  r.answer = answer;
  r.ancount = ancount;
  r.soa = null;
  r.soaOwnerOffset = 0;
  r.authority = null;
  r.nscount = 0;
  r.additional = null;
  r.arcount = 0;
  r.additionalRequired = false;
  r.ednsOptions = null;
  return r;
}

const REFUSED = bareReply(RCODE.REFUSED);
const BADVERS = bareReply(RCODE.BADVERS);

/** Reused for every query: answering is synchronous, so one context and one lookup at a time are in use. */
const ctx: SynthContext = { peer: { address: '' }, ecs: null, scope: 0 };
const found: Lookup = { found: Found.NxDomain, rrsets: null, delegation: null, dname: null };

/**
 * Decides the reply for a well-formed query. Pure lookups over prepared data: no allocation on
 * the synthesized-answer path beyond the Reply object, unless the query carries Client Subnet.
 */
export function respond(catalog: Catalog, query: Query, peer: Peer): Reply {
  if (query.edns && query.edns.version > 0) return BADVERS;
  const ecs = query.edns && query.edns.options.length > 0 ? readClientSubnet(query.edns) : null;
  if (typeof ecs === 'string') return { ...newReply(), rcode: RCODE.FORMERR, problem: ecs };
  if (!isInternetClass(query.qclass) || isZoneTransfer(query.qtype)) return REFUSED;
  ctx.scope = 0;
  ctx.peer = peer;
  ctx.ecs = ecs;
  const synthesized = query.qtype === QTYPE.DS ? null : synthesizeFromWire(catalog, query, ctx);
  let result: Reply;
  if (synthesized) {
    result = synthesized.rrsets === 'empty' ? negative(synthesized.zone, query, RCODE.NOERROR) : nodeAnswer(catalog, synthesized.zone, query, synthesized.rrsets);
  } else {
    const zone = query.qtype === QTYPE.DS ? catalog.findForDs(query.qname) : catalog.find(query.qname);
    if (!zone) return REFUSED;
    result = answer(catalog, zone, query);
  }
  // RFC 7871 §7.2.1: echo the option; scope 0 says the answer is the same for every client.
  if (ecs) result.ednsOptions = clientSubnetOption(ecs, ctx.scope);
  return result;
}

function answer(catalog: Catalog, zone: ServedZone, query: Query): Reply {
  ctx.scope = 0; // the wire path may have scanned a name it then left to this one
  const f = lookup(zone, query.qname, query.qtype, ctx, found);
  switch (f.found) {
    case Found.Node:
      return nodeAnswer(catalog, zone, query, f.rrsets!);
    case Found.Empty:
      return negative(zone, query, RCODE.NOERROR);
    case Found.NxDomain:
      return negative(zone, query, RCODE.NXDOMAIN);
    case Found.Referral:
      return referral(reply(RCODE.NOERROR, false, null, 0), f.delegation!);
    default:
      return chase(catalog, zone, query);
  }
}

/** A name with data: the RRset asked for, a CNAME to follow, or NODATA. */
function nodeAnswer(catalog: Catalog, zone: ServedZone, query: Query, rrsets: ReadonlyMap<number, WireRRset>): Reply {
  const { qtype } = query;
  const rrset = rrsets.get(qtype);
  if (rrset) {
    rrset.sent?.inc();
    return positive(rrset);
  }
  if (qtype !== QTYPE.CNAME && rrsets.has(QTYPE.CNAME)) return chase(catalog, zone, query);
  return negative(zone, query, RCODE.NOERROR);
}

function positive(rrset: WireRRset): Reply {
  const r = reply(RCODE.NOERROR, true, rrset.atQname, rrset.count);
  r.additional = rrset.additional;
  r.arcount = rrset.arcount;
  return r;
}

/** NXDOMAIN or NODATA with the zone's SOA, its owner a pointer to the origin inside the question. */
function negative(zone: ServedZone, query: Query, rcode: number): Reply {
  const r = reply(rcode, true, null, 0);
  r.soa = zone.negativeSoa;
  r.soaOwnerOffset = Math.max(HEADER_SIZE, query.qnameEnd - zone.originWireLength);
  return r;
}

function referral(r: Reply, cut: Delegation): Reply {
  r.authority = cut.authority;
  r.nscount = cut.nscount;
  r.additional = cut.additional;
  r.arcount = cut.arcount;
  r.additionalRequired = true;
  return r;
}

/**
 * A CNAME or DNAME at or above the question name: the chain of aliases, followed through every zone
 * we serve, static or synthesized (RFC 1034 §4.3.2 step 3a, RFC 6672 §3.2), then the data, or the
 * negative answer or referral where the chain ends (RFC 6604: the rcode is the last name's). A chain
 * that leaves our zones, repeats a name or grows past MAX_CHAIN steps stops there, with what it has.
 */
function chase(catalog: Catalog, first: ServedZone, query: Query): Reply {
  const { qtype } = query;
  const parts: Buffer[] = [];
  let ancount = 0;
  let name = query.qname;
  let owner: Buffer = QNAME_POINTER;
  let zone = first;
  const seen = new Set<string>([name]);
  const done = (rcode: number): Reply => reply(rcode, true, Buffer.concat(parts), ancount);

  for (let step = 0; ; step++) {
    if (step > 0) lookup(zone, name, qtype, ctx, found);
    switch (found.found) {
      case Found.Node: {
        const rrset = found.rrsets!.get(qtype);
        if (rrset) {
          rrset.sent?.inc();
          parts.push(withOwner(owner, rrset.tails));
          ancount += rrset.count;
          return done(RCODE.NOERROR);
        }
        const cname = qtype === QTYPE.CNAME ? undefined : found.rrsets!.get(QTYPE.CNAME);
        if (!cname) return negativeAfter(done(RCODE.NOERROR), zone);
        parts.push(withOwner(owner, cname.tails));
        ancount += cname.count;
        name = cnameTarget(cname);
        break;
      }
      case Found.Dname: {
        const dname = found.dname!;
        parts.push(dname.record);
        ancount += 1;
        const target = substitute(name, dname.owner, dname.target);
        // RFC 6672 §2.2: the new name would be too long; the DNAME goes back with the zone's SOA.
        if (target === null) return negativeAfter(done(RCODE.YXDOMAIN), zone);
        parts.push(owner, rrTail(QTYPE.CNAME, dname.ttl, encodeName(target)));
        ancount += 1;
        name = target;
        break;
      }
      case Found.Empty:
        return negativeAfter(done(RCODE.NOERROR), zone);
      case Found.NxDomain:
        return negativeAfter(done(RCODE.NXDOMAIN), zone);
      default:
        return referral(done(RCODE.NOERROR), found.delegation!);
    }
    if (seen.has(name) || step + 1 >= MAX_CHAIN) return done(RCODE.NOERROR);
    seen.add(name);
    const next = catalog.find(name);
    if (!next) return done(RCODE.NOERROR);
    zone = next;
    owner = encodeName(name);
  }
}

/** The SOA of the zone a chain ended in, owner written out: it need not be inside the question name. */
function negativeAfter(r: Reply, zone: ServedZone): Reply {
  r.authority = zone.soaRecord;
  r.nscount = 1;
  return r;
}

/** The name a DNAME maps `name` to (RFC 6672 §2.2), or null when the result is too long (YXDOMAIN). */
function substitute(name: string, owner: string, target: string): string | null {
  const prefix = name.slice(0, name.length - owner.length - (owner === '' ? 0 : 1));
  const result = target === '' ? prefix : `${prefix}.${target}`;
  return wireLengthOf(result) > MAX_NAME_LENGTH ? null : result;
}

function wireLengthOf(name: string): number {
  try {
    return encodeName(name).length;
  } catch {
    return MAX_NAME_LENGTH + 1;
  }
}

/** The target of a CNAME RRset from its wire tail (an uncompressed name after the 10-byte fixed part), in text form. */
function cnameTarget(rrset: WireRRset): string {
  const tail = rrset.tails[0]!;
  let text = '';
  for (let offset = 10; offset < tail.length; ) {
    const len = tail[offset] as number;
    if (len === 0) break;
    if (text) text += '.';
    for (let i = offset + 1; i <= offset + len; i++) text += textByte(tail[i] as number);
    offset += 1 + len;
  }
  return text;
}

/** One byte of a label in the text form names use throughout (see src/dns/rr/name.ts), lowercased. */
function textByte(c: number): string {
  if (c === 0x2e || c === 0x5c) return '\\' + String.fromCharCode(c);
  if (c < 0x21 || c > 0x7e) return '\\' + String(c).padStart(3, '0');
  return String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
}
