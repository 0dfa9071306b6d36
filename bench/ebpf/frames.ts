/**
 * Writes the bench's frames once, for sender.c to replay: Ethernet frames from GATEWAYS gateways
 * (64 addresses of the /16, many ports each) to the relay's port 2268, built with src/amt and
 * src/capture: per gateway UPDATE_EVERY - 1 Multicast Data frames (a 100-byte UDP payload to an
 * SSM group inside) and one Membership Update (an IGMPv3 report joining that group), interleaved
 * so that every batch of frames has the same mix.
 *
 *   node bench/ebpf/frames.ts OUT_FILE GATEWAYS UPDATE_EVERY SRC_MAC DST_MAC RELAY_IP [RELAY_IP6]
 *
 * With RELAY_IP6, every other gateway is an IPv6 one (fd00:213::/64 of the relay's address, its
 * Updates MLDv2 reports joining an ff3e:: SSM group).
 *
 * File format, per frame: u16 length (big-endian), then the frame.
 */
import { writeFileSync } from 'node:fs';
import { encodeAmt } from '../../src/amt/codec.ts';
import { RECORD_TYPE } from '../../src/amt/group-records.ts';
import { udpPacket } from '../../src/amt/inet.ts';
import { encodeMembershipReport } from '../../src/amt/membership.ts';
import { frameFor } from '../../src/capture/frame.ts';
import { LINKTYPE } from '../../src/capture/pcap.ts';

const [out, gatewaysArg, everyArg, sourceMac, destinationMac, relay, relay6] = process.argv.slice(2);
const gateways = Number(gatewaysArg);
const every = Number(everyArg);
if (!out || !relay || !sourceMac || !destinationMac || !(gateways >= 1) || !(every >= 1)) throw new Error('usage: frames.ts OUT GATEWAYS UPDATE_EVERY SRC_MAC DST_MAC RELAY_IP');
const [a, b] = relay.split('.');

const frames: Buffer[] = [];
for (let round = 0; round < every; round++) {
  for (let g = 0; g < gateways; g++) {
    const v6 = relay6 !== undefined && g % 2 === 1;
    const address = v6 ? `fd00:213::${(1 + (g % 64)).toString(16)}:${(1 + ((g >> 6) % 250)).toString(16)}` : `${a}.${b}.${1 + (g % 64)}.${1 + ((g >> 6) % 250)}`;
    const port = 40000 + Math.floor(g / 64);
    const group = v6 ? `ff3e::8000:${g.toString(16)}` : `232.${1 + (g >> 16)}.${(g >> 8) & 255}.${g & 255}`;
    const sender = v6 ? '2001:db8::1' : '198.51.100.1';
    const payload =
      round === every - 1
        ? encodeAmt({ type: 'membership-update', responseMac: 0x112233445566, nonce: g, packet: encodeMembershipReport({ family: v6 ? 6 : 4, records: [{ type: RECORD_TYPE.ALLOW_NEW_SOURCES, group, sources: [sender] }] }) })
        : encodeAmt({ type: 'multicast-data', packet: udpPacket({ source: sender, destination: group, sourcePort: 60000, destinationPort: 60001, payload: Buffer.alloc(100, round) }) });
    const packet = udpPacket({ source: address, destination: v6 ? (relay6 as string) : relay, sourcePort: port, destinationPort: 2268, payload });
    frames.push(frameFor(LINKTYPE.ETHERNET, packet, { sourceMac, destinationMac }));
  }
}
const file = Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 255]), f]));
writeFileSync(out, file);
process.stdout.write(`frames: ${frames.length} (${gateways} gateways, 1 Membership Update in ${every}), ${frames.reduce((n, f) => n + f.length, 0) / frames.length} bytes each on average\n`);
