// How long an HTTP cache may keep a DNS response (RFC 8484 §5.1): the smallest TTL in the
// answer section; with no answers, the authority records' (an SOA counting as the smaller of its
// TTL and its MINIMUM, RFC 2308 §5); null when the response has no records to go by.

const QTYPE_SOA = 6;
const QTYPE_OPT = 41;

/** Offset after a name, compressed or not; -1 when it runs past the message. */
function skipName(msg: Buffer, offset: number): number {
  for (let steps = 0; steps < 128; steps++) {
    if (offset >= msg.length) return -1;
    const len = msg[offset] as number;
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2 <= msg.length ? offset + 2 : -1;
    offset += 1 + len;
  }
  return -1;
}

export function freshnessSeconds(msg: Buffer): number | null {
  if (msg.length < 12) return null;
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  let offset = 12;
  for (let i = 0; i < qdcount; i++) {
    offset = skipName(msg, offset);
    if (offset < 0 || offset + 4 > msg.length) return null;
    offset += 4;
  }
  let answers: number | null = null;
  let authority: number | null = null;
  for (let i = 0; i < ancount + nscount; i++) {
    offset = skipName(msg, offset);
    if (offset < 0 || offset + 10 > msg.length) return null;
    const type = msg.readUInt16BE(offset);
    let ttl = msg.readUInt32BE(offset + 4);
    const rdlength = msg.readUInt16BE(offset + 8);
    const end = offset + 10 + rdlength;
    if (end > msg.length) return null;
    if (type === QTYPE_OPT) {
      offset = end;
      continue;
    }
    if (i < ancount) answers = answers === null ? ttl : Math.min(answers, ttl);
    else {
      if (type === QTYPE_SOA && rdlength >= 20) ttl = Math.min(ttl, msg.readUInt32BE(end - 4));
      authority = authority === null ? ttl : Math.min(authority, ttl);
    }
    offset = end;
  }
  return answers ?? authority;
}
