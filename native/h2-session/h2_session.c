// The HTTP/2 protocol engine of the DoH listener on h2 connections: one libnghttp2 server session
// per connection, driven by memory only (no I/O here). JavaScript keeps the TLS socket, feeds
// what it reads, answers the completed requests and writes what pull() returns, once per batch.
// nghttp2 does the framing, HPACK, flow control and its flood protections (rapid reset included).
//
//   setup(slab: Buffer, meta: Int32Array) once: where batches of requests are written
//   create(maxConcurrentStreams, maxHeaderBytes, resetBurst, resetRate, state: Int32Array) -> session
//   feed(session, bytes, maxBody) -> requests completed (>= 0), or a fatal nghttp2 error (< 0)
//   drain(session) -> more of them, while state[S_MORE] > 0
//   expire(session, olderThanMs) -> requests whose body has waited too long (flag 408)
//   respond(session, streamId, status, body: Buffer | string, head, nvCount, name0, value0, ...)
//     -> 0 or < 0; up to MAX_NV_ARGS names and values as arguments, or nvCount -1 and an array
//   reset(session, streamId, code); goaway(session, code)
//   pull(session) -> Buffer to write, or undefined
//   lastError(session) -> string; close(session)
// Request i of a batch is META ints at meta[META * i]: stream id, flag (0, or 413, 408, 431 when
// refused before DohService sees it), a bit per slot present, the method as an M_ code, then an
// offset and a length in the slab for each of the SLOTS (the FIELDS, then the body). No N-API call
// per request: JavaScript makes the strings it reads from the slab. The slab and meta are one per
// process (a batch is read before the next feed); `state` is per session, see the S_ indices.

#include <nghttp2/nghttp2.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { F_METHOD, F_PATH, F_CONTENT_TYPE, F_ACCEPT, F_ORIGIN, F_XFF, F_FORWARDED, F_ACRM, F_ACRH, NFIELDS };
static const char *const FIELD_NAMES[NFIELDS] = {
    ":method", ":path", "content-type", "accept", "origin", "x-forwarded-for", "forwarded",
    "access-control-request-method", "access-control-request-headers",
};
#define SLOTS (NFIELDS + 1)
#define META (4 + 2 * SLOTS)
#define MAX_BATCH 128
enum { S_WAITING, S_GOAWAY, S_INVALID, S_REFUSED, S_DONE, S_ERRORS, S_MORE };
#define STATE_SIZE 8
enum { M_OTHER, M_GET, M_POST, M_HEAD, M_OPTIONS };
#define MAX_NV 32
#define MAX_NV_ARGS 16
#define NV_SCRATCH 65536 /* more than a header list of doh.maxHeaderBytes echoed back */
/* Streams kept for reuse per session, and the largest buffers they keep. */
#define SPARE_STREAMS 16
#define SPARE_BUF 512

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

typedef struct stream {
  int32_t id;
  buf_t field[NFIELDS];
  buf_t body;
  uint32_t present;
  int32_t method;
  size_t header_bytes;
  int64_t declared; /* content-length, -1 when absent */
  int64_t begun_ms;
  int flag;
  int waiting; /* headers in, body not complete */
  int ready;   /* complete: queued for, or handed to, JavaScript */
  uint8_t *out;
  size_t out_len, out_off;
  struct stream *prev, *next;
} stream_t;

typedef struct {
  nghttp2_session *ng;
  stream_t *streams;
  stream_t *spare;
  int nspare;
  int32_t *ready;
  size_t nready, ready_cap;
  size_t max_header_bytes, max_body;
  int32_t *state;
  napi_ref state_ref;
  buf_t out;
  char err[256];
} session_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int buf_append(buf_t *b, const void *data, size_t len) {
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + len) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, len);
  b->len += len;
  return 0;
}

static void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static void stream_destroy(stream_t *st) {
  for (int i = 0; i < NFIELDS; i++) buf_free(&st->field[i]);
  buf_free(&st->body);
  free(st->out);
  free(st);
}

/* Unlinks a stream and keeps it, with its small buffers, for the next one (malloc was ~5% of the cost). */
static void stream_free(session_t *s, stream_t *st) {
  if (st->prev) st->prev->next = st->next;
  else s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  if (st->waiting && s->state) s->state[S_WAITING]--;
  if (s->nspare >= SPARE_STREAMS || !s->state) {
    stream_destroy(st);
    return;
  }
  for (int i = 0; i < NFIELDS; i++) {
    if (st->field[i].cap > SPARE_BUF) buf_free(&st->field[i]);
    st->field[i].len = 0;
  }
  if (st->body.cap > SPARE_BUF) buf_free(&st->body);
  st->body.len = 0;
  free(st->out);
  buf_t field[NFIELDS], body = st->body;
  memcpy(field, st->field, sizeof field);
  memset(st, 0, sizeof *st);
  memcpy(st->field, field, sizeof field);
  st->body = body;
  st->next = s->spare;
  s->spare = st;
  s->nspare++;
}

static stream_t *stream_new(session_t *s) {
  stream_t *st = s->spare;
  if (!st) return calloc(1, sizeof(stream_t));
  s->spare = st->next;
  s->nspare--;
  st->next = NULL;
  return st;
}

static void make_ready(session_t *s, stream_t *st) {
  if (st->ready) return;
  st->ready = 1;
  if (st->waiting) {
    st->waiting = 0;
    s->state[S_WAITING]--;
  }
  if (s->nready == s->ready_cap) {
    size_t cap = s->ready_cap ? s->ready_cap * 2 : 64;
    int32_t *r = realloc(s->ready, cap * sizeof *r);
    if (!r) return; /* the stream stays open until the client or the idle timeout ends it */
    s->ready = r;
    s->ready_cap = cap;
  }
  s->ready[s->nready++] = st->id;
}

static stream_t *stream_of(session_t *s, int32_t id) {
  return id > 0 ? nghttp2_session_get_stream_user_data(s->ng, id) : NULL;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  session_t *s = user;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  stream_t *st = stream_new(s);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  st->id = frame->hd.stream_id;
  st->declared = -1;
  st->begun_ms = now_ms();
  st->next = s->streams;
  if (s->streams) s->streams->prev = st;
  s->streams = st;
  nghttp2_session_set_stream_user_data(ng, st->id, st);
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
  session_t *s = user;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  stream_t *st = stream_of(s, frame->hd.stream_id);
  if (!st || st->flag) return 0;
  // SETTINGS_MAX_HEADER_LIST_SIZE is advisory to the peer; enforce it (RFC 9113 §6.5.2: 32 octets per field).
  st->header_bytes += namelen + valuelen + 32;
  if (st->header_bytes > s->max_header_bytes) {
    st->flag = 431;
    st->present = 0;
    return 0;
  }
  if (namelen == 14 && memcmp(name, "content-length", 14) == 0) {
    int64_t n = 0;
    for (size_t i = 0; i < valuelen && n < INT32_MAX; i++) n = n * 10 + (value[i] - '0');
    st->declared = n;
    return 0;
  }
  if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
    static const struct { const char *name; size_t len; int32_t code; } methods[] = {
        {"GET", 3, M_GET}, {"POST", 4, M_POST}, {"HEAD", 4, M_HEAD}, {"OPTIONS", 7, M_OPTIONS}};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
      if (valuelen == methods[m].len && memcmp(value, methods[m].name, valuelen) == 0) {
        st->method = methods[m].code;
        return 0;
      }
    }
  }
  for (int i = 0; i < NFIELDS; i++) {
    const char *want = FIELD_NAMES[i];
    if (strlen(want) != namelen || memcmp(want, name, namelen) != 0) continue;
    buf_t *b = &st->field[i];
    if ((st->present & (1u << i)) && buf_append(b, ", ", 2)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (buf_append(b, value, valuelen)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    st->present |= 1u << i;
    return 0;
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  session_t *s = user;
  stream_t *st = stream_of(s, frame->hd.stream_id);
  if (!st || st->ready) return 0;
  int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (st->flag || end) return make_ready(s, st), 0;
      if (st->declared > (int64_t)s->max_body) {
        st->flag = 413;
        return make_ready(s, st), 0;
      }
      st->waiting = 1;
      s->state[S_WAITING]++;
    } else if (end) {
      make_ready(s, st); /* trailers */
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end) {
    make_ready(s, st);
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user) {
  session_t *s = user;
  stream_t *st = stream_of(s, id);
  if (!st || st->ready) return 0;
  if (st->body.len + len > s->max_body) {
    st->flag = 413;
    st->body.len = 0;
    make_ready(s, st);
    return 0;
  }
  return buf_append(&st->body, data, len) ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user) {
  session_t *s = user;
  stream_t *st = stream_of(s, id);
  if (st) {
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    stream_free(s, st);
  }
  return 0;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int code, void *user) {
  session_t *s = user;
  s->state[S_INVALID]++;
  snprintf(s->err, sizeof s->err, "frame type %d refused: %s", frame->hd.type, nghttp2_strerror(code));
  return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  session_t *s = user;
  // A response sent before the request's end (408, 413, 431): end the stream rather than leave it
  // half-closed (RFC 9113 §8.1). CANCEL, as node:http2 does: Node's client keeps a stream reset
  // with NO_ERROR open on its side.
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      frame->hd.stream_id > 0 && nghttp2_session_get_stream_remote_close(ng, frame->hd.stream_id) == 0)
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_CANCEL);
  if (frame->hd.type == NGHTTP2_GOAWAY) s->state[S_GOAWAY] = (int32_t)frame->goaway.error_code + 1;
  else if (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) s->state[S_REFUSED]++;
  return 0;
}

static int on_error(nghttp2_session *ng, int code, const char *msg, size_t len, void *user) {
  session_t *s = user;
  s->state[S_ERRORS]++;
  snprintf(s->err, sizeof s->err, "%.*s", (int)len, msg);
  return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *source, void *user) {
  stream_t *st = source->ptr;
  size_t n = st->out_len - st->out_off;
  if (n > length) n = length;
  memcpy(buf, st->out + st->out_off, n);
  st->out_off += n;
  if (st->out_off == st->out_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static nghttp2_session_callbacks *callbacks;
typedef struct batch batch_t;
static batch_t *batch_of(napi_env env);

static void session_release(session_t *s, napi_env env) {
  if (s->ng) {
    nghttp2_session_del(s->ng); /* frees the streams through on_stream_close */
    s->ng = NULL;
  }
  while (s->streams) {
    stream_t *st = s->streams;
    s->streams = st->next;
    stream_destroy(st);
  }
  while (s->spare) {
    stream_t *st = s->spare;
    s->spare = st->next;
    stream_destroy(st);
  }
  s->nspare = 0;
  free(s->ready);
  s->ready = NULL;
  s->nready = s->ready_cap = 0;
  buf_free(&s->out);
  if (s->state_ref && env) {
    napi_delete_reference(env, s->state_ref);
    s->state_ref = NULL;
  }
  s->state = NULL;
}

static void session_finalize(napi_env env, void *data, void *hint) {
  session_t *s = data;
  session_release(s, env);
  free(s);
}

#define CHECK(call)                                    \
  do {                                                 \
    if ((call) != napi_ok) {                           \
      napi_throw_error(env, NULL, "h2-session: " #call); \
      return NULL;                                     \
    }                                                  \
  } while (0)

static napi_value int32(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static session_t *session_arg(napi_env env, napi_value v) {
  session_t *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok) return NULL;
  return s && s->ng ? s : NULL;
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t streams, header_bytes, burst, rate;
  CHECK(napi_get_value_uint32(env, argv[0], &streams));
  CHECK(napi_get_value_uint32(env, argv[1], &header_bytes));
  CHECK(napi_get_value_uint32(env, argv[2], &burst));
  CHECK(napi_get_value_uint32(env, argv[3], &rate));
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[4], &type, &length, &data, NULL, NULL));
  if (type != napi_int32_array || length < STATE_SIZE) {
    napi_throw_type_error(env, NULL, "h2-session: state must be an Int32Array of STATE_SIZE");
    return NULL;
  }
  if (!batch_of(env)) {
    napi_throw_error(env, NULL, "h2-session: setup() first");
    return NULL;
  }
  session_t *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->max_header_bytes = header_bytes;
  s->state = data;
  memset(s->state, 0, STATE_SIZE * sizeof(int32_t));
  CHECK(napi_create_reference(env, argv[4], 1, &s->state_ref));
  nghttp2_option *opt;
  nghttp2_option_new(&opt);
  // Rapid reset (CVE-2023-44487): a token bucket of RST_STREAMs received; past it, GOAWAY.
  nghttp2_option_set_stream_reset_rate_limit(opt, burst, rate);
  int rv = nghttp2_session_server_new2(&s->ng, callbacks, s, opt);
  nghttp2_option_del(opt);
  if (rv != 0) {
    free(s);
    napi_throw_error(env, NULL, nghttp2_strerror(rv));
    return NULL;
  }
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, header_bytes},
  };
  nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, 2);
  napi_value out;
  CHECK(napi_create_external(env, s, session_finalize, NULL, &out));
  return out;
}

struct batch {
  uint8_t *slab;
  size_t slab_len;
  int32_t *meta;
  napi_ref refs[2];
};

static batch_t *batch_of(napi_env env) {
  batch_t *b = NULL;
  napi_get_instance_data(env, (void **)&b);
  return b;
}

static void batch_finalize(napi_env env, void *data, void *hint) {
  batch_t *b = data;
  for (int i = 0; i < 2; i++) napi_delete_reference(env, b->refs[i]);
  free(b);
}

static napi_value js_setup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (batch_of(env)) return NULL;
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  void *slab;
  CHECK(napi_get_buffer_info(env, argv[0], &slab, &b->slab_len));
  b->slab = slab;
  napi_typedarray_type type;
  size_t length;
  void *meta;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &meta, NULL, NULL));
  if (type != napi_int32_array || length < META * MAX_BATCH) {
    free(b);
    napi_throw_type_error(env, NULL, "h2-session: meta must be an Int32Array of META * MAX_BATCH");
    return NULL;
  }
  b->meta = meta;
  CHECK(napi_create_reference(env, argv[0], 1, &b->refs[0]));
  CHECK(napi_create_reference(env, argv[1], 1, &b->refs[1]));
  CHECK(napi_set_instance_data(env, b, batch_finalize, NULL));
  return NULL;
}

/* Writes ready requests into the slab and meta, as many as fit (state[S_MORE]: how many wait). */
static int32_t hand_over(napi_env env, session_t *s) {
  batch_t *b = batch_of(env);
  int32_t n = 0;
  size_t r = 0, at = 0;
  for (; r < s->nready && n < MAX_BATCH; r++) {
    stream_t *st = stream_of(s, s->ready[r]);
    if (!st) continue; /* reset by the client meanwhile */
    size_t need = st->body.len;
    for (int i = 0; i < NFIELDS; i++) need += st->field[i].len;
    if (at + need > b->slab_len) {
      if (n > 0) break; /* the rest in the next batch */
      st->flag = 431;   /* cannot happen: the slab holds maxHeaderBytes and the largest body */
      st->present = 0;
      st->body.len = 0;
    }
    int32_t *meta = b->meta + META * n;
    uint32_t present = st->present;
    for (int i = 0; i < SLOTS; i++) {
      buf_t *f = i < NFIELDS ? &st->field[i] : &st->body;
      if (i == NFIELDS && f->len) present |= 1u << NFIELDS;
      if (!(present & (1u << i))) continue;
      if (f->len) memcpy(b->slab + at, f->p, f->len);
      meta[4 + 2 * i] = (int32_t)at;
      meta[5 + 2 * i] = (int32_t)f->len;
      at += f->len;
      f->len = 0;
    }
    st->present = 0;
    meta[0] = st->id;
    meta[1] = st->flag;
    meta[2] = (int32_t)present;
    meta[3] = st->method;
    n++;
  }
  memmove(s->ready, s->ready + r, (s->nready - r) * sizeof *s->ready);
  s->nready -= r;
  s->state[S_MORE] = (int32_t)s->nready;
  return n;
}

static napi_value js_drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, 0);
  return int32(env, hand_over(env, s));
}

static napi_value js_feed(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, NGHTTP2_ERR_INVALID_STATE);
  void *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  uint32_t max_body;
  CHECK(napi_get_value_uint32(env, argv[2], &max_body));
  s->max_body = max_body;
  ssize_t rv = nghttp2_session_mem_recv(s->ng, data, len);
  if (rv < 0) {
    snprintf(s->err, sizeof s->err, "%s", nghttp2_strerror((int)rv));
    if (rv != NGHTTP2_ERR_FLOODED) nghttp2_session_terminate_session(s->ng, NGHTTP2_PROTOCOL_ERROR);
    s->nready = 0;
    return int32(env, (int32_t)rv);
  }
  return int32(env, hand_over(env, s));
}

static napi_value js_expire(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, 0);
  int64_t older;
  CHECK(napi_get_value_int64(env, argv[1], &older));
  int64_t limit = now_ms() - older;
  for (stream_t *st = s->streams; st; st = st->next) {
    if (st->waiting && st->begun_ms <= limit) {
      st->flag = 408;
      st->body.len = 0;
      make_ready(s, st);
    }
  }
  return int32(env, hand_over(env, s));
}

/* Decimal digits of v into out; returns their count. */
static size_t decimal(char *out, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static napi_value js_respond(napi_env env, napi_callback_info info) {
  size_t argc = 6 + MAX_NV_ARGS;
  napi_value argv[6 + MAX_NV_ARGS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return int32(env, NGHTTP2_ERR_INVALID_ARGUMENT);
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, NGHTTP2_ERR_INVALID_STATE);
  int32_t id, status, count;
  bool head;
  CHECK(napi_get_value_int32(env, argv[1], &id));
  CHECK(napi_get_value_int32(env, argv[2], &status));
  CHECK(napi_get_value_bool(env, argv[4], &head));
  CHECK(napi_get_value_int32(env, argv[5], &count));
  stream_t *st = stream_of(s, id);
  if (!st) return int32(env, NGHTTP2_ERR_STREAM_CLOSED);
  if (st->out) return int32(env, NGHTTP2_ERR_INVALID_STATE);

  // The body first: a Buffer is copied, a string is written as UTF-8; kept until nghttp2 has sent it.
  napi_valuetype kind;
  CHECK(napi_typeof(env, argv[3], &kind));
  size_t blen = 0;
  if (kind == napi_string) {
    CHECK(napi_get_value_string_utf8(env, argv[3], NULL, 0, &blen));
    if (blen) {
      st->out = malloc(blen + 1);
      if (!st->out) return int32(env, NGHTTP2_ERR_NOMEM);
      CHECK(napi_get_value_string_utf8(env, argv[3], (char *)st->out, blen + 1, &blen));
    }
  } else {
    void *data;
    CHECK(napi_get_buffer_info(env, argv[3], &data, &blen));
    if (blen) {
      st->out = malloc(blen);
      if (!st->out) return int32(env, NGHTTP2_ERR_NOMEM);
      memcpy(st->out, data, blen);
    }
  }
  st->out_len = blen;

  static char scratch[NV_SCRATCH];
  nghttp2_nv nva[MAX_NV + 2];
  size_t used = 0, n = 0;
  char status_text[12], length_text[24];
  size_t sl = decimal(status_text, status > 0 ? (uint64_t)status : 0);
  size_t ll = decimal(length_text, blen);
  nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status_text, 7, sl, NGHTTP2_NV_FLAG_NONE};
  nva[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)length_text, 14, ll, NGHTTP2_NV_FLAG_NONE};
  napi_value array = NULL;
  uint32_t total;
  if (count < 0) {
    if (argc < 7) return int32(env, NGHTTP2_ERR_INVALID_ARGUMENT);
    array = argv[6];
    CHECK(napi_get_array_length(env, array, &total));
  } else {
    total = (uint32_t)count;
    if (total > argc - 6) total = (uint32_t)(argc - 6);
  }
  if (total > 2 * MAX_NV) total = 2 * MAX_NV;
  for (uint32_t i = 0; i + 1 < total; i += 2) {
    size_t lens[2];
    char *at[2];
    for (int j = 0; j < 2; j++) {
      napi_value v = argv[6 + i + j];
      if (array) CHECK(napi_get_element(env, array, i + j, &v));
      at[j] = scratch + used;
      if (napi_get_value_string_latin1(env, v, at[j], NV_SCRATCH - used, &lens[j]) != napi_ok) return int32(env, NGHTTP2_ERR_INVALID_ARGUMENT);
      used += lens[j] + 1;
      if (used >= NV_SCRATCH) return int32(env, NGHTTP2_ERR_INVALID_ARGUMENT);
    }
    nva[n++] = (nghttp2_nv){(uint8_t *)at[0], (uint8_t *)at[1], lens[0], lens[1], NGHTTP2_NV_FLAG_NONE};
  }
  nghttp2_data_provider provider = {.source = {.ptr = st}, .read_callback = read_body};
  int rv = nghttp2_submit_response(s->ng, id, nva, n, blen && !head ? &provider : NULL);
  return int32(env, rv);
}

static napi_value js_reset(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, 0);
  int32_t id;
  uint32_t code;
  CHECK(napi_get_value_int32(env, argv[1], &id));
  CHECK(napi_get_value_uint32(env, argv[2], &code));
  return int32(env, nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, id, code));
}

static napi_value js_goaway(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = session_arg(env, argv[0]);
  if (!s) return int32(env, 0);
  uint32_t code;
  CHECK(napi_get_value_uint32(env, argv[1], &code));
  return int32(env, nghttp2_session_terminate_session(s->ng, code));
}

static napi_value js_pull(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_value undef;
  napi_get_undefined(env, &undef);
  session_t *s = session_arg(env, argv[0]);
  if (!s) return undef;
  s->out.len = 0;
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(s->ng, &data);
    if (n < 0) {
      snprintf(s->err, sizeof s->err, "%s", nghttp2_strerror((int)n));
      s->state[S_DONE] = 1;
      break;
    }
    if (n == 0) break;
    if (buf_append(&s->out, data, (size_t)n)) break;
  }
  if (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng)) s->state[S_DONE] = 1;
  if (s->out.len == 0) return undef;
  napi_value out;
  CHECK(napi_create_buffer_copy(env, s->out.len, s->out.p, NULL, &out));
  if (s->out.cap > 16384) buf_free(&s->out); /* a burst does not pin its buffer for the connection's life */
  return out;
}

static napi_value js_last_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = NULL;
  napi_get_value_external(env, argv[0], (void **)&s);
  napi_value out;
  CHECK(napi_create_string_utf8(env, s ? s->err : "", NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&s) == napi_ok && s) session_release(s, env);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  if (!callbacks) {
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_invalid_frame);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
  }
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"setup", js_setup}, {"create", js_create}, {"feed", js_feed}, {"drain", js_drain}, {"expire", js_expire}, {"respond", js_respond}, {"reset", js_reset},
      {"goaway", js_goaway}, {"pull", js_pull}, {"lastError", js_last_error}, {"close", js_close},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(napi_set_named_property(env, exports, fns[i].name, f));
  }
  napi_value v;
  static const struct { const char *name; int32_t value; } ints[] = {
      {"SLOTS", SLOTS}, {"META", META}, {"MAX_BATCH", MAX_BATCH}, {"STATE_SIZE", STATE_SIZE}, {"MAX_NV_ARGS", MAX_NV_ARGS}};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    CHECK(napi_create_int32(env, ints[i].value, &v));
    CHECK(napi_set_named_property(env, exports, ints[i].name, v));
  }
  CHECK(napi_create_string_utf8(env, nghttp2_version(0)->version_str, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, exports, "nghttp2Version", v));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
