// AMT exchanges built with src/amt and framed with src/capture, for the analyze CLI and the
// capture path's tests.
import { encodeAmt } from '../../../../src/amt/codec.ts';
import { RECORD_TYPE } from '../../../../src/amt/group-records.ts';
import { encodeMembershipReport } from '../../../../src/amt/membership.ts';
import { udpPacket } from '../../../../src/amt/inet.ts';

export interface Gw {
  address: string;
  port: number;
}

/** The UDP payloads a gateway sends to join `groups`: Discovery, Request, Update (and a Teardown when asked). */
export function gatewayMessages(gw: Gw, nonce: number, groups: string[], o: { leave?: string[]; teardown?: boolean; kernelShaped?: boolean } = {}): Buffer[] {
  const family = gw.address.includes(':') ? 6 : 4;
  const source = family === 4 ? '198.51.100.1' : '2001:db8:100::1';
  const mac = 0x112233445566;
  const out = [
    encodeAmt({ type: 'relay-discovery', nonce }),
    encodeAmt({ type: 'request', p: family === 6, nonce }, { kernelFlags: o.kernelShaped === true && family === 6 }),
    encodeAmt({
      type: 'membership-update',
      responseMac: mac,
      nonce,
      packet: encodeMembershipReport({ family, records: groups.map((group) => ({ type: RECORD_TYPE.ALLOW_NEW_SOURCES, group, sources: [source] })) }),
    }),
  ];
  if (o.leave?.length) {
    out.push(
      encodeAmt({
        type: 'membership-update',
        responseMac: mac,
        nonce,
        packet: encodeMembershipReport({ family, records: o.leave.map((group) => ({ type: RECORD_TYPE.BLOCK_OLD_SOURCES, group, sources: [source] })) }),
      }),
    );
  }
  if (o.teardown) out.push(encodeAmt({ type: 'teardown', responseMac: mac, nonce, gateway: gw }));
  return out;
}

export function toRelayPacket(gw: Gw, relay: string, relayPort: number, payload: Buffer): Buffer {
  return udpPacket({ source: gw.address, destination: relay, sourcePort: gw.port, destinationPort: relayPort, payload });
}
