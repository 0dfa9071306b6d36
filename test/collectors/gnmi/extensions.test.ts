import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { encodeMessage, gnmiServiceDefinition } from '../../../src/collectors/gnmi/wire/load.ts';
import { parsePath, pathToMsg } from '../../../src/collectors/gnmi/wire/path.ts';
import type { SubscribeResponseMsg } from '../../../src/collectors/gnmi/wire/types.ts';
import { mxRelay, startHarness, testSettings } from './harness.ts';

/**
 * A minimal gNMI target written here because the MX simulator always sends Juniper's header and
 * nothing else: responses with extensions driad does not know (a registered id other than 1,
 * master arbitration), a Juniper header, and a delete, then the sync.
 */
async function target(responses: SubscribeResponseMsg[]): Promise<{ address: string; stop(): void }> {
  const server = new grpc.Server();
  server.addService(gnmiServiceDefinition(), {
    Capabilities: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { gNMI_version: '0.10.0', supported_encodings: ['PROTO'] }),
    Get: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    Set: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    Subscribe: (call: grpc.ServerDuplexStream<unknown, SubscribeResponseMsg>) => {
      call.once('data', () => {
        for (const r of responses) call.write(r);
        const timer = setInterval(() => call.write(counters(Date.now())), 50);
        call.on('cancelled', () => clearInterval(timer));
        call.on('close', () => clearInterval(timer));
        call.on('error', () => clearInterval(timer));
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

const path = (s: string) => {
  const r = parsePath(s);
  if (!r.ok) throw new Error(r.error);
  return pathToMsg(r.value);
};

function counters(ms: number): SubscribeResponseMsg {
  return {
    update: {
      timestamp: String(BigInt(ms) * 1_000_000n),
      prefix: path('/interfaces/interface[name=xe-0/0/0]/state/counters'),
      update: [{ path: path('out-octets'), val: { uint_val: String(ms * 1000) } }],
    },
  };
}

test('unknown extensions are ignored and counted; the Juniper header is read; deletes remove entries', async (t) => {
  const header = encodeMessage('GnmiJuniperTelemetryHeaderExtension', { system_id: 'mx-lab:192.0.2.1', sensor_name: 'sensor_1', sequence_number: '7' });
  if (!header.ok) throw new Error(header.error);
  const tunnel = (gw: string) => ({ path: path(`/junos/amt/tunnels/tunnel[gateway=${gw}][port=2268]/state`), val: { string_val: 'Active' } });
  const mx = await target([
    {
      update: { timestamp: '1', update: [tunnel('10.0.0.1'), tunnel('10.0.0.2'), tunnel('10.0.0.3')] },
      extension: [{ registered_ext: { id: 1, msg: header.value } }, { registered_ext: { id: 999, msg: Buffer.from([1, 2, 3]) } }, { registered_ext: { id: 42, msg: Buffer.alloc(0) } }],
    },
    { update: { timestamp: '2', delete: [path('/junos/amt/tunnels/tunnel[gateway=10.0.0.2][port=2268]')] }, extension: [{ master_arbitration: { election_id: { high: '0', low: '1' } } }] },
    { sync_response: true },
  ]);
  t.teardown(() => mx.stop());
  const paths = [
    { path: '/interfaces/interface/state/counters', mode: 'sample' as const },
    { path: '/junos/amt/tunnels/tunnel', mode: 'on_change' as const },
  ];
  const h = await startHarness(testSettings({ paths }), [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 2));
  t.like(h.session(), { synced: true, systemId: 'mx-lab:192.0.2.1', ignoredExtensions: 3, deletes: 1, errors: 0, gnmiVersion: '0.10.0' });
  t.is(h.metrics.get('driad_gnmi_extensions_ignored_total', { relay: 'mx' }), 3);
  t.true(await h.waitFor(() => h.latest('bandwidthBps')?.value === 8000 * 1000), 'out-octets growing by 1000 B per ms: 8 Mbit/s');
});

test('a subscribed path that gives nothing by the sync is reported with the command to check it', async (t) => {
  const mx = await target([counters(Date.now() - 1000), { sync_response: true }]);
  t.teardown(() => mx.stop());
  const paths = [
    { path: '/interfaces/interface/state/counters', mode: 'sample' as const },
    { path: '/junos/amt/summary', mode: 'on_change' as const },
  ];
  const h = await startHarness(testSettings({ paths }), [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => h.session()?.synced === true));
  t.true(await h.waitFor(() => h.lines.some((l) => l.includes('path without data'))));
  const line = h.lines.find((l) => l.includes('path without data'))!;
  t.regex(line, new RegExp(`gnmi.paths\\[1\\] /junos/amt/summary gave nothing by the initial sync; check it with: driad gnmi get ${mx.address} /junos/amt/summary`));
  t.false(h.lines.some((l) => l.includes('gnmi.paths[0]')));
});
