// SPDX-License-Identifier: Apache-2.0
/* driad AMT tracker: counts RFC 7450 traffic per gateway endpoint on the relay's interface.
 *
 * amt_xdp (XDP, ingress) and amt_tc_egress (tc/clsact or tcx egress) share the maps. Both only
 * read the packet: XDP always returns XDP_PASS and tc always TC_ACT_OK. Layouts follow RFC 7450
 * §5.1, not Linux's struct amt_header_* (which puts the Request P flag at 0x80 and the Query L/G
 * flags at 0x40/0x80 of byte 1); the kernel-shaped variants are counted separately. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "amt_tracker.h"

#define IPPROTO_IGMP_ 2
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define IPV6_EXT_MAX 6   /* extension headers skipped on the outer IPv6 header */
#define REPORT_EXT_MAX 2 /* on the MLD report inside an Update (Hop-by-Hop, maybe one more) */
#define RECORD_SOURCES_MAX 256 /* keeps every packet offset the verifier tracks below 64 KiB */

/* Set by the loader before load (bpftool skeleton .rodata). */
const volatile __u16 amt_port = AMT_PORT_DEFAULT;
const volatile __u32 map_capacity = 4096;
/* Records per count-log ring, a power of two; 0: no log, every count goes to the map. */
const volatile __u32 log_records = 0;

/* Entries this program created; compared with map_capacity to notice LRU evictions. */
__u64 entries_created = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096); /* replaced by the loader (--map-size) */
	__type(key, struct amt_gw_key);
	__type(value, struct amt_gw_value);
} gateways SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* replaced by the loader (--ringbuf-kib) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AMT_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, AMT_LOG_RINGS_PER_CPU); /* replaced by the loader: rings per CPU x CPUs */
	__type(key, __u32);
	__type(value, struct amt_log_ctl);
} log_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* replaced by the loader: rings x log_records */
	__type(key, __u32);
	__type(value, struct amt_log_record);
} count_log SEC(".maps");

/* A zeroed value to insert new entries from (too large for the 512-byte stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct amt_gw_value);
} zero_value SEC(".maps");

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_OURS, /* not UDP to or from the AMT port */
	PARSE_SHORT,    /* headers run past the (linear) data */
	PARSE_FRAGMENT,
	PARSE_VLAN_TOO_DEEP,
	PARSE_EXT_TOO_DEEP,
};

/* What parse_headers found, handed to the accounting subprogram (verified once, apart). */
struct pkt {
	struct amt_gw_key gw;
	__u32 amt_off;    /* offset of the UDP payload from the start of the frame */
	__u32 payload;    /* UDP length - 8 */
	__u32 packets;    /* 1, or a GSO packet's segments */
	__u8 direction;   /* enum amt_direction */
	__u8 vlan;        /* tags seen */
	__u8 udp_short;   /* UDP length field below 8 */
	__u8 egress;      /* seen by the tc egress program */
};

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);
	if (v)
		*v += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline void copy16(__u8 *dst, const __u8 *src)
{
#pragma unroll
	for (int i = 0; i < 16; i++)
		dst[i] = src[i];
}

static __always_inline void map_ipv4(__u8 *dst, const __u8 *src)
{
#pragma unroll
	for (int i = 0; i < 10; i++)
		dst[i] = 0;
	dst[10] = 0xff;
	dst[11] = 0xff;
	dst[12] = src[0];
	dst[13] = src[1];
	dst[14] = src[2];
	dst[15] = src[3];
}

static __always_inline __u16 be16_at(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

static __always_inline __u32 raw32_at(const __u8 *p)
{
	__u32 v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

/* Ethernet, up to two VLAN tags, IPv4 or IPv6 (extension headers skipped), UDP. No side effects. */
static __always_inline int parse_headers(void *data, void *data_end, int egress, struct pkt *p)
{
	struct ethhdr *eth = data;
	__u8 *cursor;
	__u16 proto;
	__u8 src[16], dst[16];

	if ((void *)(eth + 1) > data_end)
		return PARSE_SHORT;
	proto = eth->h_proto;
	cursor = (__u8 *)(eth + 1);
	p->vlan = 0;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_tag *tag = (struct vlan_tag *)cursor;
		if ((void *)(tag + 1) > data_end)
			return PARSE_SHORT;
		proto = tag->proto;
		cursor += sizeof(*tag);
		p->vlan++;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return PARSE_VLAN_TOO_DEEP;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (struct iphdr *)cursor;
		if ((void *)(ip + 1) > data_end)
			return PARSE_SHORT;
		if (ip->version != 4 || ip->ihl < 5 || ip->protocol != IPPROTO_UDP_)
			return PARSE_NOT_OURS;
		if (bpf_ntohs(ip->frag_off) & 0x1fff)
			return PARSE_FRAGMENT;
		map_ipv4(src, (const __u8 *)&ip->saddr);
		map_ipv4(dst, (const __u8 *)&ip->daddr);
		cursor += ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)cursor;
		__u8 next;
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_SHORT;
		next = ip6->nexthdr;
		copy16(src, (const __u8 *)&ip6->saddr);
		copy16(dst, (const __u8 *)&ip6->daddr);
		cursor += sizeof(*ip6);
#pragma unroll
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			if (next != NEXTHDR_HOP && next != NEXTHDR_ROUTING && next != NEXTHDR_DEST &&
			    next != NEXTHDR_FRAGMENT && next != NEXTHDR_AUTH)
				break;
			if (cursor + 8 > (__u8 *)data_end)
				return PARSE_SHORT;
			if (next == NEXTHDR_FRAGMENT) {
				if (be16_at(cursor + 2) & 0xfff8)
					return PARSE_FRAGMENT;
				next = cursor[0];
				cursor += 8;
			} else if (next == NEXTHDR_AUTH) {
				__u32 len = ((__u32)cursor[1] + 2) * 4;
				next = cursor[0];
				cursor += len;
			} else {
				__u32 len = ((__u32)cursor[1] + 1) * 8;
				next = cursor[0];
				cursor += len;
			}
		}
		if (next == NEXTHDR_HOP || next == NEXTHDR_ROUTING || next == NEXTHDR_DEST ||
		    next == NEXTHDR_FRAGMENT || next == NEXTHDR_AUTH)
			return PARSE_EXT_TOO_DEEP;
		if (next != IPPROTO_UDP_)
			return PARSE_NOT_OURS;
	} else {
		return PARSE_NOT_OURS;
	}

	struct udphdr *udp = (struct udphdr *)cursor;
	if ((void *)(udp + 1) > data_end)
		return PARSE_SHORT;
	__u16 sport = bpf_ntohs(udp->source), dport = bpf_ntohs(udp->dest);
	__u16 port = amt_port;
	/* A gateway may use the AMT port as its own port too: on ingress the packet is then taken
	 * as sent to the relay, on egress as sent by it. */
	int to_relay;
	if (egress)
		to_relay = sport == port ? 0 : dport == port ? 1 : -1;
	else
		to_relay = dport == port ? 1 : sport == port ? 0 : -1;
	if (to_relay < 0)
		return PARSE_NOT_OURS;
	if (to_relay) {
		p->direction = AMT_TO_RELAY;
		copy16(p->gw.addr, src);
		p->gw.port = sport;
	} else {
		p->direction = AMT_FROM_RELAY;
		copy16(p->gw.addr, dst);
		p->gw.port = dport;
	}
	p->gw.pad = 0;
	__u16 ulen = bpf_ntohs(udp->len);
	p->udp_short = ulen < 8;
	p->payload = ulen < 8 ? 0 : ulen - 8;
	p->amt_off = (__u8 *)(udp + 1) - (__u8 *)data;
	return PARSE_OK;
}

/* Fixed part of each message type (RFC 7450 §5.1); 0 = unknown type. */
static __always_inline __u32 fixed_length(__u8 type)
{
	switch (type) {
	case AMT_RELAY_DISCOVERY: return 8;
	case AMT_RELAY_ADVERTISEMENT: return 12;
	case AMT_REQUEST: return 8;
	case AMT_MEMBERSHIP_QUERY: return 12;
	case AMT_MEMBERSHIP_UPDATE: return 12;
	case AMT_MULTICAST_DATA: return 2;
	case AMT_TEARDOWN: return 30;
	default: return 0;
	}
}

/* Up to AMT_EVENT_GROUPS group records of an IGMPv3 or MLDv2 report, within the packet. */
static __always_inline void read_records(struct amt_event *e, __u8 *rec, void *data_end, int v6)
{
	__u32 header = v6 ? 20 : 8, addr_len = v6 ? 16 : 4;
#pragma unroll
	for (int i = 0; i < AMT_EVENT_GROUPS; i++) {
		if (i >= e->records)
			break;
		if (rec + header > (__u8 *)data_end)
			break;
		struct amt_group_record *g = &e->group[i];
		__u16 sources = be16_at(rec + 2);
		g->type = rec[0];
		g->sources = sources;
		if (v6)
			copy16(g->addr, rec + 4);
		else
			map_ipv4(g->addr, rec + 4);
		e->groups = i + 1;
		if (sources > RECORD_SOURCES_MAX)
			break;
		/* The masks repeat the bound where the verifier sees it: clang would otherwise drop
		 * them as redundant and add a fresh, unbounded reload of the field. */
		__u32 n = sources, aux = rec[1];
		barrier_var(n);
		barrier_var(aux);
		__u32 skip = (n & 0x1ff) * addr_len + (aux & 0xff) * 4;
		rec += header + skip;
	}
}

/* The IGMP or MLD report inside a Membership Update (at `ip`): its kind, groups into `e`. */
static __always_inline void read_report(struct amt_event *e, __u8 *ip, void *data_end)
{
	if (ip + 20 > (__u8 *)data_end)
		return;
	if ((ip[0] >> 4) == 4) {
		__u32 ihl = ip[0] & 0x0f;
		if (ihl < 5 || ip[9] != IPPROTO_IGMP_)
			return;
		__u8 *igmp = ip + ihl * 4;
		if (igmp + 8 > (__u8 *)data_end)
			return;
		if (igmp[0] == 0x22) { /* IGMPv3 Membership Report (RFC 3376 §4.2) */
			e->report = AMT_REPORT_IGMPV3;
			e->records = be16_at(igmp + 6);
			read_records(e, igmp + 8, data_end, 0);
		} else if (igmp[0] == 0x16 || igmp[0] == 0x17) { /* IGMPv2 report / leave */
			e->report = igmp[0] == 0x16 ? AMT_REPORT_IGMPV2_REPORT : AMT_REPORT_IGMPV2_LEAVE;
			e->records = 1;
			e->groups = 1;
			map_ipv4(e->group[0].addr, igmp + 4);
		}
		return;
	}
	if ((ip[0] >> 4) != 6 || ip + 40 > (__u8 *)data_end)
		return;
	__u8 next = ip[6];
	__u8 *cursor = ip + 40;
#pragma unroll
	for (int i = 0; i < REPORT_EXT_MAX; i++) {
		if (next != NEXTHDR_HOP && next != NEXTHDR_DEST)
			break;
		if (cursor + 2 > (__u8 *)data_end)
			return;
		__u32 len = ((__u32)cursor[1] + 1) * 8;
		next = cursor[0];
		cursor += len;
	}
	if (next != IPPROTO_ICMPV6_ || cursor + 24 > (__u8 *)data_end)
		return;
	if (cursor[0] == 143) { /* MLDv2 Multicast Listener Report (RFC 3810 §5.2) */
		e->report = AMT_REPORT_MLDV2;
		e->records = be16_at(cursor + 6);
		read_records(e, cursor + 8, data_end, 1);
	} else if (cursor[0] == 131 || cursor[0] == 132) { /* MLDv1 report / done */
		e->report = cursor[0] == 131 ? AMT_REPORT_MLDV1_REPORT : AMT_REPORT_MLDV1_DONE;
		e->records = 1;
		e->groups = 1;
		copy16(e->group[0].addr, cursor + 8);
	}
}

/* Bytes one event takes in the ring: the record header and the event, rounded up to 8. */
#define EVENT_RECORD_BYTES ((sizeof(struct amt_event) + 8 + 7) / 8 * 8)

/* Commits an event without waking the loader, which polls the ring every RINGBUF_POLL_MS
 * (loader/main.c), unless this event fills the ring past a quarter: then a burst could fill it
 * before the next poll. A wakeup is an irq_work, a self-interrupt on this CPU (in a virtual
 * machine an exit to the hypervisor), and waking by default on every event that finds the
 * loader caught up cost more than the rest of an Update's accounting (bench/ebpf/README.md). */
static __always_inline void submit(struct amt_event *e)
{
	__u64 quarter = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA); /* this event included */
	int crossed = avail >= quarter && avail < quarter + EVENT_RECORD_BYTES;
	bpf_ringbuf_submit(e, crossed ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline struct amt_event *new_event(__u8 kind, struct pkt *p, __u64 now)
{
	struct amt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(AMT_STAT_RINGBUF_DROPS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->gw = p->gw;
	e->kind = kind;
	e->hook = p->egress;
	e->length = p->payload;
	return e;
}

/* The gateway's entry, created when missing; announces a creation that must have evicted. */
static __always_inline struct amt_gw_value *entry(struct pkt *p, __u64 now)
{
	struct amt_gw_value *v = bpf_map_lookup_elem(&gateways, &p->gw);
	if (v)
		return v;
	__u32 zero = 0;
	struct amt_gw_value *init = bpf_map_lookup_elem(&zero_value, &zero);
	if (!init)
		return 0;
	if (bpf_map_update_elem(&gateways, &p->gw, init, BPF_NOEXIST) == 0) {
		__u64 before = entries_created;
		__sync_fetch_and_add(&entries_created, 1);
		count(AMT_STAT_ENTRIES_CREATED);
		/* The map holds at most map_capacity entries and only LRU eviction removes them, so
		 * a creation beyond that count displaced an older one. */
		if (before >= map_capacity) {
			count(AMT_STAT_EVICTIONS_AT_CAPACITY);
			struct amt_event *e = new_event(AMT_EV_EVICTION, p, now);
			if (e) {
				e->entries = before + 1;
				submit(e);
			}
		}
	}
	v = bpf_map_lookup_elem(&gateways, &p->gw);
	if (!v) {
		count(AMT_STAT_ENTRY_FAILURES);
		return 0;
	}
	if (!v->first_seen_ns)
		v->first_seen_ns = now;
	return v;
}

/* Counts a Data message in this CPU's count-log ring (amt_tracker.h); 0 when the caller must count
 * it in the map instead: no log, the ring full, or the ring's sampled message. */
static __always_inline int log_data(struct pkt *p, __u32 slot)
{
	__u32 records = log_records;
	if (!records)
		return 0;
	__u32 ring = bpf_get_smp_processor_id() * AMT_LOG_RINGS_PER_CPU + p->egress;
	struct amt_log_ctl *c = bpf_map_lookup_elem(&log_ctl, &ring);
	if (!c)
		return 0;
	/* One producer per ring: XDP and tc of one CPU have rings of their own, and neither runs
	 * nested in itself on a CPU. */
	if (++c->offered % AMT_LOG_SAMPLE == 0)
		return 0;
	__u64 head = c->head;
	if (head - *(volatile __u64 *)&c->tail >= records) {
		count(AMT_STAT_LOG_FULL);
		return 0;
	}
	__u32 index = ring * records + ((__u32)head & (records - 1));
	struct amt_log_record *r = bpf_map_lookup_elem(&count_log, &index);
	if (!r)
		return 0;
	__builtin_memcpy(r->addr, p->gw.addr, 16);
	r->port = p->gw.port;
	r->slot = slot;
	r->packets = p->packets;
	r->bytes = p->payload;
	/* Publishes the record: a fetching atomic orders the stores before it on every JIT (a plain
	 * store would on x86 only, and clang drops the fetch when the old value is unused). */
	__u64 published = __sync_fetch_and_add(&c->head, 1);
	barrier_var(published);
	return 1;
}

/* The event of a message to the relay that has one (Request, Update, Teardown), and what its
 * entry keeps of it. */
static __always_inline void announce(struct pkt *p, struct amt_gw_value *v, __u8 type, __u8 *amt, void *data_end,
				     __u64 now)
{
	if (type == AMT_REQUEST && amt + 8 <= (__u8 *)data_end) {
		__u8 flags = amt[1];
		__u32 nonce = raw32_at(amt + 4);
		v->request_nonce = nonce;
		v->request_flags = flags;
		v->has_request = 1;
		if (flags & AMT_KERNEL_REQUEST_P) {
			__sync_fetch_and_add(&v->kernel_shaped_requests, 1);
			count(AMT_STAT_KERNEL_REQUESTS);
		}
		struct amt_event *e = new_event(AMT_EV_REQUEST, p, now);
		if (e) {
			e->flags = flags;
			e->nonce = nonce;
			submit(e);
		}
	} else if (type == AMT_MEMBERSHIP_UPDATE && amt + 12 <= (__u8 *)data_end) {
		__u32 nonce = raw32_at(amt + 8);
		if (v->has_request && nonce != v->request_nonce)
			__sync_fetch_and_add(&v->nonce_mismatches, 1);
		struct amt_event *e = new_event(AMT_EV_UPDATE, p, now);
		if (e) {
			e->flags = amt[1];
			e->nonce = nonce;
			__builtin_memcpy(e->mac, amt + 2, 6);
			read_report(e, amt + 12, data_end);
			if (e->report == AMT_REPORT_UNPARSED)
				count(AMT_STAT_REPORT_UNPARSED);
			submit(e);
		}
	} else if (type == AMT_TEARDOWN && amt + 30 <= (__u8 *)data_end) {
		struct amt_event *e = new_event(AMT_EV_TEARDOWN, p, now);
		if (e) {
			e->flags = amt[1];
			e->nonce = raw32_at(amt + 8);
			__builtin_memcpy(e->mac, amt + 2, 6);
			e->tunnel_port = be16_at(amt + 12);
			copy16(e->tunnel_addr, amt + 14);
			submit(e);
		}
	}
}

static __always_inline int account(struct pkt *p, void *data, void *data_end)
{
	if (!p || p->amt_off > 0x3fff)
		return 0;
	__u8 *amt = (__u8 *)data + p->amt_off;

	count(AMT_STAT_UDP_PORT);
	if (p->vlan)
		count(AMT_STAT_VLAN);
	if (p->udp_short || amt + 1 > (__u8 *)data_end || p->payload < 1) {
		count(AMT_STAT_TRUNCATED);
		return 0;
	}
	__u8 version = amt[0] >> 4, type = amt[0] & 0x0f;
	if (version != 0) {
		count(AMT_STAT_BAD_VERSION);
		return 0;
	}
	__u32 fixed = fixed_length(type);
	if (!fixed) {
		count(AMT_STAT_BAD_TYPE);
		return 0;
	}
	/* Every fixed part read below is within the first 30 bytes. */
	if (p->payload < fixed || amt + fixed > (__u8 *)data_end) {
		count(AMT_STAT_TRUNCATED);
		return 0;
	}
	count(AMT_STAT_AMT);
	__u32 slot = amt_slot(p->direction, type);
	if (type == AMT_MULTICAST_DATA && log_data(p, slot))
		return 0;

	__u64 now = bpf_ktime_get_ns();
	struct amt_gw_value *v = entry(p, now);
	if (!v)
		return 0;
	if (p->direction == AMT_TO_RELAY)
		announce(p, v, type, amt, data_end, now);
	/* Counted after the event is in the ring: a snapshot that counts a Request follows the
	 * Request's event, which opens the tunnel the count belongs to (loader/snapshot.c). */
	struct amt_count *c = &v->count[slot];
	__sync_fetch_and_add(&c->packets, (__u64)p->packets);
	__sync_fetch_and_add(&c->bytes, (__u64)p->payload);
	v->last_seen_ns = now;

	if (type == AMT_MEMBERSHIP_QUERY && amt + 2 <= (__u8 *)data_end) {
		__u8 flags = amt[1];
		v->query_flags = flags;
		v->has_query = 1;
		if (flags & AMT_QUERY_L)
			count(AMT_STAT_QUERIES_LIMITED);
		if (flags & AMT_KERNEL_QUERY_BITS)
			count(AMT_STAT_KERNEL_QUERIES);
	}
	return 0;
}

static __always_inline void count_parse_failure(int r)
{
	if (r == PARSE_FRAGMENT)
		count(AMT_STAT_FRAGMENTS);
	else if (r == PARSE_VLAN_TOO_DEEP)
		count(AMT_STAT_VLAN_TOO_DEEP);
	else if (r == PARSE_EXT_TOO_DEEP)
		count(AMT_STAT_IPV6_EXT_TOO_DEEP);
}

/* Global functions: the verifier checks each once, apart from the many header paths before it. */
__noinline int account_xdp(struct xdp_md *ctx, struct pkt *p)
{
	return account(p, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__noinline int account_tc(struct __sk_buff *ctx, struct pkt *p)
{
	return account(p, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

SEC("xdp")
int amt_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	int r = parse_headers(data, data_end, 0, &p);
	if (r == PARSE_OK) {
		p.packets = 1;
		account_xdp(ctx, &p);
	} else {
		count_parse_failure(r);
	}
	return XDP_PASS;
}

SEC("tc")
int amt_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct pkt p = {};
	int r = parse_headers(data, data_end, 1, &p);
	if (r == PARSE_SHORT && skb->len > (__u32)(data_end - data)) {
		/* Headers in paged data: linearise (the bytes stay as they are) and read again. */
		__u32 want = skb->len < 256 ? skb->len : 256;
		if (bpf_skb_pull_data(skb, want) == 0) {
			count(AMT_STAT_PULLED);
			data = (void *)(long)skb->data;
			data_end = (void *)(long)skb->data_end;
			r = parse_headers(data, data_end, 1, &p);
		}
	}
	if (r == PARSE_OK) {
		/* A GSO packet is sent as gso_segs datagrams; its UDP length spans them all. */
		p.packets = skb->gso_segs > 1 ? skb->gso_segs : 1;
		p.egress = 1;
		account_tc(skb, &p);
	} else {
		count_parse_failure(r);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Apache-2.0";
