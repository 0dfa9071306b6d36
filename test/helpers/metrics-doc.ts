import { readFileSync } from 'node:fs';

const DOC = new URL('../../docs/metrics.md', import.meta.url);

/** Metric families in a /metrics page that docs/metrics.md does not list. */
export function undocumentedMetrics(exposition: string): string[] {
  const doc = readFileSync(DOC, 'utf8');
  const names = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
  return names.filter((name) => !doc.includes(`| \`${name}\` |`));
}
