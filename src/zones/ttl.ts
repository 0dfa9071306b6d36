// TTLs as RFC 2181 §8 bounds them (0..2^31-1), written as seconds or with BIND's unit
// letters: 1w2d3h4m5s, any subset, in any case.

const MAX_TTL = 0x7fffffff;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds, or null when the text is not a TTL or is out of range. */
export function parseTtl(text: string): number | null {
  let seconds: number;
  if (/^[0-9]+$/.test(text)) {
    seconds = Number(text);
  } else if (/^([0-9]+[smhdw])+$/i.test(text)) {
    seconds = 0;
    for (const [, amount, unit] of text.toLowerCase().matchAll(/([0-9]+)([smhdw])/g)) {
      seconds += Number(amount) * UNIT_SECONDS[unit!]!;
    }
  } else {
    return null;
  }
  return seconds <= MAX_TTL ? seconds : null;
}
