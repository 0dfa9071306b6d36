/**
 * Counters and gauges with labels, rendered in the Prometheus text format.
 * Hot paths hold a `Counter` handle (one Map lookup at creation, a field increment per event).
 */
export type Labels = Record<string, string>;

export class Counter {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  inc(by = 1): void {
    this.value += by;
  }
}

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  series: Map<string, Counter>;
  collect?: () => Array<[Labels, number]>;
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  counter(name: string, help: string, labels: Labels = {}): Counter {
    const family = this.#family(name, help, 'counter');
    const key = labelKey(labels);
    let series = family.series.get(key);
    if (!series) {
      series = new Counter(labels);
      family.series.set(key, series);
    }
    return series;
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, collect: () => Array<[Labels, number]>): void {
    this.#family(name, help, 'gauge').collect = collect;
  }

  /** Current value of one series; 0 when it was never touched. */
  get(name: string, labels: Labels = {}): number {
    const family = this.#families.get(name);
    if (!family) return 0;
    if (family.collect) {
      const key = labelKey(labels);
      return family.collect().find(([l]) => labelKey(l) === key)?.[1] ?? 0;
    }
    return family.series.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      const samples: Array<[Labels, number]> = family.collect
        ? family.collect()
        : [...family.series.values()].map((c) => [c.labels, c.value]);
      for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${value}`);
    }
    return lines.join('\n') + '\n';
  }

  #family(name: string, help: string, type: Family['type']): Family {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type, series: new Map() };
      this.#families.set(name, family);
    } else if (family.type !== type) {
      throw new Error(`metric ${name} registered as ${family.type}, not ${type}`);
    }
    return family;
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const body = keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',');
  return `{${body}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
