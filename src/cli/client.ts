import { request } from 'undici';

/** GETs a JSON document from a running driad; throws one clear line on any failure. */
export async function getJson(server: string, path: string): Promise<unknown> {
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  let res;
  try {
    res = await request(url, { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach driad at ${url.origin}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url.origin}${url.pathname}: HTTP ${res.statusCode}, not JSON`);
  }
  if (res.statusCode !== 200) {
    const message = (body as { error?: string }).error ?? `HTTP ${res.statusCode}`;
    throw new Error(message);
  }
  return body;
}
