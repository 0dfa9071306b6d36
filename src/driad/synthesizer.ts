import type { Synthesizer, SynthContext } from '../dns/catalog.ts';
import type { WireRRset } from '../dns/wire/rr.ts';
import { addressWords } from './prefix.ts';
import { parseReversedV4, parseReversedV6, type SourceName } from './names.ts';
import { cell, chooseCell, type DecisionTable } from './table.ts';

/** Where the current decision table lives; selection swaps `current`, synthesizers read it per query. */
export interface DecisionHolder {
  current: DecisionTable;
}

/** The tree roots DRIAD names hang under, and how their owner names encode an address. */
const TREES = [
  { root: 'amt.in-addr.arpa', parse: parseReversedV4, reverse: false },
  { root: 'amt.ip6.arpa', parse: parseReversedV6, reverse: false },
  { root: 'in-addr.arpa', parse: parseReversedV4, reverse: true },
  { root: 'ip6.arpa', parse: parseReversedV6, reverse: true },
] as const;

/**
 * Synthesizes answers for every valid reversed source address in a zone. Under amt.* trees it
 * answers A, AAAA and AMTRELAY; in a plain reverse zone (RFC 8777's own lookup) only AMTRELAY.
 */
export function driadSynthesizer(origin: string, holder: DecisionHolder): Synthesizer | null {
  const tree = TREES.find((t) => origin === t.root || origin.endsWith(`.${t.root}`));
  if (!tree) return null;
  const suffixLength = tree.root.length + 1;
  const parse: (relative: string) => SourceName = tree.parse;
  return {
    lookup(qname: string, ctx: SynthContext): ReadonlyMap<number, WireRRset> | 'empty' | null {
      const relative = qname.length > tree.root.length ? qname.slice(0, qname.length - suffixLength) : '';
      const source = parse(relative);
      if (source.kind === 'invalid') return null;
      if (source.kind === 'prefix') return 'empty';
      const table = holder.current;
      let prepared = (table.cells[0] as DecisionTable['cells'][number])[0];
      if (table.sources.length > 0 || table.clients.length > 0) {
        const client = table.clients.length === 0 ? null : (ctx.ecs?.words ?? addressWords(ctx.peer.address));
        const choice = chooseCell(table, table.sources.length ? addressWords(source.address) : null, client, ctx.ecs?.sourcePrefix ?? null);
        ctx.scope = choice.scope;
        prepared = cell(table, choice);
      }
      return tree.reverse ? prepared!.reverse : prepared!.driad;
    },
  };
}
