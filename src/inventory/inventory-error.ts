/**
 * Why one inventory poll failed. `kind` is the metric label and the rate-limiting key for the
 * log; `message` is the one line shown as `lastError`.
 */
export type InventoryErrorKind =
  | 'unreachable' // connection refused, reset, DNS failure: Traffic Ops is down or the URL is wrong
  | 'tls' // certificate or handshake problem (see tlsSkipVerify)
  | 'timeout' // no complete answer within timeoutMs
  | 'login-failed' // the login was refused (401) or gave no session cookie
  | 'unauthorized' // 401 again right after a fresh login
  | 'http-status' // any other unexpected HTTP status
  | 'too-large' // response body over the size limit
  | 'malformed-json' // the body is not JSON
  | 'wrong-shape' // JSON, but not the Traffic Ops envelope ({"response": [...]})
  | 'bad-server' // a server object we cannot use: no hostName, bad address, ...
  | 'aborted' // stop() was called; never recorded as a failure
  | 'internal'; // a bug: anything else thrown while polling

export class InventoryError extends Error {
  readonly kind: InventoryErrorKind;
  constructor(kind: InventoryErrorKind, message: string) {
    super(message);
    this.name = 'InventoryError';
    this.kind = kind;
  }
}
