/* The loader's side of the count log (../bpf/amt_tracker.h): reads the programs' rings through
 * mmap and adds the Data counts up per gateway, for the snapshots to add to the map's entries. */
#ifndef DRIAD_COUNT_LOG_H
#define DRIAD_COUNT_LOG_H

#include <stdint.h>
#include <stdio.h>
#include "../bpf/amt_tracker.h"

/* What the log counted for one gateway since its entry was first seen by the loader. */
struct log_counts {
	struct amt_gw_key key;
	struct amt_count data;  /* AMT_SLOT_DATA */
	struct amt_count wrong; /* AMT_SLOT_WRONG_DIRECTION */
	uint64_t first_ns, last_ns; /* monotonic, when the loader read its first and latest record */
	uint64_t in_map_seq;  /* the last snapshot that found the gateway in the map */
	uint8_t hook;         /* of its latest record: 0 XDP, 1 tc */
};

struct count_log;

struct count_log_maps {
	int ctl_fd, log_fd;   /* log_ctl and count_log */
	uint32_t rings, records; /* rings, and records per ring */
	int gateways_fd;      /* the gateway map, where a gateway first seen here gets its entry */
	uint32_t map_size;    /* its capacity: at most this many gateways are held here too */
	volatile __u64 *entries_created; /* the programs' creation count (.bss), shared with them */
	FILE *events;         /* where an entry created past capacity is announced, as the programs do */
};

struct count_log *count_log_new(const struct count_log_maps *m);
void count_log_free(struct count_log *l);

/* Reads every ring up to its head. Returns the records read; *busy is set when a ring held more
 * than a quarter of its capacity (read again soon). */
uint64_t count_log_drain(struct count_log *l, int *busy);

struct log_counts *count_log_find(struct count_log *l, const struct amt_gw_key *k);

/* After a snapshot's walk of the map (snapshot `seq`, begun at `began`, which marked what it
 * found): a gateway the map no longer holds (LRU eviction) is forgotten with its counts, as its
 * entry was; its next record starts it again, with a new entry. One the log first saw during the
 * walk stays for the next (the walk may have passed where its entry went). */
void count_log_sweep(struct count_log *l, uint64_t seq, uint64_t began);

/* For the snapshot's stats. */
struct count_log_totals {
	uint64_t read;      /* records read */
	uint64_t untracked; /* records dropped: no room even after a compaction (the map failed a lookup) */
	uint64_t compactions; /* the table filled between sweeps and dropped what the map had evicted */
	uint64_t created;   /* entries the loader created */
	uint64_t evictions_at_capacity; /* of those, created with the map full by the count */
	uint64_t create_failures;
};
struct count_log_totals count_log_totals(const struct count_log *l);

#endif
