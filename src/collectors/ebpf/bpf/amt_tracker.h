/* Shared by the BPF programs (amt_tracker.bpf.c) and the loader: map keys and values,
 * ring-buffer events and the global counters. Layouts are fixed-size and padded by hand so
 * both compilers agree (no implicit padding: every key byte is set, so equal gateways hash
 * equally). */
#ifndef DRIAD_AMT_TRACKER_H
#define DRIAD_AMT_TRACKER_H

#include <linux/types.h>

#define AMT_PORT_DEFAULT 2268

/* RFC 7450 §5.1 message types. */
enum amt_type {
	AMT_RELAY_DISCOVERY = 1,
	AMT_RELAY_ADVERTISEMENT = 2,
	AMT_REQUEST = 3,
	AMT_MEMBERSHIP_QUERY = 4,
	AMT_MEMBERSHIP_UPDATE = 5,
	AMT_MULTICAST_DATA = 6,
	AMT_TEARDOWN = 7,
};

/* RFC 7450 bit positions in byte 1. */
#define AMT_REQUEST_P 0x01
#define AMT_QUERY_L 0x02
#define AMT_QUERY_G 0x01
/* Where Linux's struct amt_header_request / amt_header_query put them (see README). */
#define AMT_KERNEL_REQUEST_P 0x80
#define AMT_KERNEL_QUERY_BITS 0xc0

enum amt_direction {
	AMT_TO_RELAY = 0,   /* destination port is the AMT port: the gateway is the source */
	AMT_FROM_RELAY = 1, /* source port is the AMT port: the gateway is the destination */
};

/* One gateway endpoint: address (IPv4 as ::ffff:a.b.c.d) and UDP port (host order). */
struct amt_gw_key {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

struct amt_count {
	__u64 packets;
	__u64 bytes; /* AMT message bytes: the UDP payload */
};

/* Counter slots of an entry: the seven (direction, type) pairs RFC 7450 sends across a relay's
 * interface, and one for every type seen the other way (the loader's wrongDirection). Keeping
 * only these takes a third off the entry (bench/ebpf/README.md). */
enum amt_slot {
	AMT_SLOT_DATA = 0, /* Multicast Data from the relay: most of the traffic, next to last_seen_ns */
	AMT_SLOT_WRONG_DIRECTION,
	AMT_SLOT_UPDATE,
	AMT_SLOT_REQUEST,
	AMT_SLOT_DISCOVERY,
	AMT_SLOT_TEARDOWN,
	AMT_SLOT_ADVERTISEMENT,
	AMT_SLOT_QUERY,
	AMT_SLOTS
};

/* The slot of a valid type (1..7) in a direction: nibble `type` of these. */
#define AMT_SLOTS_TO_RELAY 0x51213141u   /* Discovery 4, Request 3, Update 2, Teardown 5, else 1 */
#define AMT_SLOTS_FROM_RELAY 0x10171611u /* Advertisement 6, Query 7, Data 0, else 1 */

static inline unsigned amt_slot(unsigned direction, unsigned type)
{
	unsigned slots = direction == AMT_FROM_RELAY ? AMT_SLOTS_FROM_RELAY : AMT_SLOTS_TO_RELAY;
	return (slots >> ((type & 7) * 4)) & 7;
}

struct amt_gw_value {
	__u64 last_seen_ns;                     /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	struct amt_count count[AMT_SLOTS];      /* [amt_slot(direction, type)] */
	__u64 first_seen_ns;
	__u64 kernel_shaped_requests; /* Requests with 0x80 set in byte 1 */
	__u64 nonce_mismatches;       /* Updates whose nonce is not the last Request's */
	__u32 request_nonce;          /* of the latest Request, bytes as on the wire */
	__u8 request_flags;           /* byte 1 of the latest Request */
	__u8 has_request;
	__u8 query_flags;             /* byte 1 of the latest Query: L 0x02, G 0x01 */
	__u8 has_query;
	__u8 pad[16];
};
/* A map element is the kernel's struct htab_elem (48 bytes), the key rounded up to 24 and the
 * value: 256 bytes, so that every element starts on a cache line and the key's end, last_seen_ns
 * and the first three slots (Data each way, Update) share its second line. */
_Static_assert(48 + 24 + sizeof(struct amt_gw_value) == 256, "a map element of four cache lines");

enum amt_event_kind {
	AMT_EV_REQUEST = 1,
	AMT_EV_UPDATE = 2,
	AMT_EV_TEARDOWN = 3,
	AMT_EV_EVICTION = 4,
};

/* What the Membership Update carried (RFC 7450 §5.1.5 allows all six). */
enum amt_report_kind {
	AMT_REPORT_UNPARSED = 0,
	AMT_REPORT_IGMPV3 = 1,
	AMT_REPORT_MLDV2 = 2,
	AMT_REPORT_IGMPV2_REPORT = 3,
	AMT_REPORT_IGMPV2_LEAVE = 4,
	AMT_REPORT_MLDV1_REPORT = 5,
	AMT_REPORT_MLDV1_DONE = 6,
};

#define AMT_EVENT_GROUPS 4 /* group records decoded per Update */

struct amt_group_record {
	__u8 addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u16 sources;
	__u8 type; /* IGMPv3/MLDv2 record type 1..6; 0 for IGMPv2/MLDv1 */
	__u8 pad;
};

struct amt_event {
	__u64 ts_ns;
	struct amt_gw_key gw;
	__u8 kind;      /* enum amt_event_kind */
	__u8 hook;      /* 0 = XDP ingress, 1 = tc egress */
	__u8 flags;     /* byte 1 of the message (Request: P; else reserved) */
	__u8 report;    /* enum amt_report_kind (Update) */
	__u32 nonce;    /* Request Nonce, bytes as on the wire */
	__u32 length;   /* AMT message bytes */
	__u8 mac[6];    /* Response MAC (Update, Teardown) */
	__u16 records;  /* group records the report says it has */
	__u8 groups;    /* group records decoded into group[] */
	__u8 pad[3];
	__u16 tunnel_port;    /* Teardown: Gateway Port Number (host order) */
	__u8 tunnel_addr[16]; /* Teardown: Gateway IP Address, as carried */
	__u8 pad2[2];
	__u64 entries;        /* Eviction: entries created so far, including this one */
	struct amt_group_record group[AMT_EVENT_GROUPS];
};

/* The count log: Multicast Data is counted without touching the gateway's entry. Each CPU and
 * hook (XDP, tc) has a ring of records in count_log, ring r at [r * log_records, ...), written
 * by the programs and read by the loader through mmap, which adds them to the entries it reports
 * (loader/count_log.c). Ring r's control is log_ctl[r]: the program advances head, the loader
 * tail, each on its own cache line. A record the ring has no room for is counted in the map as
 * before (AMT_STAT_LOG_FULL): the log moves work off the packet path, never a count. One Data
 * message in AMT_LOG_SAMPLE per ring goes to the map anyway, which creates the gateway's entry
 * and keeps it recent for the LRU (bench/ebpf/README.md, "The count log"). */
struct amt_log_record {
	__u8 addr[16]; /* the gateway, as in amt_gw_key */
	__u16 port;
	__u8 slot;     /* enum amt_slot: AMT_SLOT_DATA or AMT_SLOT_WRONG_DIRECTION */
	__u8 pad;
	__u32 packets;
	__u32 bytes;
	__u32 pad2;
};
_Static_assert(sizeof(struct amt_log_record) == 32, "two records a cache line");

struct amt_log_ctl {
	__u64 head;    /* records written (the program's line) */
	__u64 offered; /* Data messages offered to this ring, for the sampling */
	__u64 pad[6];
	__u64 tail;    /* records read (the loader's line) */
	__u64 pad2[7];
};
_Static_assert(sizeof(struct amt_log_ctl) == 128, "head and tail on lines of their own");

#define AMT_LOG_SAMPLE 64 /* one Data message in this many per ring is counted in the map */
#define AMT_LOG_RINGS_PER_CPU 2 /* XDP, tc egress */

/* Global counters: a per-CPU array indexed by these. */
enum amt_stat {
	AMT_STAT_UDP_PORT = 0,        /* UDP datagrams to or from the AMT port (first fragments) */
	AMT_STAT_AMT,                 /* of those, valid AMT messages counted per gateway */
	AMT_STAT_BAD_VERSION,         /* V != 0 */
	AMT_STAT_BAD_TYPE,            /* type 0 or 8..15 */
	AMT_STAT_TRUNCATED,           /* shorter than the type's fixed part */
	AMT_STAT_FRAGMENTS,           /* non-first IP fragments (no UDP header to read) */
	AMT_STAT_VLAN,                /* frames that carried at least one VLAN tag */
	AMT_STAT_VLAN_TOO_DEEP,       /* more than two tags: not parsed */
	AMT_STAT_IPV6_EXT_TOO_DEEP,   /* more extension headers than the bounded loop reads */
	AMT_STAT_RINGBUF_DROPS,       /* events lost: ring buffer full */
	AMT_STAT_KERNEL_REQUESTS,     /* Requests with 0x80 in byte 1 (kernel struct layout) */
	AMT_STAT_KERNEL_QUERIES,      /* Queries with 0x40/0x80 in byte 1 (kernel struct layout) */
	AMT_STAT_ENTRIES_CREATED,     /* new gateway entries */
	AMT_STAT_ENTRY_FAILURES,      /* entry could not be created or found */
	AMT_STAT_EVICTIONS_AT_CAPACITY, /* entries created while the map was full by our count */
	AMT_STAT_REPORT_UNPARSED,     /* Updates whose report could not be decoded */
	AMT_STAT_PULLED,              /* tc: non-linear packets linearised to read the headers */
	AMT_STAT_QUERIES_LIMITED,     /* Queries with the L flag: the relay takes no new tunnels */
	AMT_STAT_LOG_FULL,            /* Data counted in the map because its count-log ring was full */
	AMT_STAT_COUNT
};

#endif
