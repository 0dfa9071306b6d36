// Fetching JSON from driad's API. Every failure becomes an ApiError with a message fit to show.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * GET a JSON document. Resolves { body, serverNow } (serverNow from the Date header, for ages
 * measured on the server's clock, or null); rejects with ApiError on network failure, timeout,
 * a non-2xx status (using the API's { error } message when there is one) or a body that is not JSON.
 */
export async function getJson(path, { signal, timeoutMs = 10_000 } = {}) {
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res;
  try {
    res = await fetch(path, { signal: both, headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (timeout.aborted) throw new ApiError(`no answer from ${path} within ${timeoutMs / 1000} s`);
    throw new ApiError(`cannot reach driad (${err instanceof Error ? err.message : String(err)})`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(msg, res.status);
  }
  if (body === undefined) throw new ApiError(`${path} did not return JSON`, res.status);
  const date = Date.parse(res.headers.get('date') ?? '');
  return { body, serverNow: Number.isNaN(date) ? null : date };
}
