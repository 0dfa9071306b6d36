/**
 * Sequence Number tracking for one (exporter, observation domain) stream. RFC 7011 §3.1, §10.3.2:
 * the Sequence Number of a message is the number of Data Records (Options Data Records included)
 * sent in the stream before it, modulo 2^32; Template Records do not count.
 *
 * - in order (the expected number): fine.
 * - ahead: the records in between are counted lost, and the gap is remembered (a few, bounded).
 * - behind, inside a remembered gap: a late message. Its records are taken off the lost count and
 *   counted reordered.
 * - behind, a message seen before (same number and record count, among the last few): a duplicate.
 * - behind, anything else: an exporter restart if its Export Time is later than any seen so far
 *   (or it is further behind than `resetGap`): counted as a reset, and tracking starts again from
 *   it; otherwise a late message from before tracking could see gaps: reordered.
 * - ahead by more than `resetGap`: also a reset (an exporter that restarted near 2^32, or one that
 *   lost far more than a collector can make sense of), not millions of lost records.
 * - a message whose record count is unknown (it held sets whose template had not arrived): its
 *   own position is checked; the records from it to the next message's number are of unknown
 *   fate (in the held sets, or lost), so that next number is taken as it is, counted as a resync.
 */

export interface SequenceCounts {
  lost: number;
  reordered: number;
  duplicate: number;
  resets: number;
  resyncs: number;
}

export interface SequenceOutcome {
  /** Records newly counted lost (negative when a late message filled a gap). */
  lost: number;
  reordered: number;
  duplicate: number;
  reset: boolean;
}

const MAX_GAPS = 32;
const MAX_SEEN = 64;
const NOTHING: SequenceOutcome = Object.freeze({ lost: 0, reordered: 0, duplicate: 0, reset: false });

export class SequenceTracker {
  /** Next expected Sequence Number (a lower bound while `#unsure`), or null before the first message. */
  expected: number | null = null;
  /** The last message's record count was unknown: the next number is not checked for loss. */
  #unsure = false;
  #latestExportTime = 0;
  /** Open gaps as [start, length], oldest first. */
  readonly #gaps: Array<[number, number]> = [];
  /** The last MAX_SEEN messages' Sequence Numbers and counts (-1: unknown), to tell a duplicate from a late arrival. */
  readonly #seenSequence = new Float64Array(MAX_SEEN);
  readonly #seenCount = new Float64Array(MAX_SEEN).fill(-2);
  #seenNext = 0;
  readonly #resetGap: number;

  constructor(resetGap = 1 << 24) {
    this.#resetGap = resetGap;
  }

  /** Records one message: its Sequence Number, Data Record count (null if unknown), Export Time. */
  observe(sequence: number, count: number | null, exportTime: number, totals: SequenceCounts): SequenceOutcome {
    const newer = exportTime > this.#latestExportTime;
    if (newer) this.#latestExportTime = exportTime;
    const c = count ?? -1;
    let seen = false;
    for (let i = 0; i < MAX_SEEN; i++) {
      if (this.#seenSequence[i] === sequence && this.#seenCount[i] === c) {
        seen = true;
        break;
      }
    }
    this.#seenSequence[this.#seenNext] = sequence;
    this.#seenCount[this.#seenNext] = c;
    this.#seenNext = (this.#seenNext + 1) % MAX_SEEN;

    if (this.expected === null) {
      this.#advance(sequence, count, totals);
      return NOTHING;
    }
    const d = (sequence - this.expected) | 0;
    if (d >= 0 && this.#unsure) {
      this.#advance(sequence, count, totals);
      return NOTHING;
    }
    if (d === 0) {
      this.#advance(sequence, count, totals);
      return NOTHING;
    }
    if (d > 0) {
      if (d > this.#resetGap) {
        totals.resets++;
        this.#gaps.length = 0;
        this.#advance(sequence, count, totals);
        return { ...NOTHING, reset: true };
      }
      this.#gaps.push([this.expected, d]);
      if (this.#gaps.length > MAX_GAPS) this.#gaps.shift();
      totals.lost += d;
      this.#advance(sequence, count, totals);
      return { ...NOTHING, lost: d };
    }
    const n = count ?? 0;
    const filled = this.#fill(sequence, count ?? 1);
    if (filled > 0) {
      totals.lost -= filled;
      totals.reordered += filled;
      const rest = Math.max(0, n - filled);
      totals.duplicate += rest;
      return { lost: -filled, reordered: filled, duplicate: rest, reset: false };
    }
    if (seen) {
      totals.duplicate += n;
      return { ...NOTHING, duplicate: n };
    }
    if (newer || -d > this.#resetGap) {
      totals.resets++;
      this.#gaps.length = 0;
      this.#unsure = false;
      this.expected = null;
      this.#advance(sequence, count, totals);
      return { ...NOTHING, reset: true };
    }
    totals.reordered += n;
    return { ...NOTHING, reordered: n };
  }

  #advance(sequence: number, count: number | null, totals: SequenceCounts): void {
    if (count === null) {
      // Stays a lower bound: later numbers are compared with where this message started.
      if (!this.#unsure) totals.resyncs++;
      this.#unsure = true;
      this.expected = sequence >>> 0;
    } else {
      this.#unsure = false;
      this.expected = (sequence + count) >>> 0;
    }
  }

  /** Takes [sequence, sequence + count) out of the open gaps; returns how many records it covered. */
  #fill(sequence: number, count: number): number {
    let covered = 0;
    for (let i = 0; i < this.#gaps.length; i++) {
      const [start, length] = this.#gaps[i];
      const from = (sequence - start) | 0;
      if (from < 0 || from >= length) continue;
      const take = Math.min(count, length - from);
      covered += take;
      const pieces: Array<[number, number]> = [];
      if (from > 0) pieces.push([start, from]);
      if (from + take < length) pieces.push([(start + from + take) >>> 0, length - from - take]);
      this.#gaps.splice(i, 1, ...pieces);
      break;
    }
    return covered;
  }
}
