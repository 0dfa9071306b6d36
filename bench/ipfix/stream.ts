/**
 * Writes the bench's IPFIX stream once, for sender.c to replay: one export round of an MX
 * (test/sim/mx-jflow/exporter.ts, built with src/ipfix/encoder.ts) carrying TUNNELS AMT tunnels
 * over three observation domains: per domain the IPv4/IPv6 Template Set and the sampling Options
 * Template Set with its Options Data Record (samplingInterval), then 14-record Data Sets.
 *
 *   node bench/ipfix/stream.ts OUT_FILE [tunnels, default 500000]
 *
 * File format, per datagram: u16 length, u16 flow records (AMT data records), u16 sequence
 * records (what the Sequence Number advances by: data and options records), u16 zero, u32 packets
 * (sum of packetDeltaCount of its flow records), then the datagram. Big-endian.
 */
import { writeFileSync } from 'node:fs';
import { MxJflowExporter, type AmtTunnel } from '../../test/sim/mx-jflow/exporter.ts';

const out = process.argv[2];
const count = Number(process.argv[3] ?? 500_000);
if (!out || !Number.isInteger(count) || count < 1) throw new Error('usage: stream.ts OUT_FILE [tunnels]');

// Gateways spread over 10.0.0.0/8 and 100.64.0.0/10, one AMT tunnel each, ports 1024-65535;
// sampled counts vary as on a real export (1 to 16 packets of 1316-octet AMT data).
const tunnels: AmtTunnel[] = [];
for (let i = 0; i < count; i++) {
  const n = (i * 2654435761) >>> 0;
  const gateway = i % 2 === 0 ? `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}` : `100.${64 + ((n >>> 16) & 63)}.${(n >>> 8) & 255}.${n & 255}`;
  const packets = 1 + (n % 16);
  tunnels.push({ relay: '69.25.95.1', gateway, gatewayPort: 1024 + (i % 64512), packets, octets: packets * 1316 });
}

const mx = new MxJflowExporter({ tunnels, samplingRate: 1000 });
const exportTime = 1_700_000_000;
const messages: Buffer[] = [];
for (const domain of mx.domains) messages.push(...mx.templateMessages(domain, exportTime));
const templateMessages = messages.length;
messages.push(...mx.dataMessages(exportTime, 1_699_999_940_000, 1_700_000_000_000));

let flows = 0;
let packets = 0;
const parts: Buffer[] = [];
for (const [i, m] of messages.entries()) {
  const records = mx.recordCount.get(m) ?? 0;
  const isData = i >= templateMessages;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(m.length, 0);
  head.writeUInt16BE(isData ? records : 0, 2);
  head.writeUInt16BE(records, 4);
  head.writeUInt32BE(isData ? sumPackets(m, records) : 0, 8);
  if (isData) {
    flows += records;
    packets += head.readUInt32BE(8);
  }
  parts.push(head, m);
}
const want = tunnels.reduce((n, t) => n + t.packets, 0);
if (flows !== count || packets !== want) throw new Error(`stream has ${flows} records and ${packets} packets, expected ${count} and ${want}`);
writeFileSync(out, Buffer.concat(parts));
console.log(`stream: ${messages.length} datagrams (${templateMessages} template/options), ${flows} flow records, ${packets} packets, ${mx.domains.length} domains`);

/** Sum of packetDeltaCount in a data message of the Juniper IPv4 template (offset of IE 2 in its 90-octet records). */
function sumPackets(m: Buffer, records: number): number {
  // Set header at 16; records from 20; packetDeltaCount is the 27th field: at octet 66 of the record.
  const recordLength = 90;
  let sum = 0;
  for (let r = 0; r < records; r++) sum += Number(m.readBigUInt64BE(20 + r * recordLength + 66));
  return sum;
}
