/*
 * The bench's sender: replays the frames frames.ts wrote out of a packet socket on IFNAME, as
 * fast as the path takes them (sendmmsg, 64 frames a call), for SECONDS. Built by run.sh into its
 * work dir. A packet socket rather than UDP sockets: one socket sends every gateway's address and
 * port, and the sender's own cost per packet stays small next to the receive path measured.
 *
 *   sender IFNAME SECONDS FRAMES_FILE
 *   prints: packets N seconds S errors E
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: sender IFNAME SECONDS FRAMES_FILE\n"); return 2; }
  double seconds = atof(argv[2]);
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); return 1; }
  struct stat st;
  fstat(fileno(f), &st);
  uint8_t *buf = malloc(st.st_size);
  if (!buf || fread(buf, 1, st.st_size, f) != (size_t)st.st_size) { fprintf(stderr, "cannot read %s\n", argv[3]); return 1; }
  fclose(f);

  size_t n = 0, cap = 1024;
  struct iovec *frames = malloc(cap * sizeof *frames);
  for (off_t off = 0; off + 2 <= st.st_size;) {
    size_t len = (size_t)buf[off] << 8 | buf[off + 1];
    if (off + 2 + (off_t)len > st.st_size) { fprintf(stderr, "truncated frames file\n"); return 1; }
    if (n == cap) frames = realloc(frames, (cap *= 2) * sizeof *frames);
    frames[n++] = (struct iovec){ buf + off + 2, len };
    off += 2 + len;
  }
  if (n == 0) { fprintf(stderr, "empty frames file\n"); return 1; }

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, nothing is received */
  if (fd < 0) { perror("socket(AF_PACKET)"); return 1; }
  struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = ETH_ALEN };
  if (!ll.sll_ifindex) { fprintf(stderr, "no interface %s\n", argv[1]); return 1; }
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) { perror("bind"); return 1; }

  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  uint64_t sent = 0, errors = 0;
  size_t next = 0;
  double start = now_s(), end = start + seconds, t = start;
  while (t < end) {
    for (int i = 0; i < BATCH; i++) {
      msgs[i].msg_hdr.msg_iov = &frames[next];
      msgs[i].msg_hdr.msg_iovlen = 1;
      next = next + 1 == n ? 0 : next + 1;
    }
    int r = sendmmsg(fd, msgs, BATCH, 0);
    if (r < 0) {
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) { perror("sendmmsg"); return 1; }
      errors++;
    } else {
      sent += (uint64_t)r;
      next = (next + n - (size_t)(BATCH - r)) % n;
    }
    t = now_s();
  }
  printf("packets %llu seconds %.3f errors %llu\n", (unsigned long long)sent, now_s() - start, (unsigned long long)errors);
  return 0;
}
