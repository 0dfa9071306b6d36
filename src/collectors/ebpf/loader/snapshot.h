/* Periodic snapshots of the gateway map: the entries changed since the last snapshot (with what
 * the count log counted for them), the entries gone from it (LRU eviction: nothing else deletes),
 * and the global counters. */
#ifndef DRIAD_SNAPSHOT_H
#define DRIAD_SNAPSHOT_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

struct snapshotter;
struct count_log;

struct ring_buffer;

/* log: the count log whose Data counts the snapshots add to the map's entries, or NULL; events:
 * the ring buffer, read after each walk so that its events precede the lines that count them. */
struct snapshotter *snapshotter_new(int gateways_fd, int stats_fd, uint32_t map_size, struct count_log *log,
				    struct ring_buffer *events);
void snapshotter_free(struct snapshotter *s);
/* Writes one snapshot; full = every entry, not only the changed ones. 0, or -errno. */
int snapshot_write(struct snapshotter *s, FILE *out, int full, const volatile __u64 *entries_created);

#endif
