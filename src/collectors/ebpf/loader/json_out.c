#include "json_out.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

static int64_t mono_to_epoch_ns;

uint64_t now_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void clock_sync(void)
{
	struct timespec rt;
	uint64_t mono = now_mono_ns();
	clock_gettime(CLOCK_REALTIME, &rt);
	mono_to_epoch_ns = (int64_t)((uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec) - (int64_t)mono;
}

uint64_t epoch_ms(uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + mono_to_epoch_ns) / 1000000ull;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

void format_gateway_addr(const uint8_t addr[16], char *out, size_t len)
{
	if (all_zero(addr, 10) && addr[10] == 0xff && addr[11] == 0xff)
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)len);
}

/* The Teardown's Gateway IP Address: RFC 7450 carries IPv4 as an IPv4-compatible address
 * (96 zero bits); an IPv4-mapped one is read the same way. */
static void format_carried_addr(const uint8_t addr[16], char *out, size_t len)
{
	if (all_zero(addr, 12))
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)len);
	else
		format_gateway_addr(addr, out, len);
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static const char *event_name(uint8_t kind)
{
	switch (kind) {
	case AMT_EV_REQUEST: return "request";
	case AMT_EV_UPDATE: return "update";
	case AMT_EV_TEARDOWN: return "teardown";
	case AMT_EV_EVICTION: return "eviction";
	default: return "unknown";
	}
}

static const char *report_name(uint8_t report)
{
	switch (report) {
	case AMT_REPORT_IGMPV3: return "igmpv3";
	case AMT_REPORT_MLDV2: return "mldv2";
	case AMT_REPORT_IGMPV2_REPORT: return "igmpv2-report";
	case AMT_REPORT_IGMPV2_LEAVE: return "igmpv2-leave";
	case AMT_REPORT_MLDV1_REPORT: return "mldv1-report";
	case AMT_REPORT_MLDV1_DONE: return "mldv1-done";
	default: return "unparsed";
	}
}

void print_event(FILE *out, const struct amt_event *e)
{
	char addr[INET6_ADDRSTRLEN], nonce[9], mac[13];
	format_gateway_addr(e->gw.addr, addr, sizeof(addr));
	hex(nonce, (const uint8_t *)&e->nonce, 4);
	hex(mac, e->mac, 6);
	fprintf(out, "{\"type\":\"%s\",\"at\":%llu,\"ns\":%llu,\"hook\":\"%s\",\"gateway\":{\"address\":\"%s\",\"port\":%u}",
		event_name(e->kind), (unsigned long long)epoch_ms(e->ts_ns), (unsigned long long)e->ts_ns,
		e->hook ? "tc" : "xdp", addr, e->gw.port);
	switch (e->kind) {
	case AMT_EV_REQUEST:
		fprintf(out, ",\"nonce\":\"%s\",\"p\":%u,\"kernelShaped\":%s,\"flags\":%u,\"length\":%u", nonce,
			e->flags & AMT_REQUEST_P, (e->flags & AMT_KERNEL_REQUEST_P) ? "true" : "false", e->flags,
			e->length);
		break;
	case AMT_EV_UPDATE:
		fprintf(out, ",\"nonce\":\"%s\",\"mac\":\"%s\",\"length\":%u,\"report\":\"%s\",\"records\":%u,\"groups\":[",
			nonce, mac, e->length, report_name(e->report), e->records);
		for (unsigned i = 0; i < e->groups && i < AMT_EVENT_GROUPS; i++) {
			const struct amt_group_record *g = &e->group[i];
			char group[INET6_ADDRSTRLEN];
			format_gateway_addr(g->addr, group, sizeof(group));
			fprintf(out, "%s{\"address\":\"%s\",\"recordType\":%u,\"sources\":%u}", i ? "," : "", group, g->type,
				g->sources);
		}
		fputs("]", out);
		break;
	case AMT_EV_TEARDOWN: {
		char tunnel[INET6_ADDRSTRLEN];
		format_carried_addr(e->tunnel_addr, tunnel, sizeof(tunnel));
		fprintf(out, ",\"nonce\":\"%s\",\"mac\":\"%s\",\"length\":%u,\"tunnel\":{\"address\":\"%s\",\"port\":%u}",
			nonce, mac, e->length, tunnel, e->tunnel_port);
		break;
	}
	case AMT_EV_EVICTION:
		fprintf(out, ",\"entriesCreated\":%llu", (unsigned long long)e->entries);
		break;
	}
	fputs("}\n", out);
}

static void print_count(FILE *out, const char *name, const struct amt_count *c, int first)
{
	fprintf(out, "%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}", first ? "" : ",", name,
		(unsigned long long)c->packets, (unsigned long long)c->bytes);
}

void print_gateway(FILE *out, uint64_t seq, const struct amt_gw_key *k, const struct amt_gw_value *v)
{
	char addr[INET6_ADDRSTRLEN];
	format_gateway_addr(k->addr, addr, sizeof(addr));
	fprintf(out, "{\"type\":\"gateway\",\"seq\":%llu,\"address\":\"%s\",\"port\":%u,\"firstSeen\":%llu,\"lastSeen\":%llu,"
		"\"firstSeenNs\":%llu,\"lastSeenNs\":%llu,",
		(unsigned long long)seq, addr, k->port, (unsigned long long)epoch_ms(v->first_seen_ns),
		(unsigned long long)epoch_ms(v->last_seen_ns), (unsigned long long)v->first_seen_ns,
		(unsigned long long)v->last_seen_ns);
	if (v->has_request) {
		char nonce[9];
		hex(nonce, (const uint8_t *)&v->request_nonce, 4);
		fprintf(out, "\"requestNonce\":\"%s\",\"requestFlags\":%u,", nonce, v->request_flags);
	} else {
		fputs("\"requestNonce\":null,\"requestFlags\":null,", out);
	}
	if (v->has_query)
		fprintf(out, "\"lastQuery\":{\"flags\":%u,\"l\":%u,\"g\":%u},", v->query_flags,
			(v->query_flags & AMT_QUERY_L) ? 1 : 0, v->query_flags & AMT_QUERY_G);
	else
		fputs("\"lastQuery\":null,", out);
	fprintf(out, "\"kernelShapedRequests\":%llu,\"nonceMismatches\":%llu,\"toRelay\":{",
		(unsigned long long)v->kernel_shaped_requests, (unsigned long long)v->nonce_mismatches);
	print_count(out, "discovery", &v->count[AMT_SLOT_DISCOVERY], 1);
	print_count(out, "request", &v->count[AMT_SLOT_REQUEST], 0);
	print_count(out, "update", &v->count[AMT_SLOT_UPDATE], 0);
	print_count(out, "teardown", &v->count[AMT_SLOT_TEARDOWN], 0);
	fputs("},\"fromRelay\":{", out);
	print_count(out, "advertisement", &v->count[AMT_SLOT_ADVERTISEMENT], 1);
	print_count(out, "query", &v->count[AMT_SLOT_QUERY], 0);
	print_count(out, "data", &v->count[AMT_SLOT_DATA], 0);
	fputs("},", out);
	print_count(out, "wrongDirection", &v->count[AMT_SLOT_WRONG_DIRECTION], 1);
	fputs("}\n", out);
}

void print_gone(FILE *out, uint64_t seq, const struct amt_gw_key *k, uint64_t last_seen_ns)
{
	char addr[INET6_ADDRSTRLEN];
	format_gateway_addr(k->addr, addr, sizeof(addr));
	fprintf(out, "{\"type\":\"gone\",\"seq\":%llu,\"address\":\"%s\",\"port\":%u,\"lastSeen\":%llu,\"lastSeenNs\":%llu}\n",
		(unsigned long long)seq, addr, k->port, (unsigned long long)epoch_ms(last_seen_ns),
		(unsigned long long)last_seen_ns);
}
