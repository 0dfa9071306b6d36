// dns-packet with AMTRELAY (RFC 8777) support. dns-packet itself handles type 260 as
// 'UNKNOWN_260' with raw Buffer data; this module converts between that and AmtRelayData.

import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question, RecordClass, RecordType } from 'dns-packet';
import { AMTRELAY_TYPE, decodeAmtRelayRdata, encodeAmtRelayRdata, type AmtRelayData } from './rr/amtrelay.ts';

export { AMTRELAY_TYPE, amtrelay, formatAmtRelayText, parseAmtRelayText, type AmtRelayData } from './rr/amtrelay.ts';
export { encodeName } from './rr/name.ts';
export { decodeRdata, encodeRdata } from './rr/rdata.ts';
export { typeCode, typeName } from './rr/types.ts';

const WIRE_TYPE = `UNKNOWN_${AMTRELAY_TYPE}`;

export type AmtRelayAnswer = {
  type: 'AMTRELAY';
  name: string;
  ttl?: number | undefined;
  class?: RecordClass | undefined;
  flush?: boolean | undefined;
  data: AmtRelayData;
};
export type DriadAnswer = Answer | AmtRelayAnswer;
export type DriadQuestion = Omit<Question, 'type'> & { type: RecordType | 'AMTRELAY' };

type Sections<A, Q> = { questions?: Q[] | undefined; answers?: A[] | undefined; authorities?: A[] | undefined; additionals?: A[] | undefined };
export type DriadPacket = Omit<Packet, keyof Sections<unknown, unknown>> & Sections<DriadAnswer, DriadQuestion>;
export type DecodedDriadPacket = Omit<DecodedPacket, keyof Sections<unknown, unknown>> &
  Sections<DriadAnswer, DriadQuestion>;

export function encode(packet: DriadPacket): Buffer {
  return dnsPacket.encode({
    ...packet,
    questions: packet.questions?.map(questionToWire),
    answers: packet.answers?.map(answerToWire),
    authorities: packet.authorities?.map(answerToWire),
    additionals: packet.additionals?.map(answerToWire),
  });
}

export function decode(buf: Buffer): DecodedDriadPacket {
  const packet = dnsPacket.decode(buf);
  // dns-packet slices raw rdata without bounds checks; a message cut short shows up here.
  if (dnsPacket.decode.bytes > buf.length) throw new Error('truncated DNS message');
  return {
    ...packet,
    questions: packet.questions?.map(questionFromWire),
    answers: packet.answers?.map(answerFromWire),
    authorities: packet.authorities?.map(answerFromWire),
    additionals: packet.additionals?.map(answerFromWire),
  };
}

function questionToWire(q: DriadQuestion): Question {
  return (q.type === 'AMTRELAY' ? { ...q, type: WIRE_TYPE } : q) as Question;
}

function questionFromWire(q: Question): DriadQuestion {
  return (q.type as string) === WIRE_TYPE ? { ...q, type: 'AMTRELAY' } : q;
}

function answerToWire(a: DriadAnswer): Answer {
  if (a.type !== 'AMTRELAY') return a;
  return { ...a, type: WIRE_TYPE, data: encodeAmtRelayRdata(a.data) } as unknown as Answer;
}

function answerFromWire(a: Answer): DriadAnswer {
  if ((a.type as string) !== WIRE_TYPE) return a;
  return { ...a, type: 'AMTRELAY', data: decodeAmtRelayRdata((a as { data: Buffer }).data) } as AmtRelayAnswer;
}
