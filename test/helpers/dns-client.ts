import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import { decode, encode } from '../../src/dns/packet.ts';

/** A decoded message, loosely typed: tests compare fields of any record type. */
export interface Rec {
  name: string;
  type: string;
  ttl: number;
  data: any;
  [field: string]: any;
}
export interface Packet {
  id: number;
  opcode: string;
  rcode?: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_ra: boolean;
  questions: Array<{ name: string; type: string; class: string }>;
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
}

export function decodeMessage(msg: Buffer): Packet {
  return decode(msg) as unknown as Packet;
}

export interface QueryOptions {
  id?: number;
  /** EDNS UDP size; undefined sends no OPT record. */
  udpSize?: number;
  ednsVersion?: number;
  dnssecOk?: boolean;
  qclass?: string;
  /** EDNS options in dns-packet's form, e.g. { code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' }. */
  options?: unknown[];
}

/** A query message built with dns-packet, the independent encoder the tests trust. */
export function buildQuery(name: string, type: string, opts: QueryOptions = {}): Buffer {
  const additionals =
    opts.udpSize === undefined
      ? []
      : [{ type: 'OPT', name: '.', udpPayloadSize: opts.udpSize, extendedRcode: 0, ednsVersion: opts.ednsVersion ?? 0, flags: opts.dnssecOk ? 0x8000 : 0, options: opts.options ?? [] }];
  return encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: 0,
    questions: [{ type, name, class: opts.qclass ?? 'IN' }],
    additionals,
  } as never);
}

export function udpExchange(port: number, msg: Buffer, host = '127.0.0.1', timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('UDP query timed out'));
    }, timeoutMs);
    socket.once('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(msg, port, host);
  });
}

/** Sends every message on one TCP connection at once (pipelined) and collects that many replies. */
export function tcpExchange(port: number, msgs: Buffer[], host = '127.0.0.1', timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP exchange timed out after ${replies.length}/${msgs.length} replies`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(Buffer.concat(msgs.map((m) => Buffer.concat([u16(m.length), m]))));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        replies.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
      }
      if (replies.length === msgs.length) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export async function ask(port: number, name: string, type: string, opts: QueryOptions = {}): Promise<Packet> {
  return decodeMessage(await udpExchange(port, buildQuery(name, type, opts)));
}

export function rcodeOf(p: Packet): string {
  return (p as { rcode?: string }).rcode ?? 'NOERROR';
}
