// native/h2-session against Node's HTTP/2 client over an in-memory stream pair, for what the DoH
// paths never send: responses with more headers than fit as call arguments, bodies larger than the
// client's flow-control window, HEAD. The addon is driven as h2-native.ts drives it.

import test from 'ava';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { duplexPair } from 'node:stream';
import { batchFor, loadH2Addon } from '../../src/doh/h2-native.ts';

const { addon } = loadH2Addon();

type Answer = (method: string, path: string) => { status: number; headers: Array<[string, string]>; body: Buffer | string };

/** A server side on one end of a stream pair, a Node client on the other. */
function pair(answer: Answer): ClientHttp2Session {
  if (!addon) throw new Error('native/h2-session is not built');
  const batch = batchFor(addon);
  const state = new Int32Array(new ArrayBuffer(addon.STATE_SIZE * 4));
  const session = addon.create(100, 16384, 200, 50, state);
  const [clientEnd, serverEnd] = duplexPair();
  const slot = (at: number, i: number): string => {
    const offset = batch.meta[at + 4 + 2 * i]!;
    return batch.slab.toString('latin1', offset, offset + batch.meta[at + 5 + 2 * i]!);
  };
  // Written on a later turn: Node's client over an in-memory stream asserts when its own write
  // delivers data back to it synchronously (as a socket never does).
  const flush = (): void => {
    const bytes = addon.pull(session);
    if (bytes) setImmediate(() => serverEnd.write(bytes));
  };
  serverEnd.on('data', (chunk: Buffer) => setImmediate(() => serve(chunk)));
  const serve = (chunk: Buffer): void => {
    const n = addon.feed(session, chunk, 4096);
    for (let i = 0; i < n; i++) {
      const at = i * batch.stride;
      const method = ['', 'GET', 'POST', 'HEAD', 'OPTIONS'][batch.meta[at + 3]!]!;
      const a = answer(method, slot(at, 1));
      const nv = a.headers.flat();
      if (nv.length > addon.MAX_NV_ARGS) addon.respond(session, batch.meta[at]!, a.status, a.body, method === 'HEAD', -1, nv);
      else addon.respond(session, batch.meta[at]!, a.status, a.body, method === 'HEAD', nv.length, ...nv);
    }
    flush();
  };
  serverEnd.on('close', () => addon.close(session));
  flush();
  return connect('http://in-memory', { createConnection: () => clientEnd });
}

function get(client: ClientHttp2Session, path: string, method = 'GET'): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = client.request({ ':method': method, ':path': path });
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    s.on('response', (h) => (headers = h));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
    s.on('error', reject);
  });
}

test('native/h2-session: 20 response headers (the array form), a 300 KB body past the 64 KB window, HEAD without a body', async (t) => {
  const many = Array.from({ length: 20 }, (_, i): [string, string] => [`x-header-${i}`, `value ${i}`.repeat(i + 1)]);
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const client = pair((method, path) => {
    if (path === '/many') return { status: 203, headers: many, body: 'many' };
    if (path === '/big') return { status: 200, headers: [['content-type', 'application/octet-stream']], body: big };
    return { status: 404, headers: [], body: `no ${method} ${path}` };
  });
  t.teardown(() => client.destroy());

  const m = await get(client, '/many');
  t.is(Number(m.headers[':status']), 203);
  for (const [name, value] of many) t.is(m.headers[name], value, name);
  t.is(m.body.toString(), 'many');

  const b = await get(client, '/big');
  t.is(b.headers['content-length'], '300000');
  t.true(b.body.equals(big), 'the whole body, in order');

  const h = await get(client, '/big', 'HEAD');
  t.is(h.headers['content-length'], '300000');
  t.is(h.body.length, 0);

  const n = await get(client, '/nothing');
  t.is(Number(n.headers[':status']), 404);
  t.is(n.body.toString(), 'no GET /nothing');
});
