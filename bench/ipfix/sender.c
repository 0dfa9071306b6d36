/*
 * The bench's IPFIX load generator: replays the datagrams stream.ts wrote, over UDP to HOST:PORT,
 * at RATE flow records per second (0: as fast as it can) for SECONDS, with sendmmsg in batches.
 * The stream loops (each pass starts with the templates and the sampling options records again);
 * every datagram's Sequence Number is rewritten per observation domain so that it counts on across
 * passes (RFC 7011 §3.1), and its Export Time is the current time. Built by run.sh into its work dir.
 *
 *   sender HOST PORT RATE SECONDS STREAM_FILE
 *   prints: datagrams N flows F packets P seconds S errors E
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAX_DOMAINS 64

struct dgram { uint8_t *data; uint16_t length, flows, seqRecords; uint32_t packets; };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: sender HOST PORT RATE SECONDS STREAM_FILE\n"); return 2; }
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  FILE *f = fopen(argv[5], "rb");
  if (!f) { perror(argv[5]); return 1; }
  struct stat st;
  fstat(fileno(f), &st);
  uint8_t *buf = malloc(st.st_size);
  if (!buf || fread(buf, 1, st.st_size, f) != (size_t)st.st_size) { fprintf(stderr, "cannot read %s\n", argv[5]); return 1; }
  fclose(f);

  size_t n = 0, cap = 1024;
  struct dgram *d = malloc(cap * sizeof *d);
  for (off_t off = 0; off + 12 <= st.st_size;) {
    uint8_t *h = buf + off;
    if (n == cap) d = realloc(d, (cap *= 2) * sizeof *d);
    d[n] = (struct dgram){ h + 12, (uint16_t)(h[0] << 8 | h[1]), (uint16_t)(h[2] << 8 | h[3]), (uint16_t)(h[4] << 8 | h[5]), be32(h + 8) };
    off += 12 + d[n].length;
    if (off > st.st_size) { fprintf(stderr, "truncated stream file\n"); return 1; }
    n++;
  }
  if (n == 0) { fprintf(stderr, "empty stream file\n"); return 1; }

  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }

  uint32_t domains[MAX_DOMAINS], seq[MAX_DOMAINS];
  int ndomains = 0;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint64_t datagrams = 0, flows = 0, packets = 0, errors = 0;
  size_t next = 0;
  double start = now_s(), elapsed = 0;
  while ((elapsed = now_s() - start) < seconds) {
    if (rate > 0 && (double)flows >= rate * elapsed) continue; /* ahead of the rate: spin */
    uint32_t exportTime = (uint32_t)time(NULL);
    int k = 0;
    for (; k < BATCH; k++) {
      struct dgram *g = &d[(next + k) % n];
      uint32_t domain = be32(g->data + 12);
      int i = 0;
      while (i < ndomains && domains[i] != domain) i++;
      if (i == ndomains && ndomains < MAX_DOMAINS) { domains[ndomains] = domain; seq[ndomains++] = 0; }
      put32(g->data + 4, exportTime);
      put32(g->data + 8, seq[i]);
      seq[i] += g->seqRecords;
      iov[k] = (struct iovec){ g->data, g->length };
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(s, msgs, k, 0);
    if (sent < 0) {
      errors++;
      if (errno != ECONNREFUSED && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) { perror("sendmmsg"); return 1; }
      sent = 0;
    }
    /* Datagrams not sent get their sequence numbers again next time. */
    for (int j = sent; j < k; j++) {
      struct dgram *g = &d[(next + j) % n];
      uint32_t domain = be32(g->data + 12);
      for (int i = 0; i < ndomains; i++) if (domains[i] == domain) seq[i] -= g->seqRecords;
    }
    for (int j = 0; j < sent; j++) {
      struct dgram *g = &d[(next + j) % n];
      datagrams++;
      flows += g->flows;
      packets += g->packets;
    }
    next = (next + sent) % n;
  }
  printf("datagrams %llu flows %llu packets %llu seconds %.3f errors %llu\n", (unsigned long long)datagrams, (unsigned long long)flows,
         (unsigned long long)packets, elapsed, (unsigned long long)errors);
  return 0;
}
