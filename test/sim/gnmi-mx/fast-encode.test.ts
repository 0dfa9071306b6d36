import test from 'ava';
import { decodeMessage, encodeMessage } from '../../../src/collectors/gnmi/wire/load.ts';
import type { SubscribeResponseMsg } from '../../../src/collectors/gnmi/wire/types.ts';
import { encodeSubscribeResponse } from './fast-encode.ts';
import { MxModel } from './model.ts';
import { render, type Corruption, type SimEncoding } from './render.ts';
import { select } from './select.ts';

const ALL = new Set(['counter', 'state'] as const);

test("the simulator's fast encoder writes what protobufjs writes, for every shape it sends", (t) => {
  const model = new MxModel({ tunnels: 20, counterBase: (1n << 64n) - 5n });
  const header = encodeMessage('GnmiJuniperTelemetryHeaderExtension', { system_id: 'mx1', sequence_number: '18446744073709551615', eom: true });
  const extension = [{ registered_ext: { id: 1, msg: header.ok ? header.value : Buffer.alloc(0) } }];
  let compared = 0;
  for (const encoding of ['PROTO', 'JSON', 'JSON_IETF'] as SimEncoding[]) {
    for (const corrupt of [undefined, 'wrong-type', 'bad-json'] as (Corruption | undefined)[]) {
      for (const bundle of [1, 7]) {
        const selected = select(model.sections, [{ path: { elem: [] }, kinds: ALL }], Date.now());
        for (const n of render(selected, { encoding, bundle, target: 'mx1', ...(corrupt ? { corrupt } : {}) }, () => 1700000000000000000n)) {
          const msg: SubscribeResponseMsg = { update: n, extension };
          const generic = encodeMessage('gnmi.SubscribeResponse', msg);
          t.true(generic.ok);
          const fast = encodeSubscribeResponse(msg);
          t.deepEqual(decodeMessage('gnmi.SubscribeResponse', fast), decodeMessage('gnmi.SubscribeResponse', generic.ok ? generic.value : Buffer.alloc(0)));
          t.is(fast.toString('hex'), generic.ok ? generic.value.toString('hex') : '');
          compared++;
        }
      }
    }
  }
  const deletes: SubscribeResponseMsg = { update: { timestamp: '5', delete: [model.tunnelPath(3), model.tunnelPath(4)].map((p) => ({ elem: p.elem })) } };
  t.is(encodeSubscribeResponse(deletes).toString('hex'), (encodeMessage('gnmi.SubscribeResponse', deletes) as { value: Buffer }).value.toString('hex'));
  t.is(encodeSubscribeResponse({ sync_response: true }).toString('hex'), '1801');
  t.true(compared > 50);
});
