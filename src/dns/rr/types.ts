import { createRequire } from 'node:module';
import { AMTRELAY_TYPE } from './amtrelay.ts';

// dns-packet's type table is not in its typings; it is the same table dns-packet uses
// to encode and decode, so names stay consistent with what dns-packet produces.
const dnsPacketTypes = createRequire(import.meta.url)('dns-packet/types.js') as {
  toString(code: number): string;
  toType(name: string): number;
};

/** 'A' -> 1, 'AMTRELAY' / 'TYPE260' / 'UNKNOWN_260' -> 260. Throws on unknown mnemonics. */
export function typeCode(type: string): number {
  const upper = type.toUpperCase();
  if (upper === 'AMTRELAY') return AMTRELAY_TYPE;
  const numeric = /^(?:TYPE|UNKNOWN_)([0-9]{1,5})$/.exec(upper);
  if (numeric) {
    const code = Number(numeric[1]);
    if (code > 0xffff) throw new Error(`record type number out of range: "${type}"`);
    return code;
  }
  const code = dnsPacketTypes.toType(upper);
  if (code === 0) throw new Error(`unknown record type "${type}"`);
  return code;
}

/** 260 -> 'AMTRELAY'; otherwise dns-packet's name ('UNKNOWN_n' for types it does not know). */
export function typeName(code: number): string {
  if (code === AMTRELAY_TYPE) return 'AMTRELAY';
  return dnsPacketTypes.toString(code);
}

/** True for 'TYPEn' and 'UNKNOWN_n', the spellings that mean "rdata as raw bytes". */
export function isGenericTypeName(type: string): boolean {
  return /^(?:TYPE|UNKNOWN_)[0-9]+$/i.test(type);
}
