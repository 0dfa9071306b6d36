#include "snapshot.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/amt_tracker.h"
#include "count_log.h"
#include "gw_key.h"
#include "json_out.h"

#define BATCH 256

/* What the previous snapshot saw of one entry. Slots are valid only when their generation is
 * the table's, so clearing a table is one increment. */
struct seen {
	struct amt_gw_key key;
	uint32_t gen;
	uint64_t last_seen_ns;
	uint64_t packets; /* over all slots: the program's clock ticks coarsely, so two packets in one
			   * tick leave the same last_seen_ns */
};

struct table {
	struct seen *slots;
	uint32_t mask;
	uint32_t gen;
};

struct snapshotter {
	int gateways_fd, stats_fd;
	uint32_t map_size;
	struct table tables[2]; /* previous and current, swapped at each snapshot */
	int prev;
	uint64_t seq;
	int ncpus;
	uint64_t *percpu;
	struct amt_gw_key *keys;
	struct amt_gw_value *values;
	struct count_log *log; /* NULL: no count log */
	struct ring_buffer *events; /* read after the walk, so its events come out before the lines */
};

static const char *stat_names[AMT_STAT_COUNT] = {
	[AMT_STAT_UDP_PORT] = "udpPort",
	[AMT_STAT_AMT] = "amt",
	[AMT_STAT_BAD_VERSION] = "badVersion",
	[AMT_STAT_BAD_TYPE] = "badType",
	[AMT_STAT_TRUNCATED] = "truncated",
	[AMT_STAT_FRAGMENTS] = "fragments",
	[AMT_STAT_VLAN] = "vlan",
	[AMT_STAT_VLAN_TOO_DEEP] = "vlanTooDeep",
	[AMT_STAT_IPV6_EXT_TOO_DEEP] = "ipv6ExtTooDeep",
	[AMT_STAT_RINGBUF_DROPS] = "ringbufDrops",
	[AMT_STAT_KERNEL_REQUESTS] = "kernelShapedRequests",
	[AMT_STAT_KERNEL_QUERIES] = "kernelShapedQueries",
	[AMT_STAT_ENTRIES_CREATED] = "entriesCreated",
	[AMT_STAT_ENTRY_FAILURES] = "entryFailures",
	[AMT_STAT_EVICTIONS_AT_CAPACITY] = "evictionsAtCapacity",
	[AMT_STAT_REPORT_UNPARSED] = "reportUnparsed",
	[AMT_STAT_PULLED] = "pulled",
	[AMT_STAT_QUERIES_LIMITED] = "queriesLimited",
	[AMT_STAT_LOG_FULL] = "logFull",
};

static uint64_t packets_of(const struct amt_gw_value *v)
{
	uint64_t n = 0;
	for (int i = 0; i < AMT_SLOTS; i++)
		n += v->count[i].packets;
	return n;
}

/* The slot holding `k`, or the free slot where it belongs. */
static struct seen *slot_for(struct table *t, const struct amt_gw_key *k)
{
	for (uint32_t i = gw_key_hash(k) & t->mask;; i = (i + 1) & t->mask) {
		struct seen *s = &t->slots[i];
		if (s->gen != t->gen || memcmp(&s->key, k, sizeof(*k)) == 0)
			return s;
	}
}

static int table_init(struct table *t, uint32_t map_size)
{
	uint32_t n = 16;
	while (n < 2 * map_size) /* at most half full: probes stay short, and one slot is always free */
		n <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	t->mask = n - 1;
	t->gen = 1;
	return t->slots ? 0 : -ENOMEM;
}

struct snapshotter *snapshotter_new(int gateways_fd, int stats_fd, uint32_t map_size, struct count_log *log,
				    struct ring_buffer *events)
{
	struct snapshotter *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->gateways_fd = gateways_fd;
	s->stats_fd = stats_fd;
	s->map_size = map_size;
	s->log = log;
	s->events = events;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0 || table_init(&s->tables[0], map_size) || table_init(&s->tables[1], map_size))
		goto fail;
	s->percpu = calloc((size_t)s->ncpus, sizeof(uint64_t));
	s->keys = calloc(BATCH, sizeof(*s->keys));
	s->values = calloc(BATCH, sizeof(*s->values));
	if (!s->percpu || !s->keys || !s->values)
		goto fail;
	return s;
fail:
	snapshotter_free(s);
	return NULL;
}

void snapshotter_free(struct snapshotter *s)
{
	if (!s)
		return;
	free(s->tables[0].slots);
	free(s->tables[1].slots);
	free(s->percpu);
	free(s->keys);
	free(s->values);
	free(s);
}

static int write_stats(struct snapshotter *s, FILE *out)
{
	struct count_log_totals log = {0};
	if (s->log)
		log = count_log_totals(s->log);
	fputs("\"stats\":{", out);
	for (uint32_t i = 0; i < AMT_STAT_COUNT; i++) {
		uint64_t sum = 0;
		if (bpf_map_lookup_elem(s->stats_fd, &i, s->percpu))
			return -errno;
		for (int c = 0; c < s->ncpus; c++)
			sum += s->percpu[c];
		/* Entries the loader created for gateways the count log saw first count as the programs' do. */
		if (i == AMT_STAT_ENTRIES_CREATED)
			sum += log.created;
		else if (i == AMT_STAT_EVICTIONS_AT_CAPACITY)
			sum += log.evictions_at_capacity;
		else if (i == AMT_STAT_ENTRY_FAILURES)
			sum += log.create_failures;
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", stat_names[i], (unsigned long long)sum);
	}
	if (s->log)
		fprintf(out, ",\"logged\":%llu,\"logUntracked\":%llu,\"logCompactions\":%llu", (unsigned long long)log.read,
			(unsigned long long)log.untracked, (unsigned long long)log.compactions);
	fputs("}", out);
	return 0;
}

/* An entry as reported: the map's counts plus what the count log read for the gateway. */
static void merge(struct amt_gw_value *v, const struct log_counts *c)
{
	if (!c)
		return;
	v->count[AMT_SLOT_DATA].packets += c->data.packets;
	v->count[AMT_SLOT_DATA].bytes += c->data.bytes;
	v->count[AMT_SLOT_WRONG_DIRECTION].packets += c->wrong.packets;
	v->count[AMT_SLOT_WRONG_DIRECTION].bytes += c->wrong.bytes;
	if (c->last_ns > v->last_seen_ns)
		v->last_seen_ns = c->last_ns;
	if (!v->first_seen_ns || c->first_ns < v->first_seen_ns)
		v->first_seen_ns = c->first_ns;
}

struct walk {
	struct snapshotter *s;
	struct table *prev, *cur;
	FILE *out;
	uint64_t seq, live, changed;
	int full;
};

/* One gateway of this snapshot: recorded in the current table, printed when new or changed. */
static void visit(struct walk *w, const struct amt_gw_key *k, const struct amt_gw_value *v)
{
	struct seen *now = slot_for(w->cur, k);
	if (now->gen == w->cur->gen)
		return; /* seen twice in one walk */
	now->key = *k;
	now->gen = w->cur->gen;
	now->last_seen_ns = v->last_seen_ns;
	now->packets = packets_of(v);
	w->live++;
	struct seen *before = slot_for(w->prev, k);
	if (w->full || before->gen != w->prev->gen || before->last_seen_ns != v->last_seen_ns ||
	    before->packets != now->packets) {
		print_gateway(w->out, w->seq, k, v);
		w->changed++;
	}
}

int snapshot_write(struct snapshotter *s, FILE *out, int full, const volatile __u64 *entries_created)
{
	/* The lines are held until the walk is over and the ring buffer read: every event whose
	 * message the walk counted (a Request that opens a tunnel, say) comes out before the counts,
	 * which driad applies to the tunnels open by then. */
	char *lines = NULL;
	size_t lines_len = 0;
	FILE *held = open_memstream(&lines, &lines_len);
	if (!held)
		return -errno;
	struct walk w = {.s = s, .prev = &s->tables[s->prev], .cur = &s->tables[!s->prev], .out = held, .full = full};
	struct table *prev = w.prev, *cur = w.cur;
	uint64_t seq = w.seq = ++s->seq, gone = 0;
	uint8_t in_batch[64], out_batch[64];
	int first = 1, busy = 0;
	uint64_t created = *entries_created; /* read before the walk: creations during it count later */

	clock_sync();
	uint64_t began = now_mono_ns();
	if (s->log)
		count_log_drain(s->log, &busy);
	cur->gen++;
	/* Bounded: a walk never returns more than the map holds, twice over for entries that move
	 * between buckets while it runs. */
	for (uint64_t walked = 0; walked <= 2ull * s->map_size + BATCH;) {
		__u32 count = BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_lookup_batch(s->gateways_fd, first ? NULL : in_batch, out_batch, s->keys, s->values,
					       &count, &opts);
		int end = err && errno == ENOENT;
		if (err && !end) {
			err = -errno;
			fclose(held);
			free(lines);
			return err;
		}
		first = 0;
		walked += count;
		for (__u32 i = 0; i < count; i++) {
			struct amt_gw_value *v = &s->values[i];
			if (s->log) {
				struct log_counts *c = count_log_find(s->log, &s->keys[i]);
				merge(v, c);
				if (c)
					c->in_map_seq = seq;
			}
			visit(&w, &s->keys[i], v);
		}
		if (end)
			break;
		memcpy(in_batch, out_batch, sizeof(in_batch));
		/* A walk of a large map takes tens of ms: the rings are read meanwhile too, or they fill. */
		if (s->log)
			count_log_drain(s->log, &busy);
	}
	if (s->log)
		count_log_sweep(s->log, seq, began);
	for (uint32_t i = 0; i <= prev->mask; i++) {
		struct seen *was = &prev->slots[i];
		if (was->gen != prev->gen || slot_for(cur, &was->key)->gen == cur->gen)
			continue;
		print_gone(held, seq, &was->key, was->last_seen_ns);
		gone++;
	}
	s->prev = !s->prev;
	if (s->events)
		ring_buffer__consume(s->events);
	fclose(held);
	fwrite(lines, 1, lines_len, out);
	free(lines);

	fprintf(out, "{\"type\":\"snapshot\",\"seq\":%llu,\"at\":%llu,\"full\":%s,\"entries\":%llu,\"changed\":%llu,"
		"\"gone\":%llu,\"entriesCreated\":%llu,\"evicted\":%llu,",
		(unsigned long long)seq, (unsigned long long)epoch_ms(now_mono_ns()), full ? "true" : "false",
		(unsigned long long)w.live, (unsigned long long)w.changed, (unsigned long long)gone,
		(unsigned long long)created, (unsigned long long)(created > w.live ? created - w.live : 0));
	int err = write_stats(s, out);
	fputs("}\n", out);
	return err;
}
