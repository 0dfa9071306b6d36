import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** An HTTP/2 session to driad's DoH listener, trusting the certificate it serves. */
export function h2session(port: number, ca: Buffer | string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${port}`, { ca });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** One request on a session; resolves with status, headers (lowercase, strings) and the whole body. */
export function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string, timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ...headers }, { endStream: body === undefined });
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer within ${timeoutMs} ms to ${String(headers[':path'])}`));
    }, timeoutMs);
    let head: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ status: Number(head[':status']), headers: flat(head), body: Buffer.concat(chunks) });
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== undefined) stream.end(body);
  });
}

/** HTTP/1.1 over TLS (ALPN http/1.1) to the DoH listener. */
export function https1(port: number, ca: Buffer | string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<HttpAnswer & { alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, method, path, headers, ca, ALPNProtocols: ['http/1.1'], agent: false, timeout: 5000 };
    const req = httpsRequest(options as unknown as Parameters<typeof httpsRequest>[0], (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const alpn = (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol;
        resolve({ status: res.statusCode ?? 0, headers: flat(res.headers), body: Buffer.concat(chunks), alpn });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function flat(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

export const b64url = (b: Buffer): string => b.toString('base64url');
