/**
 * Sends the MX simulator's messages over UDP to a collector on loopback, in export rounds, with
 * the faults a real path and a real router produce: loss, reordering, data before templates,
 * withdrawals (which an MX never sends over UDP), redefinitions and restarts.
 */
import { createSocket, type Socket } from 'node:dgram';
import { MxJflowExporter, type MxJflowOptions } from './exporter.ts';

export interface MxJflowFaults {
  /** Probability that a message is dropped. */
  drop?: number;
  /** Probability that a message swaps places with the next one. */
  reorder?: number;
  /** The first round's data goes out before its templates (a collector that starts late sees this). */
  dataBeforeTemplates?: boolean;
  /** Seed of the fault decisions, so a run can be repeated. */
  seed?: number;
}

export interface MxJflowSimOptions extends MxJflowOptions {
  host: string;
  port: number;
  faults?: MxJflowFaults;
  /** Templates (and the options record) go out every this many rounds, from round 0. Default 10. */
  templateEveryRounds?: number;
  /** Export Time of round 0, seconds since the epoch; each round is one second later. */
  startExportTime?: number;
}

export interface RoundReport {
  /** Messages as sent, in wire order. */
  sent: Buffer[];
  dropped: Buffer[];
  /** Data records sent (after drops). */
  records: number;
}

export interface MxJflowSim {
  exporter: MxJflowExporter;
  /** The local port the simulated MX sends from. */
  sourcePort: number;
  round(): Promise<RoundReport>;
  /** Sends messages as they are (no faults applied). */
  send(messages: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export async function startMxJflowSim(o: MxJflowSimOptions): Promise<MxJflowSim> {
  const exporter = new MxJflowExporter(o);
  const socket: Socket = createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, o.host.includes(':') ? '::1' : '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const random = mulberry32(o.faults?.seed ?? 1);
  const every = o.templateEveryRounds ?? 10;
  let round = 0;
  let exportTime = o.startExportTime ?? 1_700_000_000;

  const send = async (messages: Buffer[]): Promise<void> => {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) => socket.send(m, o.port, o.host, (err) => (err ? reject(err) : resolve())));
    }
  };

  return {
    exporter,
    sourcePort: socket.address().port,
    send,
    async round(): Promise<RoundReport> {
      const startMs = exportTime * 1000 - 1000;
      const templates = round % every === 0 ? exporter.domains.flatMap((d) => exporter.templateMessages(d, exportTime)) : [];
      const data = exporter.dataMessages(exportTime, startMs, exportTime * 1000);
      let messages = round === 0 && o.faults?.dataBeforeTemplates ? [...data, ...templates] : [...templates, ...data];
      const dropped: Buffer[] = [];
      if (o.faults?.drop) {
        messages = messages.filter((m) => {
          if (random() >= (o.faults?.drop ?? 0)) return true;
          dropped.push(m);
          return false;
        });
      }
      if (o.faults?.reorder) {
        for (let i = 0; i + 1 < messages.length; i++) {
          if (random() < (o.faults.reorder ?? 0)) [messages[i], messages[i + 1]] = [messages[i + 1], messages[i]];
        }
      }
      await send(messages);
      round++;
      exportTime++;
      return { sent: messages, dropped, records: messages.reduce((n, m) => n + (exporter.recordCount.get(m) ?? 0), 0) };
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Small seeded PRNG (mulberry32), so fault patterns repeat with the seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
