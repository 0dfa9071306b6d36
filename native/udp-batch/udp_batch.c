// Batched UDP for the DNS hot path: recvmmsg a batch of datagrams into a shared slab, let
// JavaScript answer the whole batch in one call, and sendmmsg the answers back. One crossing
// between C and JavaScript per batch instead of two per packet (see docs/architecture.md).
//
// JavaScript owns every buffer (so it reads queries and writes answers with no copies):
//   open(host, port, ipv6, slots, slotSize, inSlab, inLens, addrSlab, outSlab, outLens, onBatch)
//     -> { port, close() }
// onBatch(count) answers queries 0..count-1 and sets outLens[i] (0 = no answer).
// The returned object also has receiveBuffer(bytes?) -> bytes: with an argument it sets
// SO_RCVBUF (which the kernel caps at net.core.rmem_max); either way it returns what getsockopt
// reports (on Linux twice the size granted, the kernel's bookkeeping share included).
// A receive-only user (the IPFIX collector) leaves every outLens[i] at 0.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define ADDR_SIZE 32 /* room for a sockaddr_in6 per slot */
#define MAX_ROUNDS 16 /* batches per wakeup before yielding to the event loop */

typedef struct {
  napi_env env;
  int fd;
  uint32_t slots;
  uint32_t slot_size;
  uint8_t *in;
  uint32_t *in_lens;
  uint8_t *addrs;
  uint8_t *out;
  uint32_t *out_lens;
  napi_ref refs[5];
  napi_ref callback;
  uv_poll_t poll;
  struct mmsghdr *recv_hdrs;
  struct mmsghdr *send_hdrs;
  struct iovec *recv_iov;
  struct iovec *send_iov;
  uint32_t filled; /* slots the last recvmmsg filled */
  int closed;
  /* The poll handle and the close and receiveBuffer functions each hold s: freed after all three let go. */
  int holders;
} batch_socket;

static void release(batch_socket *s) {
  if (--s->holders == 0) free(s);
}

static void finalize_function(napi_env env, void *data, void *hint) {
  release((batch_socket *)data);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* The send headers' fixed fields (iov, no control data) are set once in open_socket. */
static void send_answers(batch_socket *s, uint32_t count) {
  uint32_t m = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t len = s->out_lens[i];
    if (len == 0 || len > s->slot_size) continue;
    s->send_iov[m].iov_base = s->out + (size_t)i * s->slot_size;
    s->send_iov[m].iov_len = len;
    struct msghdr *h = &s->send_hdrs[m].msg_hdr;
    h->msg_name = s->addrs + (size_t)i * ADDR_SIZE;
    h->msg_namelen = s->recv_hdrs[i].msg_hdr.msg_namelen;
    m++;
  }
  uint32_t sent = 0;
  while (sent < m) {
    int n = sendmmsg(s->fd, s->send_hdrs + sent, m - sent, MSG_DONTWAIT);
    if (n > 0) {
      sent += (uint32_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      sent++; /* a full socket buffer or an unreachable peer loses this answer, not the rest */
    }
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  batch_socket *s = (batch_socket *)handle->data;
  if (status < 0 || !(events & UV_READABLE) || s->closed) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, argv[1], result;
  napi_get_reference_value(env, s->callback, &cb);
  napi_get_global(env, &global);

  for (int round = 0; round < MAX_ROUNDS && !s->closed; round++) {
    /* The kernel rewrote msg_namelen of the slots the last batch filled; the rest is set once. */
    for (uint32_t i = 0; i < s->filled; i++) s->recv_hdrs[i].msg_hdr.msg_namelen = ADDR_SIZE;
    int n = recvmmsg(s->fd, s->recv_hdrs, s->slots, MSG_DONTWAIT, NULL);
    s->filled = n > 0 ? (uint32_t)n : 0;
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      /* A datagram larger than a slot arrives cut short; length 0 tells JavaScript to drop it. */
      s->in_lens[i] = (s->recv_hdrs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : s->recv_hdrs[i].msg_len;
      s->out_lens[i] = 0;
    }
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    napi_status st = napi_call_function(env, global, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    send_answers(s, (uint32_t)n);
    if ((uint32_t)n < s->slots) break;
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll_closed(uv_handle_t *handle) {
  batch_socket *s = (batch_socket *)handle->data;
  free(s->recv_hdrs);
  free(s->send_hdrs);
  free(s->recv_iov);
  free(s->send_iov);
  release(s);
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  void *data;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  batch_socket *s = (batch_socket *)data;
  if (s->closed) return NULL;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  for (int i = 0; i < 5; i++) napi_delete_reference(env, s->refs[i]);
  napi_delete_reference(env, s->callback);
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  return NULL;
}

static napi_value receive_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  batch_socket *s = (batch_socket *)data;
  if (s->closed) {
    napi_throw_error(env, NULL, "receiveBuffer(): socket is closed");
    return NULL;
  }
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_undefined) {
    uint32_t bytes;
    if (napi_get_value_uint32(env, argv[0], &bytes) != napi_ok || bytes > INT32_MAX) {
      napi_throw_range_error(env, NULL, "receiveBuffer(bytes): bytes must be an integer from 0 to 2^31 - 1");
      return NULL;
    }
    int value = (int)bytes;
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value) < 0) return throw_errno(env, "setsockopt SO_RCVBUF", errno);
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0) return throw_errno(env, "getsockopt SO_RCVBUF", errno);
  napi_value result;
  napi_create_uint32(env, (uint32_t)got, &result);
  return result;
}

static int buffer_arg(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_typed;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  size_t length;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) return 0;
  size_t elem = (type == napi_uint32_array) ? 4 : 1;
  *len = length * elem;
  return 1;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "open() takes 11 arguments");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + 1];
  size_t host_len;
  uint32_t port, slots, slot_size;
  bool ipv6;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_bool(env, argv[2], &ipv6) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &slots) != napi_ok || napi_get_value_uint32(env, argv[4], &slot_size) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(host: string, port: number, ipv6: boolean, slots: number, slotSize: number, ...)");
    return NULL;
  }
  void *in, *in_lens, *addrs, *out, *out_lens;
  size_t in_size, in_lens_size, addrs_size, out_size, out_lens_size;
  if (!buffer_arg(env, argv[5], &in, &in_size) || !buffer_arg(env, argv[6], &in_lens, &in_lens_size) ||
      !buffer_arg(env, argv[7], &addrs, &addrs_size) || !buffer_arg(env, argv[8], &out, &out_size) ||
      !buffer_arg(env, argv[9], &out_lens, &out_lens_size) || in_size < (size_t)slots * slot_size ||
      out_size < (size_t)slots * slot_size || addrs_size < (size_t)slots * ADDR_SIZE || in_lens_size < slots * 4u ||
      out_lens_size < slots * 4u) {
    napi_throw_range_error(env, NULL, "open(): buffers are missing or too small for slots x slotSize");
    return NULL;
  }
  napi_valuetype cb_type;
  napi_typeof(env, argv[10], &cb_type);
  if (cb_type != napi_function) {
    napi_throw_type_error(env, NULL, "open(): onBatch must be a function");
    return NULL;
  }

  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_storage sa;
  socklen_t sa_len;
  memset(&sa, 0, sizeof sa);
  if (ipv6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
      close(fd);
      napi_throw_error(env, NULL, "open(): bad IPv6 address");
      return NULL;
    }
    sa_len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
      close(fd);
      napi_throw_error(env, NULL, "open(): bad IPv4 address");
      return NULL;
    }
    sa_len = sizeof *a;
  }
  if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0) {
    int err = errno;
    close(fd);
    char what[96];
    snprintf(what, sizeof what, "bind %s port %u", host, port);
    return throw_errno(env, what, err);
  }
  sa_len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sa_len);
  uint16_t bound_port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&sa)->sin6_port : ((struct sockaddr_in *)&sa)->sin_port);

  batch_socket *s = calloc(1, sizeof *s);
  s->holders = 3;
  s->env = env;
  s->fd = fd;
  s->slots = slots;
  s->slot_size = slot_size;
  s->in = in;
  s->in_lens = in_lens;
  s->addrs = addrs;
  s->out = out;
  s->out_lens = out_lens;
  s->recv_hdrs = calloc(slots, sizeof *s->recv_hdrs);
  s->send_hdrs = calloc(slots, sizeof *s->send_hdrs);
  s->recv_iov = calloc(slots, sizeof *s->recv_iov);
  s->send_iov = calloc(slots, sizeof *s->send_iov);
  for (uint32_t i = 0; i < slots; i++) {
    s->recv_iov[i].iov_base = s->in + (size_t)i * slot_size;
    s->recv_iov[i].iov_len = slot_size;
    struct msghdr *h = &s->recv_hdrs[i].msg_hdr;
    h->msg_iov = &s->recv_iov[i];
    h->msg_iovlen = 1;
    h->msg_name = s->addrs + (size_t)i * ADDR_SIZE;
    h->msg_namelen = ADDR_SIZE;
    s->send_hdrs[i].msg_hdr.msg_iov = &s->send_iov[i];
    s->send_hdrs[i].msg_hdr.msg_iovlen = 1;
  }
  for (int i = 0; i < 5; i++) napi_create_reference(env, argv[5 + i], 1, &s->refs[i]);
  napi_create_reference(env, argv[10], 1, &s->callback);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);

  napi_value result, port_value, close_fn, rcvbuf_fn;
  napi_create_object(env, &result);
  napi_create_uint32(env, bound_port, &port_value);
  napi_set_named_property(env, result, "port", port_value);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, close_socket, s, &close_fn);
  napi_add_finalizer(env, close_fn, s, finalize_function, NULL, NULL);
  napi_set_named_property(env, result, "close", close_fn);
  napi_create_function(env, "receiveBuffer", NAPI_AUTO_LENGTH, receive_buffer, s, &rcvbuf_fn);
  napi_add_finalizer(env, rcvbuf_fn, s, finalize_function, NULL, NULL);
  napi_set_named_property(env, result, "receiveBuffer", rcvbuf_fn);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn, size;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_socket, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_uint32(env, ADDR_SIZE, &size);
  napi_set_named_property(env, exports, "ADDR_SIZE", size);
  return exports;
}
