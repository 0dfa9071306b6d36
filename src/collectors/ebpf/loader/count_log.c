#include "count_log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gw_key.h"
#include "json_out.h"

#define PREFETCH_AHEAD 8 /* how many records ahead a record's index slot is requested */

/* The gateways: a dense array (sweeps walk only what is there) and an open-addressing index of
 * positions in it, 0 for a free slot. */
struct count_log {
	struct count_log_maps m;
	struct amt_log_ctl *ctl;
	struct amt_log_record *records;
	size_t ctl_bytes, records_bytes;
	struct log_counts *entries;
	uint32_t live, cap; /* cap: twice the map's size, for gateways it evicted since the last sweep */
	uint32_t *index, mask;
	struct amt_gw_value *zero, *scratch; /* a new entry's value; a lookup's */
	struct count_log_totals totals;
	uint64_t sweep_began;
};

/* The index slot holding `k`, or the free one where it belongs. */
static uint32_t *slot_for(struct count_log *l, const struct amt_gw_key *k, uint32_t h)
{
	for (uint32_t i = h & l->mask;; i = (i + 1) & l->mask) {
		uint32_t *slot = &l->index[i];
		if (!*slot || memcmp(&l->entries[*slot - 1].key, k, sizeof(*k)) == 0)
			return slot;
	}
}

struct count_log *count_log_new(const struct count_log_maps *m)
{
	struct count_log *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	l->m = *m;
	l->ctl_bytes = ((size_t)m->rings * sizeof(struct amt_log_ctl) + page - 1) / page * page;
	l->records_bytes = ((size_t)m->rings * m->records * sizeof(struct amt_log_record) + page - 1) / page * page;
	l->ctl = mmap(NULL, l->ctl_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->ctl_fd, 0);
	l->records = mmap(NULL, l->records_bytes, PROT_READ, MAP_SHARED, m->log_fd, 0);
	l->zero = calloc(1, sizeof(*l->zero));
	l->scratch = calloc(1, sizeof(*l->scratch));
	l->cap = 2 * m->map_size;
	uint32_t slots = 16;
	while (slots < 2 * l->cap) /* at most half full: probes stay short, and a slot is always free */
		slots <<= 1;
	l->mask = slots - 1;
	/* Pages are touched only as gateways come: what is resident grows with them. */
	l->entries = calloc(l->cap, sizeof(*l->entries));
	l->index = calloc(slots, sizeof(*l->index));
	if (l->ctl == MAP_FAILED || l->records == MAP_FAILED || !l->zero || !l->scratch || !l->entries || !l->index) {
		count_log_free(l);
		return NULL;
	}
	return l;
}

void count_log_free(struct count_log *l)
{
	if (!l)
		return;
	if (l->ctl && l->ctl != MAP_FAILED)
		munmap(l->ctl, l->ctl_bytes);
	if (l->records && l->records != MAP_FAILED)
		munmap((void *)l->records, l->records_bytes);
	free(l->entries);
	free(l->index);
	free(l->zero);
	free(l->scratch);
	free(l);
}

/* Gives a gateway the log saw first its entry in the map, as the programs would have on its first
 * message: counted in entries_created, announced when the map was full by that count. */
static void create_entry(struct count_log *l, const struct log_counts *c, uint64_t now)
{
	l->zero->first_seen_ns = l->zero->last_seen_ns = now;
	if (bpf_map_update_elem(l->m.gateways_fd, &c->key, l->zero, BPF_NOEXIST)) {
		if (errno != EEXIST)
			l->totals.create_failures++;
		return;
	}
	l->totals.created++;
	uint64_t before = __atomic_fetch_add(l->m.entries_created, 1, __ATOMIC_SEQ_CST);
	if (before >= l->m.map_size) {
		l->totals.evictions_at_capacity++;
		struct amt_event e;
		memset(&e, 0, sizeof(e));
		e.ts_ns = now;
		e.gw = c->key;
		e.kind = AMT_EV_EVICTION;
		e.hook = c->hook;
		e.entries = before + 1;
		print_event(l->m.events, &e);
	}
}

/* Keeps the gateways that `keep` accepts, in place, and indexes them again. */
static void rebuild(struct count_log *l, int (*keep)(struct count_log *l, const struct log_counts *c, uint64_t seq),
		    uint64_t seq)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < l->live; i++)
		if (keep(l, &l->entries[i], seq))
			l->entries[kept++] = l->entries[i];
	l->live = kept;
	memset(l->index, 0, ((size_t)l->mask + 1) * sizeof(*l->index));
	for (uint32_t i = 0; i < kept; i++)
		*slot_for(l, &l->entries[i].key, gw_key_hash(&l->entries[i].key)) = i + 1;
}

static int in_map(struct count_log *l, const struct log_counts *c, uint64_t seq)
{
	(void)seq;
	return bpf_map_lookup_elem(l->m.gateways_fd, &c->key, l->scratch) == 0;
}

static int seen_by_walk(struct count_log *l, const struct log_counts *c, uint64_t seq)
{
	return c->in_map_seq == seq || c->first_ns >= l->sweep_began;
}

static void add(struct count_log *l, const struct amt_log_record *r, uint32_t ring, uint64_t now)
{
	struct amt_gw_key k = gw_key_of_record(r);
	uint32_t h = gw_key_hash(&k);
	uint32_t *slot = slot_for(l, &k, h);
	int created = !*slot;
	if (created && l->live >= l->cap) {
		/* More gateways than the map holds came since the last sweep (the LRU evicted the rest):
		 * forget those it no longer has, as a sweep would, one lookup each. At most map_size
		 * stay, so this comes again only after as many new gateways. */
		l->totals.compactions++;
		rebuild(l, in_map, 0);
		slot = slot_for(l, &k, h);
		if (l->live >= l->cap) {
			l->totals.untracked++;
			return;
		}
	}
	if (created) {
		struct log_counts *e = &l->entries[l->live++];
		memset(e, 0, sizeof(*e));
		e->key = k;
		e->first_ns = now;
		*slot = l->live;
	}
	struct log_counts *e = &l->entries[*slot - 1];
	struct amt_count *c = r->slot == AMT_SLOT_DATA ? &e->data : &e->wrong;
	c->packets += r->packets;
	c->bytes += r->bytes;
	e->last_ns = now;
	e->hook = (uint8_t)(ring % AMT_LOG_RINGS_PER_CPU);
	/* Most gateways have their entry already (their Request and Update came first): then this is
	 * one EEXIST, once per gateway while it stays in the map. */
	if (created)
		create_entry(l, e, now);
}

uint64_t count_log_drain(struct count_log *l, int *busy)
{
	uint64_t now = now_mono_ns(), total = 0;
	for (uint32_t ring = 0; ring < l->m.rings; ring++) {
		struct amt_log_ctl *c = &l->ctl[ring];
		uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE), tail = c->tail;
		if (head - tail > l->m.records) /* cannot happen: the programs never pass the tail */
			tail = head - l->m.records;
		if (head - tail > l->m.records / 4)
			*busy = 1;
		const struct amt_log_record *base = &l->records[(size_t)ring * l->m.records];
		/* The index is larger than the caches: each record's slot is requested PREFETCH_AHEAD
		 * records before it is added, so the misses overlap instead of following one another. */
		for (uint64_t i = tail; i < head; i++) {
			if (i + PREFETCH_AHEAD < head) {
				struct amt_gw_key ahead = gw_key_of_record(&base[(i + PREFETCH_AHEAD) & (l->m.records - 1)]);
				__builtin_prefetch(&l->index[gw_key_hash(&ahead) & l->mask]);
			}
			add(l, &base[i & (l->m.records - 1)], ring, now);
		}
		__atomic_store_n(&c->tail, head, __ATOMIC_RELEASE);
		total += head - tail;
	}
	l->totals.read += total;
	return total;
}

struct log_counts *count_log_find(struct count_log *l, const struct amt_gw_key *k)
{
	uint32_t *slot = slot_for(l, k, gw_key_hash(k));
	return *slot ? &l->entries[*slot - 1] : NULL;
}

void count_log_sweep(struct count_log *l, uint64_t seq, uint64_t began)
{
	l->sweep_began = began;
	rebuild(l, seen_by_walk, seq);
}

struct count_log_totals count_log_totals(const struct count_log *l)
{
	return l->totals;
}
