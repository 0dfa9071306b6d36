/**
 * The IPFIX Collecting Process's decoding side (RFC 7011): one message in, its records out, with
 * the templates, sequence state and held data of every exporter kept here. It never throws on
 * input: a malformed message is an `{ ok: false, kind, reason }` value and is discarded whole
 * (§9.1); a usable message can still carry `issues` (a refused template, an unknown withdrawal).
 * Every outcome is counted in `stats`. Memory is bounded by the limits in the options.
 */
import { compileSetReader, genericSetReader, resolveSelection, type FieldSelector, type FlowRecord, type SelectedField, type SetReader } from './compile.ts';
import { compileFlowColumnsReader, FLOW_COLUMN_FIELDS, FlowColumns, flowColumnsFromRecords, type FlowColumnsReader } from './flow-columns.ts';
import { PendingSets, type PendingCounts, type PendingLimits } from './pending.ts';
import { SequenceTracker, type SequenceCounts, type SequenceOutcome } from './sequence.ts';
import { MESSAGE_HEADER_LENGTH, MIN_DATA_SET_ID, readTemplateSet, SET_OPTIONS_TEMPLATE, SET_TEMPLATE, type Template } from './template.ts';
import type { ValueStats } from './values.ts';

export const IPFIX_VERSION = 10;

/** Malformed input: the message is discarded. */
export type IpfixErrorKind =
  | 'short-message'
  | 'bad-version'
  | 'length-mismatch'
  | 'bad-set-length'
  | 'template-overrun'
  | 'record-overrun'
  | 'exporter-limit'
  | 'domain-limit';

/** Found in a message that is otherwise used. */
export type IpfixIssueKind = 'bad-template' | 'template-limit' | 'withdrawal-unknown' | 'withdrawal-mismatch' | 'redefinition' | 'reserved-set' | 'pending-malformed';

export interface IpfixIssue {
  kind: IpfixIssueKind;
  reason: string;
}

/** Who sent the message: the exporter's address and source port, as the transport reports them. */
export interface IpfixSource {
  address: string;
  port: number;
}

export interface MessageHeader {
  version: number;
  length: number;
  /** Seconds since the Unix epoch at which the message left the exporter. */
  exportTime: number;
  sequence: number;
  domain: number;
}

export interface DecodedSet {
  templateId: number;
  domain: number;
  /** Export Time of the message that carried these records. */
  exportTime: number;
  /** 0 for data records; the Scope Field Count for Options Data Records. */
  scopeCount: number;
  /** True when the records waited for their template (they came before it). */
  late: boolean;
  /** Empty for data records in `flowColumns` mode: they are in `columns` instead. */
  records: FlowRecord[];
  /** `flowColumns` mode, data records: rows first .. first + count - 1 of the decoder's `columns`. */
  columns?: { first: number; count: number };
}

export type DecodeResult =
  | { ok: true; header: MessageHeader; sets: DecodedSet[]; records: number; issues: IpfixIssue[]; sequence: SequenceOutcome }
  | { ok: false; kind: IpfixErrorKind; reason: string; header?: MessageHeader };

export interface IpfixDecoderOptions {
  /** The elements that become values in decoded records (everything else is skipped). */
  fields: FieldSelector[];
  /** 'udp': one message per datagram, template lifetime, withdrawals ignored (§8.4). Default 'udp'. */
  transport?: 'udp' | 'tcp';
  /** UDP template lifetime (§8.4); 0 keeps templates until the exporter goes idle. Default 30 min (3 x Junos's longest refresh, 600 s). */
  templateLifetimeMs?: number;
  /** An exporter silent this long is forgotten (§9.3). Default: the template lifetime, or 1 h. */
  exporterIdleMs?: number;
  maxExporters?: number;
  maxDomainsPerExporter?: number;
  maxTemplatesPerExporter?: number;
  maxTemplates?: number;
  /** Data held for a template that has not arrived (§9.3). */
  pending?: Partial<PendingLimits>;
  /** A sequence jump larger than this is an exporter restart, not loss. Default 2^24 records. */
  sequenceResetGap?: number;
  /** false: decode with the generic field walk instead of compiled readers. Default true. */
  compiled?: boolean;
  /**
   * true: Data Records (not Options Data Records) are written into `decoder.columns` (addresses,
   * ports, protocol, counters; flow-columns.ts) instead of becoming objects, which is all a
   * collector that adds flows up needs. The columns hold the last decode()'s records only.
   */
  flowColumns?: boolean;
  /** Monotonic milliseconds. Default performance.now(). */
  now?: () => number;
}

export interface IpfixDecoderStats extends SequenceCounts, PendingCounts, ValueStats {
  messages: number;
  messagesRejected: number;
  dataRecords: number;
  optionsRecords: number;
  dataSets: number;
  templatesAdded: number;
  templatesRefreshed: number;
  templatesRedefined: number;
  templatesWithdrawn: number;
  templatesExpired: number;
  templatesRefused: number;
  /** Withdrawals received over UDP, which §8.4 says must be ignored. */
  withdrawalsIgnored: number;
  pendingReleased: number;
  exportersExpired: number;
  /** Malformed messages and issues, by kind. */
  errors: Partial<Record<IpfixErrorKind | IpfixIssueKind, number>>;
}

interface TemplateEntry {
  template: Template;
  reader: SetReader;
  /** flowColumns mode, data templates. */
  columnsReader: FlowColumnsReader | null;
  lastSeen: number;
}

interface DomainState {
  templates: Map<number, TemplateEntry>;
  sequence: SequenceTracker;
}

interface ExporterState {
  key: string;
  domains: Map<number, DomainState>;
  templateCount: number;
  lastSeen: number;
}

type Op = { kind: 'set'; id: number; entry: TemplateEntry } | { kind: 'withdraw'; id: number } | { kind: 'withdraw-all'; options: boolean };

const COMPILE_CACHE_SIZE = 1024;
const SWEEP_INTERVAL_MS = 1000;

export class IpfixDecoder {
  readonly stats: IpfixDecoderStats = {
    messages: 0,
    messagesRejected: 0,
    dataRecords: 0,
    optionsRecords: 0,
    dataSets: 0,
    templatesAdded: 0,
    templatesRefreshed: 0,
    templatesRedefined: 0,
    templatesWithdrawn: 0,
    templatesExpired: 0,
    templatesRefused: 0,
    withdrawalsIgnored: 0,
    pendingHeld: 0,
    pendingReleased: 0,
    pendingDropped: 0,
    pendingDroppedBytes: 0,
    exportersExpired: 0,
    lost: 0,
    reordered: 0,
    duplicate: 0,
    resets: 0,
    resyncs: 0,
    imprecise: 0,
    errors: {},
  };
  readonly selection: SelectedField[];
  /** flowColumns mode: the data records of the last decode(). */
  readonly columns = new FlowColumns();
  readonly #udp: boolean;
  readonly #lifetimeMs: number;
  readonly #idleMs: number;
  readonly #maxExporters: number;
  readonly #maxDomains: number;
  readonly #maxTemplatesPerExporter: number;
  readonly #maxTemplates: number;
  readonly #resetGap: number;
  readonly #compiled: boolean;
  readonly #flowColumns: boolean;
  readonly #columnsReaders = new Map<string, FlowColumnsReader>();
  readonly #now: () => number;
  readonly #exporters = new Map<string, ExporterState>();
  readonly #pending: PendingSets;
  readonly #readers = new Map<string, SetReader>();
  #templateTotal = 0;
  #lastSource: IpfixSource | null = null;
  /** decode()'s scratch, reused (decode() is not reentrant): templates this message defines or withdraws. */
  readonly #overlay = new Map<number, TemplateEntry | null>();
  readonly #addedIds = new Set<number>();
  #lastExporter: ExporterState | undefined = undefined;
  #lastSweep = -Infinity;

  constructor(options: IpfixDecoderOptions) {
    this.selection = resolveSelection(options.fields);
    this.#udp = (options.transport ?? 'udp') === 'udp';
    this.#lifetimeMs = options.templateLifetimeMs ?? 30 * 60_000;
    this.#idleMs = options.exporterIdleMs ?? (this.#lifetimeMs > 0 ? this.#lifetimeMs : 60 * 60_000);
    this.#maxExporters = options.maxExporters ?? 1024;
    this.#maxDomains = options.maxDomainsPerExporter ?? 1024;
    this.#maxTemplatesPerExporter = options.maxTemplatesPerExporter ?? 4096;
    this.#maxTemplates = options.maxTemplates ?? 65536;
    this.#resetGap = options.sequenceResetGap ?? 1 << 24;
    this.#compiled = options.compiled ?? true;
    this.#flowColumns = options.flowColumns ?? false;
    this.#now = options.now ?? (() => performance.now());
    this.#pending = new PendingSets({ maxAgeMs: 10_000, maxBytes: 4 << 20, maxSets: 4096, ...options.pending });
  }

  /** Templates, exporters and held data, as gauges. */
  status(): { exporters: number; templates: number; pendingSets: number; pendingBytes: number } {
    return { exporters: this.#exporters.size, templates: this.#templateTotal, pendingSets: this.#pending.sets, pendingBytes: this.#pending.bytes };
  }

  /** The templates currently known for one exporter and domain. */
  templates(source: IpfixSource, domain: number): Template[] {
    const d = this.#exporters.get(exporterKey(source))?.domains.get(domain);
    return d ? [...d.templates.values()].map((e) => e.template) : [];
  }

  /** Forgets an exporter: its templates, sequence state and held data (a TCP connection closed). */
  closeSession(source: IpfixSource): void {
    const exporter = this.#exporters.get(exporterKey(source));
    if (exporter) this.#removeExporter(exporter);
  }

  /** Drops expired templates (UDP), idle exporters and held data past its age. Called from decode() too. */
  expire(now = this.#now()): void {
    this.#lastSweep = now;
    for (const exporter of this.#exporters.values()) {
      if (now - exporter.lastSeen > this.#idleMs) {
        this.#removeExporter(exporter);
        this.stats.exportersExpired++;
        continue;
      }
      if (!this.#udp || this.#lifetimeMs <= 0) continue;
      for (const domain of exporter.domains.values()) {
        for (const [id, entry] of domain.templates) {
          if (now - entry.lastSeen > this.#lifetimeMs) this.#dropTemplate(exporter, domain, id, 'expired');
        }
      }
    }
    this.#pending.expire(now, this.stats);
  }

  /** Decodes one IPFIX Message (a UDP datagram, or one framed from a TCP stream). */
  decode(input: Uint8Array, source: IpfixSource): DecodeResult {
    this.stats.messages++;
    this.columns.clear();
    const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const now = this.#now();
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) this.expire(now);

    if (b.length < MESSAGE_HEADER_LENGTH) return this.#fail('short-message', `${b.length} octets is shorter than the 16-octet message header`);
    const header: MessageHeader = {
      version: b.readUInt16BE(0),
      length: b.readUInt16BE(2),
      exportTime: b.readUInt32BE(4),
      sequence: b.readUInt32BE(8),
      domain: b.readUInt32BE(12),
    };
    if (header.version !== IPFIX_VERSION) return this.#fail('bad-version', `version ${header.version}, not 10`, header);
    if (header.length !== b.length) return this.#fail('length-mismatch', `header says ${header.length} octets, message has ${b.length}`, header);
    for (let p = MESSAGE_HEADER_LENGTH; p < b.length; ) {
      if (b.length - p < 4) return this.#fail('bad-set-length', `${b.length - p} octets after the last set`, header);
      const setLength = b.readUInt16BE(p + 2);
      if (setLength < 4) return this.#fail('bad-set-length', `set ${b.readUInt16BE(p)} at offset ${p} has length ${setLength}`, header);
      if (p + setLength > b.length) return this.#fail('bad-set-length', `set ${b.readUInt16BE(p)} at offset ${p} (length ${setLength}) runs past the message`, header);
      p += setLength;
    }

    // The last message's exporter, found again without building its key (messages come in runs).
    let exporter = this.#lastSource === source ? this.#lastExporter : undefined;
    const key = exporter ? exporter.key : exporterKey(source);
    exporter ??= this.#exporters.get(key);
    if (!exporter) {
      if (this.#exporters.size >= this.#maxExporters) return this.#fail('exporter-limit', `already tracking ${this.#maxExporters} exporters`, header);
      exporter = { key, domains: new Map(), templateCount: 0, lastSeen: now };
      this.#exporters.set(key, exporter);
    }
    this.#lastSource = source;
    this.#lastExporter = exporter;
    let domain = exporter.domains.get(header.domain);
    if (!domain) {
      if (exporter.domains.size >= this.#maxDomains) return this.#fail('domain-limit', `exporter ${key} already has ${this.#maxDomains} observation domains`, header);
      domain = { templates: new Map(), sequence: new SequenceTracker(this.#resetGap) };
      exporter.domains.set(header.domain, domain);
    }
    exporter.lastSeen = now;

    // Templates defined or withdrawn by this message apply to the sets after them, but reach the
    // stored state only if the whole message is well formed.
    const overlay = this.#overlay;
    overlay.clear();
    const withdrawnAll = { data: false, options: false };
    const ops: Op[] = [];
    const issues: IpfixIssue[] = [];
    const sets: DecodedSet[] = [];
    const held: Array<{ id: number; start: number; end: number }> = [];
    const addedIds = this.#addedIds;
    addedIds.clear();
    const current = (id: number): TemplateEntry | undefined => {
      if (overlay.has(id)) return overlay.get(id) ?? undefined;
      const entry = domain.templates.get(id);
      if (!entry) return undefined;
      if (entry.template.scopeCount > 0 ? withdrawnAll.options : withdrawnAll.data) return undefined;
      if (this.#udp && this.#lifetimeMs > 0 && now - entry.lastSeen > this.#lifetimeMs) {
        // Expiry is a matter of time, not of this message, so it stands even if the message is refused.
        this.#dropTemplate(exporter, domain, id, 'expired');
        return undefined;
      }
      return entry;
    };
    const withdraw = (id: number, setId: number): void => {
      const options = setId === SET_OPTIONS_TEMPLATE;
      if (this.#udp) {
        this.stats.withdrawalsIgnored++;
        return;
      }
      if (id === setId) {
        withdrawnAll[options ? 'options' : 'data'] = true;
        for (const [oid, entry] of overlay) if (entry && entry.template.scopeCount > 0 === options) overlay.set(oid, null);
        ops.push({ kind: 'withdraw-all', options });
        return;
      }
      const existing = current(id);
      if (!existing) issues.push({ kind: 'withdrawal-unknown', reason: `withdrawal of ${options ? 'options template' : 'template'} ${id}, which is not defined` });
      else if (existing.template.scopeCount > 0 !== options) issues.push({ kind: 'withdrawal-mismatch', reason: `withdrawal of template ${id} in set ${setId}, but it is ${options ? 'not an options template' : 'an options template'}` });
      else {
        overlay.set(id, null);
        ops.push({ kind: 'withdraw', id });
      }
    };
    const define = (template: Template): void => {
      const existing = current(template.id);
      if (!domain.templates.has(template.id) && !addedIds.has(template.id)) {
        if (exporter.templateCount + addedIds.size >= this.#maxTemplatesPerExporter || this.#templateTotal + addedIds.size >= this.#maxTemplates) {
          issues.push({ kind: 'template-limit', reason: `template ${template.id} refused: ${exporter.templateCount + addedIds.size} templates from ${key}, ${this.#templateTotal + addedIds.size} in all` });
          return;
        }
        addedIds.add(template.id);
      } else if (existing && existing.template.shape !== template.shape && !this.#udp) {
        issues.push({ kind: 'redefinition', reason: `template ${template.id} redefined without a withdrawal (§8.1); the new definition is used` });
      }
      const entry: TemplateEntry =
        existing?.template.shape === template.shape ? existing : { template, reader: this.#reader(template), columnsReader: this.#columnsReader(template), lastSeen: now };
      overlay.set(template.id, entry);
      ops.push({ kind: 'set', id: template.id, entry });
    };

    for (let p = MESSAGE_HEADER_LENGTH; p < b.length; ) {
      const setId = b.readUInt16BE(p);
      const end = p + b.readUInt16BE(p + 2);
      const start = p + 4;
      p = end;
      if (setId === SET_TEMPLATE || setId === SET_OPTIONS_TEMPLATE) {
        const contents = readTemplateSet(b, start, end, setId === SET_OPTIONS_TEMPLATE);
        if (typeof contents === 'string') return this.#fail('template-overrun', contents, header);
        for (const problem of contents.problems) issues.push(problem);
        for (const entry of contents.entries) {
          if ('withdraw' in entry) withdraw(entry.withdraw, setId);
          else define(entry.template);
        }
      } else if (setId >= MIN_DATA_SET_ID) {
        const entry = current(setId);
        if (!entry) {
          held.push({ id: setId, start, end });
          continue;
        }
        const set = this.#readSet(entry, b, start, end, header.domain, header.exportTime, false);
        if (!set) return this.#fail('record-overrun', `a variable-length field in set ${setId} runs past the set`, header);
        sets.push(set);
      } else {
        issues.push({ kind: 'reserved-set', reason: `set ID ${setId} is reserved; skipped` });
      }
    }

    let records = 0;
    for (const set of sets) {
      records += recordCount(set);
      this.#countSet(set);
    }
    for (const op of ops) this.#apply(exporter, domain, op, now);
    const sequence = domain.sequence.observe(header.sequence, held.length ? null : records, header.exportTime, this.stats);

    const prefix = `${key}|${header.domain}|`;
    for (const h of held) this.#pending.hold(prefix + h.id, h.id, header.domain, header.exportTime, b, h.start, h.end, now, this.stats);
    for (const op of ops) {
      if (op.kind !== 'set') continue;
      for (const late of this.#pending.release(prefix + op.id, now, this.stats)) {
        const set = this.#readSet(op.entry, late.body, 0, late.body.length, header.domain, late.exportTime, true);
        if (!set) {
          issues.push({ kind: 'pending-malformed', reason: `held set for template ${op.id} does not fit the template that arrived` });
          this.stats.pendingDropped++;
          this.stats.pendingDroppedBytes += late.body.length;
          continue;
        }
        this.stats.pendingReleased++;
        this.#countSet(set);
        sets.push(set);
      }
    }
    for (const issue of issues) {
      this.stats.errors[issue.kind] = (this.stats.errors[issue.kind] ?? 0) + 1;
      if (issue.kind === 'bad-template' || issue.kind === 'template-limit') this.stats.templatesRefused++;
    }
    return { ok: true, header, sets, records, issues, sequence };
  }

  /** A Data Set's records, as objects or (flowColumns mode, data records) into `columns`; null if one overruns the set. */
  #readSet(entry: TemplateEntry, b: Buffer, start: number, end: number, domain: number, exportTime: number, late: boolean): DecodedSet | null {
    const scopeCount = entry.template.scopeCount;
    if (entry.columnsReader) {
      const first = this.columns.count;
      const count = entry.columnsReader(b, start, end, this.columns, this.stats);
      if (count < 0) return null;
      return { templateId: entry.template.id, domain, exportTime, scopeCount, late, records: [], columns: { first, count } };
    }
    const records: FlowRecord[] = [];
    if (entry.reader(b, start, end, records, this.stats) < 0) return null;
    return { templateId: entry.template.id, domain, exportTime, scopeCount, late, records };
  }

  #countSet(set: DecodedSet): void {
    this.stats.dataSets++;
    if (set.scopeCount > 0) this.stats.optionsRecords += recordCount(set);
    else this.stats.dataRecords += recordCount(set);
  }

  #apply(exporter: ExporterState, domain: DomainState, op: Op, now: number): void {
    if (op.kind === 'set') {
      const existing = domain.templates.get(op.id);
      if (existing === op.entry) {
        existing.lastSeen = now;
        this.stats.templatesRefreshed++;
        return;
      }
      if (existing) this.stats.templatesRedefined++;
      else {
        exporter.templateCount++;
        this.#templateTotal++;
        this.stats.templatesAdded++;
      }
      op.entry.lastSeen = now;
      domain.templates.set(op.id, op.entry);
    } else if (op.kind === 'withdraw') {
      if (domain.templates.has(op.id)) this.#dropTemplate(exporter, domain, op.id, 'withdrawn');
    } else {
      for (const [id, entry] of domain.templates) {
        if (entry.template.scopeCount > 0 === op.options) this.#dropTemplate(exporter, domain, id, 'withdrawn');
      }
    }
  }

  #dropTemplate(exporter: ExporterState, domain: DomainState, id: number, why: 'withdrawn' | 'expired'): void {
    domain.templates.delete(id);
    exporter.templateCount--;
    this.#templateTotal--;
    if (why === 'withdrawn') this.stats.templatesWithdrawn++;
    else this.stats.templatesExpired++;
  }

  #removeExporter(exporter: ExporterState): void {
    if (this.#lastExporter === exporter) {
      this.#lastSource = null;
      this.#lastExporter = undefined;
    }
    this.#templateTotal -= exporter.templateCount;
    this.#exporters.delete(exporter.key);
    this.#pending.dropPrefix(`${exporter.key}|`, this.stats);
  }

  /** One reader per template shape, shared by every exporter and domain that uses it. */
  #reader(template: Template): SetReader {
    let reader = this.#readers.get(template.shape);
    if (reader) return reader;
    reader = this.#compiled ? compileSetReader(template, this.selection) : genericSetReader(template, this.selection);
    if (this.#readers.size >= COMPILE_CACHE_SIZE) this.#readers.delete(this.#readers.keys().next().value as string);
    this.#readers.set(template.shape, reader);
    return reader;
  }

  /** flowColumns mode: one columns reader per data template shape (the generic walk when not compiled). */
  #columnsReader(template: Template): FlowColumnsReader | null {
    if (!this.#flowColumns || template.scopeCount > 0) return null;
    let reader = this.#columnsReaders.get(template.shape);
    if (reader) return reader;
    if (this.#compiled) reader = compileFlowColumnsReader(template);
    else {
      const walk = genericSetReader(template, resolveSelection([...FLOW_COLUMN_FIELDS]));
      const records: FlowRecord[] = [];
      reader = (b, start, end, cols, s) => {
        records.length = 0;
        const n = walk(b, start, end, records, s);
        if (n >= 0) flowColumnsFromRecords(records, cols);
        return n;
      };
    }
    if (this.#columnsReaders.size >= COMPILE_CACHE_SIZE) this.#columnsReaders.delete(this.#columnsReaders.keys().next().value as string);
    this.#columnsReaders.set(template.shape, reader);
    return reader;
  }

  #fail(kind: IpfixErrorKind, reason: string, header?: MessageHeader): DecodeResult {
    this.stats.messagesRejected++;
    this.stats.errors[kind] = (this.stats.errors[kind] ?? 0) + 1;
    return header ? { ok: false, kind, reason, header } : { ok: false, kind, reason };
  }
}

function recordCount(set: DecodedSet): number {
  return set.columns ? set.columns.count : set.records.length;
}

export function exporterKey(source: IpfixSource): string {
  return `${source.address}|${source.port}`;
}
