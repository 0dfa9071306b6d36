/**
 * Which name lengths a set of names has: a test that is far cheaper than hashing a name for a Map
 * or Set lookup, and exact in the one direction that matters (a length not in the set means the
 * name is not either). DRIAD names and the few static names of a zone rarely share a length.
 */
export function nameLengths(names: Iterable<string>): Uint8Array {
  const lengths = new Uint8Array(1024);
  for (const name of names) lengths[Math.min(name.length, lengths.length - 1)] = 1;
  return lengths;
}

/** False only when no name of `name`'s length is in the set. */
export function mayHold(lengths: Uint8Array, name: string): boolean {
  return mayHoldLength(lengths, name.length);
}

/** False only when no name of this many characters is in the set. */
export function mayHoldLength(lengths: Uint8Array, length: number): boolean {
  return length >= lengths.length - 1 || lengths[length] === 1;
}
