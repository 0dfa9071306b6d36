/* A gateway's key in the loader's own tables (the snapshot's and the count log's). */
#ifndef DRIAD_GW_KEY_H
#define DRIAD_GW_KEY_H

#include <stdint.h>
#include <string.h>
#include "../bpf/amt_tracker.h"

static inline uint32_t gw_key_hash(const struct amt_gw_key *k)
{
	uint64_t a, b, c = 0;
	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	memcpy(&c, &k->port, 4);
	uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ ((b + c) * 0xc2b2ae3d27d4eb4full);
	return (uint32_t)(h ^ (h >> 29) ^ (h >> 47));
}

/* The key of a count-log record's gateway (the pad bytes zero, as the programs set them). */
static inline struct amt_gw_key gw_key_of_record(const struct amt_log_record *r)
{
	struct amt_gw_key k;
	memcpy(k.addr, r->addr, 16);
	k.port = r->port;
	k.pad = 0;
	return k;
}

#endif
