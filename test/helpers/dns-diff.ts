// Differential comparison of two authoritative servers' answers to the same raw query: a small
// query encoder (any header, question and OPT, malformed ones included), a normalized view of
// a response (rcode with the extended bits, flags, counts, question, OPT, and each section's
// records as a set), and the differences the RFCs allow, by name, as listed in
// docs/knot-differences.md. A case names the differences it allows; nothing else is forgiven.

import { decode, formatAmtRelayText, type AmtRelayData } from '../../src/dns/packet.ts';
import { typeCode } from '../../src/dns/rr/types.ts';
import { KNOT_UDP_SIZE } from './knot.ts';

// ---------------------------------------------------------------- queries

export interface OptSpec {
  udpSize?: number;
  version?: number;
  dnssecOk?: boolean;
  options?: Array<{ code: number; data: Buffer }>;
  /** Raw OPT rdata instead of `options` (for malformed options). */
  rdata?: Buffer;
  /** Raw owner name bytes instead of the root (for a malformed OPT record). */
  owner?: Buffer;
}

export interface QuerySpec {
  id?: number;
  opcode?: number;
  qr?: boolean;
  rd?: boolean;
  ad?: boolean;
  cd?: boolean;
  /** [name, type, class]; type and class by mnemonic or number. */
  questions?: Array<[string, string | number, (string | number)?]>;
  /** QDCOUNT as sent, when it should not match the questions. */
  qdcount?: number;
  opt?: OptSpec | null;
  /** More raw additional records after the OPT record. */
  extraAdditional?: Buffer[];
}

export const DEFAULT_QUERY_ID = 0x4a7b;

const CLASSES: Record<string, number> = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };

export function encodeQueryName(name: string): Buffer {
  if (name === '' || name === '.') return Buffer.of(0);
  const labels = name.replace(/\.$/, '').split('.');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l, 'latin1')])), Buffer.of(0)]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function optRecord(o: OptSpec): Buffer {
  const rdata = o.rdata ?? Buffer.concat((o.options ?? []).map((opt) => Buffer.concat([u16(opt.code), u16(opt.data.length), opt.data])));
  const ttl = Buffer.alloc(4);
  ttl.writeUInt32BE((((o.version ?? 0) & 0xff) << 16) | (o.dnssecOk ? 0x8000 : 0));
  return Buffer.concat([o.owner ?? Buffer.of(0), u16(41), u16(o.udpSize ?? 1232), ttl, u16(rdata.length), rdata]);
}

/** Header, questions and additional records exactly as the spec says; nothing is checked. */
export function rawQuery(q: QuerySpec): Buffer {
  const questions = (q.questions ?? []).map(([name, type, klass]) =>
    Buffer.concat([encodeQueryName(name), u16(typeof type === 'number' ? type : typeCode(type)), u16(typeof klass === 'number' ? klass : CLASSES[klass ?? 'IN']!)]),
  );
  const additional = [...(q.opt ? [optRecord(q.opt)] : []), ...(q.extraAdditional ?? [])];
  const flags = (q.qr ? 0x8000 : 0) | (((q.opcode ?? 0) & 0xf) << 11) | (q.rd ? 0x0100 : 0) | (q.ad ? 0x0020 : 0) | (q.cd ? 0x0010 : 0);
  const header = Buffer.concat([u16(q.id ?? DEFAULT_QUERY_ID), u16(flags), u16(q.qdcount ?? questions.length), u16(0), u16(0), u16(additional.length)]);
  return Buffer.concat([header, ...questions, ...additional]);
}

// ---------------------------------------------------------------- responses

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET',
  8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE', 16: 'BADVERS', 23: 'BADCOOKIE',
};

/** What the comparison looks at in a response; every field is compared unless an allowed difference says otherwise. */
export interface View {
  /** false when the server sent nothing within the wait. */
  answered: boolean;
  id?: number;
  opcode?: number;
  /** With the extended bits from OPT (RFC 6891 §6.1.3), e.g. BADVERS. */
  rcode?: string;
  /** Header flags that are set, e.g. ['qr', 'aa', 'rd']. */
  flags?: string[];
  counts?: { qd: number; an: number; ns: number; ar: number };
  /** "name class type", the name in the letter case sent back. */
  question?: string[];
  opt?: { udpSize: number; version: number; dnssecOk: boolean; options: string[] } | null;
  /** Records as "name ttl class type rdata", names compared without regard to case (RFC 4343), sorted: sections are sets. */
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** Set when dns-packet could not decode the message; only the header is compared then. */
  undecodable?: string;
}

const FLAG_BITS: Array<[string, number]> = [
  ['qr', 0x8000], ['aa', 0x0400], ['tc', 0x0200], ['rd', 0x0100], ['ra', 0x0080], ['z', 0x0040], ['ad', 0x0020], ['cd', 0x0010],
];

interface DecodedRecord {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flag_do?: boolean;
  options?: Array<{ code: number; data?: Buffer }>;
}

export function view(msg: Buffer | null): View {
  if (msg === null) return { answered: false };
  if (msg.length < 12) return { answered: true, undecodable: `only ${msg.length} bytes` };
  const bits = msg.readUInt16BE(2);
  const v: View = {
    answered: true,
    id: msg.readUInt16BE(0),
    opcode: (bits >> 11) & 0xf,
    flags: FLAG_BITS.filter(([, bit]) => bits & bit).map(([name]) => name),
    counts: { qd: msg.readUInt16BE(4), an: msg.readUInt16BE(6), ns: msg.readUInt16BE(8), ar: msg.readUInt16BE(10) },
  };
  let packet: { questions?: Array<{ name: string; type: string; class: string }>; answers?: unknown[]; authorities?: unknown[]; additionals?: unknown[] };
  try {
    packet = decode(msg) as typeof packet;
  } catch (err) {
    v.rcode = RCODE_NAMES[bits & 0xf] ?? String(bits & 0xf);
    v.undecodable = (err as Error).message;
    return v;
  }
  const additionals = (packet.additionals ?? []) as DecodedRecord[];
  const opt = additionals.find((r) => r.type === 'OPT');
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | (bits & 0xf);
  v.rcode = RCODE_NAMES[rcode] ?? String(rcode);
  v.question = (packet.questions ?? []).map((q) => `${q.name}. ${q.class} ${q.type}`);
  v.opt = opt
    ? {
        udpSize: opt.udpPayloadSize ?? 0,
        version: opt.ednsVersion ?? 0,
        dnssecOk: opt.flag_do ?? false,
        options: (opt.options ?? []).map((o) => `${o.code}:${o.data?.toString('hex') ?? ''}`).sort(),
      }
    : null;
  v.answer = records(packet.answers);
  v.authority = records(packet.authorities);
  v.additional = records(additionals.filter((r) => r.type !== 'OPT'));
  return v;
}

function records(rs: unknown[] | undefined): string[] {
  return ((rs ?? []) as DecodedRecord[]).map(recordText).sort();
}

export function recordText(r: DecodedRecord): string {
  return `${r.name.toLowerCase()}. ${r.ttl} ${r.class} ${r.type} ${rdataText(r.type, r.data)}`;
}

const lc = (name: unknown): string => `${String(name).toLowerCase()}.`;

function rdataText(type: string, data: unknown): string {
  const d = data as Record<string, unknown>;
  switch (type) {
    case 'A':
      return String(data);
    case 'AAAA':
      return String(data).toLowerCase();
    case 'NS':
    case 'CNAME':
    case 'DNAME':
    case 'PTR':
      return lc(data);
    case 'MX':
      return `${d.preference} ${lc(d.exchange)}`;
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${lc(d.target)}`;
    case 'SOA':
      return `${lc(d.mname)} ${lc(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'TXT':
      return (data as Buffer[]).map((s) => JSON.stringify(s.toString('latin1'))).join(' ');
    case 'DS':
      return `${d.keyTag} ${d.algorithm} ${d.digestType} ${(d.digest as Buffer).toString('hex')}`;
    case 'AMTRELAY': {
      const a = data as AmtRelayData;
      return a.relayType === 3 ? formatAmtRelayText({ ...a, relay: a.relay.toLowerCase() }) : formatAmtRelayText(a);
    }
    default:
      return Buffer.isBuffer(data) ? `\\# ${data.length} ${data.toString('hex')}` : JSON.stringify(data);
  }
}

/** The pieces of a record text: owner, ttl, class, type, rdata. */
export function recordParts(text: string): { owner: string; ttl: number; type: string; rdata: string } {
  const [owner = '', ttl = '0', , type = '', ...rest] = text.split(' ');
  return { owner, ttl: Number(ttl), type, rdata: rest.join(' ') };
}

// ---------------------------------------------------------------- allowed differences

/** What a rule may ask of the reference server while it works out what it allows. */
export interface RuleContext {
  query: QuerySpec;
  /** Ask the reference server (Knot) another question, over the case's transport. */
  askReference(q: QuerySpec): Promise<View>;
  /** True if the name is in the zone with this origin (given without the trailing dot), the origins being those both servers load. */
  zoneOf(name: string): string | null;
}

/**
 * An allowed difference: from the reference server's view (and the server under test's, where
 * the RFC lets the server choose), the view the server under test must then give exactly.
 */
export type Rule = (reference: View, tested: View, ctx: RuleContext) => Promise<View>;

export type AllowedDifference = keyof typeof ALLOWED;

/** Each entry is one item of docs/knot-differences.md, under the same name. */
export const ALLOWED = {
  /**
   * RFC 8482 §4.1: a server may answer QTYPE=ANY with any non-empty subset of the RRsets at the
   * name. Knot sends one RRset; the server under test may send more, and each RRset it sends
   * must be exactly the reference's answer for that name and type.
   */
  'any-subset': async (reference, tested, ctx) => {
    if (reference.rcode !== 'NOERROR' || (reference.answer ?? []).length === 0) return reference;
    const sent = tested.answer ?? [];
    if (sent.length === 0) return reference; // an empty ANY answer is no subset: compare as is
    const types = [...new Set(sent.map((r) => recordParts(r).type))];
    const expected: string[] = [];
    for (const type of types) {
      const [name, , klass] = ctx.query.questions![0]!;
      const single = await ctx.askReference({ ...ctx.query, questions: [[name, type, klass]] });
      expected.push(...(single.answer ?? []).filter((r) => recordParts(r).type === type));
    }
    // Knot's own choice must be one of the RRsets too, or Knot and the test disagree about the name.
    if (!(reference.answer ?? []).every((r) => expected.includes(r))) return reference;
    expected.sort();
    return { ...reference, answer: expected, counts: { ...reference.counts!, an: expected.length } };
  },

  /**
   * RFC 1034 §4.3.2 step 3a restarts the lookup at step 1 with the CNAME target, which may be
   * in another zone the server holds. Knot follows a chain only inside the zone it started in
   * and stops at its edge; driad follows it through every zone it serves (issue 7). The server
   * under test must give Knot's chain, then exactly Knot's answer for the target (its records,
   * its rcode, which RFC 6604 §3 takes from the last name, and its other sections), and so on
   * while the chain crosses into another of the zones.
   */
  'cname-beyond-zone': async (reference, _tested, ctx) => {
    const [qname, type, klass] = ctx.query.questions![0]!;
    let expected = reference;
    let zone = ctx.zoneOf(qname);
    for (let hop = 0; hop < 8 && expected.rcode === 'NOERROR'; hop++) {
      const target = lastChainTarget(expected.answer ?? []);
      const targetZone = target === null ? null : ctx.zoneOf(target);
      if (target === null || targetZone === null || targetZone === zone) break;
      const rest = await ctx.askReference({ ...ctx.query, questions: [[target, type, klass]] });
      const answer = [...new Set([...expected.answer!, ...(rest.answer ?? [])])].sort();
      expected = {
        ...expected,
        rcode: rest.rcode!,
        answer,
        authority: rest.authority!,
        additional: rest.additional!,
        counts: { ...expected.counts!, an: answer.length, ns: rest.counts!.ns, ar: rest.counts!.ar },
      };
      zone = targetZone;
    }
    return expected;
  },

  /**
   * RFC 1035 §4.1.1: REFUSED is a server's answer to what it will not do "for policy reasons".
   * driad serves class IN only and refuses QCLASS=ANY (255); Knot answers it from its IN
   * data. The server under test must refuse: REFUSED, not authoritative, nothing but the
   * question and the OPT record.
   */
  'qclass-any-refused': async (reference) => refusal(reference, 'REFUSED'),

  /**
   * RFC 1035 §4.1.1 NOTIMP, RFC 1996 (NOTIFY) and RFC 2136 (UPDATE): driad implements neither
   * opcode and says NOTIMP; Knot implements both and answers what it makes of the message
   * (FORMERR for one without a zone section). Everything but the rcode and AA is compared,
   * OPT included (RFC 6891 §7).
   */
  'unimplemented-opcode': async (reference) => refusal(reference, 'NOTIMP'),

  /**
   * RFC 5936 §4.2 defines no AXFR over UDP, and driad does not transfer zones at all: it
   * refuses them by policy (RFC 1035 §4.1.1), over either transport. Knot says NOTIMP over
   * UDP and NOTAUTH (denied by its empty ACL) over TCP.
   */
  'zone-transfer-refused': async (reference) => refusal(reference, 'REFUSED'),

  /**
   * RFC 8914: an Extended DNS Error is optional information a response can carry. Knot adds
   * one to some errors (20, "Not Authoritative", on REFUSED); the server under test may leave
   * it out, or send exactly Knot's.
   */
  'extended-dns-error': async (reference, tested) => {
    if (!reference.opt || (tested.opt?.options ?? []).some((o) => o.startsWith('15:'))) return reference;
    return { ...reference, opt: { ...reference.opt, options: reference.opt.options.filter((o) => !o.startsWith('15:')) } };
  },

  /**
   * RFC 4035 §3.1.6: "The name server side MUST copy the setting of the CD bit from a query to
   * the corresponding response." Knot 3.2 clears it on purpose; driad copies it. Not a
   * latitude but Knot's deviation: the server under test must copy CD.
   */
  'cd-copied': async (reference, _tested, ctx) => {
    if (!ctx.query.cd || !reference.answered || (reference.flags ?? []).includes('cd')) return reference;
    return { ...reference, flags: FLAG_BITS.map(([f]) => f).filter((f) => f === 'cd' || reference.flags!.includes(f)) };
  },

  /**
   * RFC 6891 §7: a responder MUST include an OPT record when the request had one. When the
   * OPT record itself is malformed (an option running past its rdata, a second OPT record)
   * Knot answers FORMERR as if there were none; driad answers FORMERR with a plain version-0
   * OPT (its UDP size, no options, DO copied), since an OPT record was there to be read.
   */
  'opt-on-formerr-about-opt': async (reference, _tested, ctx) => {
    if (reference.rcode !== 'FORMERR' || reference.opt || !ctx.query.opt) return reference;
    return { ...reference, opt: plainOpt(ctx.query), counts: { ...reference.counts!, ar: reference.counts!.ar + 1 } };
  },

  /**
   * RFC 6891 §6.1.2: the OPT owner MUST be the root. Knot reads an OPT record with another
   * owner and answers; driad answers FORMERR (RFC 1035 §4.1.1), with an OPT record (§7).
   */
  'opt-owner-not-root': async (reference) => refusal(reference, 'FORMERR'),

  /**
   * RFC 1035 §4.1.1: FORMERR is the answer to a query the server cannot interpret. Knot drops
   * some of those without a word (QDCOUNT=2, a question cut short); the server under test
   * must answer FORMERR: no question echoed (there is no single question to echo), no
   * records, RD copied, and an OPT record when the query carried one it could read (RFC 6891
   * §7; issue 7).
   */
  'formerr-instead-of-silence': async (reference, _tested, ctx) => {
    if (reference.answered) return reference;
    const q = ctx.query;
    const opt = q.opt && !q.opt.rdata && !q.opt.owner ? plainOpt(q) : null;
    return {
      answered: true,
      id: q.id ?? DEFAULT_QUERY_ID,
      opcode: q.opcode ?? 0,
      flags: ['qr', ...(q.rd ? ['rd'] : []), ...(q.cd ? ['cd'] : [])],
      counts: { qd: 0, an: 0, ns: 0, ar: opt ? 1 : 0 },
      rcode: 'FORMERR',
      question: [],
      opt,
      answer: [],
      authority: [],
      additional: [],
    };
  },
} satisfies Record<string, Rule>;

/** The OPT record of an answer that uses no EDNS feature: version 0, the servers' UDP size (Knot's is set to driad's), DO copied. */
function plainOpt(q: QuerySpec): NonNullable<View['opt']> {
  return { udpSize: KNOT_UDP_SIZE, version: 0, dnssecOk: q.opt?.dnssecOk ?? false, options: [] };
}

/** The reference's view turned into a bare error answer with this rcode: no AA, no records. */
function refusal(reference: View, rcode: string): View {
  if (!reference.answered) return reference;
  const flags = (reference.flags ?? []).filter((f) => f !== 'aa');
  const ar = reference.opt ? 1 : 0;
  return { ...reference, rcode, flags, answer: [], authority: [], additional: [], counts: { ...reference.counts!, an: 0, ns: 0, ar } };
}

/** The name the chain in an answer section ends at: the target of the CNAME nothing else in the answer owns. */
function lastChainTarget(answer: string[]): string | null {
  const cnames = answer.map(recordParts).filter((r) => r.type === 'CNAME');
  if (cnames.length === 0) return null;
  const owners = new Set(answer.map((r) => recordParts(r).owner));
  const open = cnames.filter((c) => !owners.has(c.rdata));
  return open.length === 1 ? open[0]!.rdata.replace(/\.$/, '') : null;
}

/** The view the server under test must give: the reference's, with each allowed difference applied in order. */
export async function expectedView(reference: View, tested: View, allow: readonly AllowedDifference[], ctx: RuleContext): Promise<View> {
  let expected = reference;
  for (const name of allow) expected = await (ALLOWED[name] as Rule)(expected, tested, ctx);
  return expected;
}
