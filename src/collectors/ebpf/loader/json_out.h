/* The loader's stdout: newline-delimited JSON, one object per line (README.md, "Output"). */
#ifndef DRIAD_JSON_OUT_H
#define DRIAD_JSON_OUT_H

#include <stdint.h>
#include <stdio.h>
#include "../bpf/amt_tracker.h"

/* Monotonic (bpf_ktime_get_ns) to epoch milliseconds; refreshed at each snapshot. */
void clock_sync(void);
uint64_t epoch_ms(uint64_t mono_ns);
uint64_t now_mono_ns(void);

/* "192.0.2.1" for ::ffff:192.0.2.1, else the IPv6 text. */
void format_gateway_addr(const uint8_t addr[16], char *out, size_t len);

void print_event(FILE *out, const struct amt_event *e);
void print_gateway(FILE *out, uint64_t seq, const struct amt_gw_key *k, const struct amt_gw_value *v);
void print_gone(FILE *out, uint64_t seq, const struct amt_gw_key *k, uint64_t last_seen_ns);

#endif
