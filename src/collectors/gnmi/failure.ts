/**
 * Every way a gNMI session fails, as one kind (a metric label and a bad-input kind) and a reason
 * (the start of the health signal's reason, what explain shows).
 */
import * as grpc from '@grpc/grpc-js';

export type FailureKind =
  | 'auth' // UNAUTHENTICATED, PERMISSION_DENIED
  | 'tls' // handshake failed: certificate expired, wrong CA, wrong name, client certificate refused
  | 'unreachable' // no connection (refused, reset, no route)
  | 'timeout' // a deadline passed
  | 'credentials' // our own files: certificate, key, CA, password secret
  | 'rejected' // the target refused the subscription (INVALID_ARGUMENT, NOT_FOUND, ...)
  | 'refused-stream' // STREAM not supported: fall back to POLL
  | 'stream-ended' // the target ended the RPC with status OK
  | 'stream-error' // the RPC ended with another error status
  | 'silence' // nothing within 3 expected intervals
  | 'no-sync' // updates, but no sync_response in time
  | 'undecodable' // nothing readable in an interval
  | 'resync'; // not a failure: subscribing again after dropped responses

export interface Failure {
  kind: FailureKind;
  /** A few words, for the signal's reason. */
  reason: string;
  /** One line with the details, for the log and the status. */
  detail: string;
  code?: grpc.status;
}

export const REASONS: Readonly<Record<FailureKind, string>> = {
  auth: 'gNMI auth failed',
  tls: 'gNMI TLS handshake failed',
  unreachable: 'gNMI target unreachable',
  timeout: 'gNMI target did not answer in time',
  credentials: 'gNMI credentials unusable',
  rejected: 'gNMI subscription rejected',
  'refused-stream': 'gNMI target refused STREAM',
  'stream-ended': 'gNMI stream ended',
  'stream-error': 'gNMI stream failed',
  silence: 'gNMI target silent',
  'no-sync': 'gNMI sync_response missing',
  undecodable: 'gNMI undecodable values',
  resync: 'gNMI resubscribing',
};

const TLS_TEXT = /certificate|handshake|\bssl\b|\btls|alert|self[- ]signed|unable to verify|altname|ERR_SSL|wrong version number|CERT_/i;

export function failure(kind: FailureKind, detail: string, code?: grpc.status): Failure {
  const f: Failure = { kind, reason: REASONS[kind], detail };
  if (code !== undefined) f.code = code;
  return f;
}

/** A gRPC error from `rpc` (Capabilities, Subscribe, ...) as a failure. */
export function grpcFailure(err: unknown, rpc: string): Failure {
  const e = err as Partial<grpc.ServiceError>;
  const code = typeof e.code === 'number' ? e.code : grpc.status.UNKNOWN;
  const name = grpc.status[code] ?? String(code);
  const text = (e.details || e.message || 'no details').replace(/\s+/g, ' ').slice(0, 300);
  const detail = `${rpc}: ${name}: ${text}`;
  switch (code) {
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return failure('auth', detail, code);
    case grpc.status.DEADLINE_EXCEEDED:
      return failure('timeout', detail, code);
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.INTERNAL:
    case grpc.status.UNKNOWN:
      if (TLS_TEXT.test(text)) return failure('tls', detail, code);
      return failure(code === grpc.status.UNAVAILABLE ? 'unreachable' : 'stream-error', detail, code);
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.NOT_FOUND:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.OUT_OF_RANGE:
    case grpc.status.UNIMPLEMENTED:
      return failure('rejected', detail, code);
    default:
      return failure('stream-error', detail, code);
  }
}
