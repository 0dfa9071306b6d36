export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  BADVERS: 16,
} as const;

export const RCODE_NAME: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]));

export const QTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  AMTRELAY: 260,
} as const;

export const CLASS_IN = 1;
export const HEADER_SIZE = 12;

/** The smallest UDP payload every client accepts (RFC 1035) and our EDNS default ceiling (DNS Flag Day 2020). */
export const MIN_UDP_PAYLOAD = 512;

export const EDNS_OPTION = { CLIENT_SUBNET: 8 } as const;
