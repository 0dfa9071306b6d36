import type { Synthesizer, SynthContext } from '../dns/catalog.ts';
import type { WireRRset } from '../dns/wire/rr.ts';
import { addressWords } from './prefix.ts';
import { Scan, scannedV4Words, scannedV6Words, scanReversedV4, scanReversedV4Wire, scanReversedV6, scanReversedV6Wire } from './names.ts';
import { cell, chooseCell, type DecisionTable } from './table.ts';

/** Where the current decision table lives; selection swaps `current`, synthesizers read it per query. */
export interface DecisionHolder {
  current: DecisionTable;
}

/** The tree roots DRIAD names hang under, and how their owner names encode an address. */
const TREES = [
  { root: 'amt.in-addr.arpa', rootLabels: 3, scan: scanReversedV4, scanWire: scanReversedV4Wire, words: scannedV4Words, reverse: false },
  { root: 'amt.ip6.arpa', rootLabels: 3, scan: scanReversedV6, scanWire: scanReversedV6Wire, words: scannedV6Words, reverse: false },
  { root: 'in-addr.arpa', rootLabels: 2, scan: scanReversedV4, scanWire: scanReversedV4Wire, words: scannedV4Words, reverse: true },
  { root: 'ip6.arpa', rootLabels: 2, scan: scanReversedV6, scanWire: scanReversedV6Wire, words: scannedV6Words, reverse: true },
] as const;

/**
 * Synthesizes answers for every valid reversed source address in a zone. Under amt.* trees it
 * answers A, AAAA and AMTRELAY; in a plain reverse zone (RFC 8777's own lookup) only AMTRELAY.
 */
export function driadSynthesizer(origin: string, holder: DecisionHolder): Synthesizer | null {
  const tree = TREES.find((t) => origin === t.root || origin.endsWith(`.${t.root}`));
  if (!tree) return null;
  const suffixLength = tree.root.length + 1;
  const scan: (name: string, end: number) => Scan = tree.scan;
  const scanWire: (msg: Buffer, starts: Int32Array, n: number) => Scan = tree.scanWire;
  const words: () => Uint32Array = tree.words;
  const answer = (found: Scan, ctx: SynthContext): ReadonlyMap<number, WireRRset> | 'empty' | null => {
    if (found === Scan.Invalid) return null;
    if (found === Scan.Prefix) return 'empty';
    const table = holder.current;
    let prepared = (table.cells[0] as DecisionTable['cells'][number])[0];
    if (table.sources.length > 0 || table.clients.length > 0) {
      const client = table.clients.length === 0 ? null : (ctx.ecs?.words ?? addressWords(ctx.peer.address));
      const choice = chooseCell(table, table.sources.length ? words() : null, client, ctx.ecs?.sourcePrefix ?? null);
      ctx.scope = choice.scope;
      prepared = cell(table, choice);
    }
    return tree.reverse ? prepared!.reverse : prepared!.driad;
  };
  return {
    // The labels in front of the tree root, scanned in place: no substring, no address text per query.
    lookup: (qname, ctx) => answer(scan(qname, qname.length > tree.root.length ? qname.length - suffixLength : 0), ctx),
    lookupWire: (labels, ctx) => answer(scanWire(labels.msg, labels.starts, labels.count - tree.rootLabels), ctx),
  };
}
