/*
 * The tracker's time per packet without the network: loads one or more XDP objects with libbpf
 * and runs each over the frames frames.ts wrote with BPF_PROG_TEST_RUN, one frame per run (repeat
 * 1), in file order, so that consecutive runs hit different gateways' entries as real traffic
 * does rather than one hot entry. The kernel times each run (ktime around the program, in the
 * caller's CPU); the figure is the mean over a pass through every frame, split by AMT type.
 * Objects alternate within each round, the order rotating, and the result is the median over
 * rounds of each object and of each one's paired difference to the first. Built by
 * prog-run.sh (cc ... -lbpf), never committed as a binary.
 *
 *   prog_run FRAMES_FILE ROUNDS OBJECT.o [OBJECT.o...]
 *   env MAP_SIZE (gateways map entries, default 65536 as the loader), REPEAT (runs per frame, 1),
 *       ORDER=file (run the frames in the file's order instead of a fixed shuffle), LOG_RECORDS
 *       (records per count-log ring in an object that has one, default 8192 as the loader; 0: none),
 *       PROG=tc (each object's tc program, the egress hook, instead of its XDP one)
 *
 * The frames run in a shuffled order (the same every time): frames.ts writes them gateway after
 * gateway, and entries created in that order lie one after another in the map's memory, so in
 * file order the CPU's prefetcher streams the next entries in ahead of their lookups, which
 * traffic from many gateways at once does not allow. REPEAT above 1 makes the kernel swap its
 * XDP dispatcher (a synchronize_rcu) at every run: for a few frames only.
 *
 * In an object with an `events` ring buffer the events are consumed after every batch of frames
 * (outside the timed runs), so Updates take the path they take when the loader keeps up. The
 * objects' `.rodata` amt_port and map_capacity are set as the loader sets them.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "amt_tracker.h" /* src/collectors/ebpf/bpf: struct amt_log_ctl */

#define MAX_OBJECTS 8

/* PROG=tc runs each object's tc program (the egress hook) instead of its XDP one. */
static enum bpf_prog_type prog_type = BPF_PROG_TYPE_XDP;
static unsigned expected_retval = XDP_PASS;
#define BATCH 256

struct frame {
	const uint8_t *data;
	uint32_t len;
	uint8_t amt_type; /* 0: not found */
};

struct object {
	const char *path;
	struct bpf_object *obj;
	int prog_fd;
	struct ring_buffer *rb;
	struct amt_log_ctl *log_ctl; /* mmap of log_ctl, when the object has a count log */
	uint32_t log_rings;
	double *all, *data, *update; /* per round, ns per run */
};

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "prog_run: %s: %s\n", what, detail);
	exit(1);
}

/* The AMT type of an Ethernet + IPv4/IPv6 + UDP frame as frames.ts writes them. */
static uint8_t amt_type_of(const uint8_t *f, uint32_t len)
{
	if (len < 14)
		return 0;
	uint16_t ethertype = (uint16_t)(f[12] << 8 | f[13]);
	uint32_t udp;
	if (ethertype == 0x0800 && len >= 34)
		udp = 14 + (f[14] & 0x0f) * 4u;
	else if (ethertype == 0x86dd)
		udp = 14 + 40;
	else
		return 0;
	return udp + 9 <= len ? f[udp + 8] & 0x0f : 0;
}

static struct frame *read_frames(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail(path, strerror(errno));
	struct stat st;
	fstat(fileno(f), &st);
	uint8_t *buf = malloc((size_t)st.st_size);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		fail(path, "cannot read");
	fclose(f);
	size_t n = 0, cap = 1024;
	struct frame *frames = malloc(cap * sizeof(*frames));
	for (off_t off = 0; off + 2 <= st.st_size;) {
		uint32_t len = (uint32_t)buf[off] << 8 | buf[off + 1];
		if (off + 2 + (off_t)len > st.st_size)
			fail(path, "truncated frames file");
		if (n == cap)
			frames = realloc(frames, (cap *= 2) * sizeof(*frames));
		frames[n].data = buf + off + 2;
		frames[n].len = len;
		frames[n].amt_type = amt_type_of(buf + off + 2, len);
		n++;
		off += 2 + len;
	}
	if (!n)
		fail(path, "no frames");
	const char *order = getenv("ORDER");
	if (!order || strcmp(order, "file") != 0) {
		uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64, fixed seed */
		for (size_t i = n - 1; i > 0; i--) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t j = (size_t)(x % (i + 1));
			struct frame t = frames[i];
			frames[i] = frames[j];
			frames[j] = t;
		}
	}
	*count = n;
	return frames;
}

/* Sets a `const volatile` global of the object's .rodata, found by name in its BTF. */
static void set_rodata(struct bpf_object *obj, const char *name, const void *value, size_t size)
{
	struct bpf_map *map = NULL, *m;
	bpf_object__for_each_map(m, obj)
		if (strstr(bpf_map__name(m), ".rodata"))
			map = m;
	struct btf *btf = bpf_object__btf(obj);
	if (!map || !btf)
		return;
	int sec = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (sec < 0)
		return;
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)sec);
	const struct btf_var_secinfo *vs = btf_var_secinfos(t);
	size_t data_size;
	uint8_t *data = (uint8_t *)bpf_map__initial_value(map, &data_size);
	for (uint16_t i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0 && vs->size == size &&
		    vs->offset + size <= data_size)
			memcpy(data + vs->offset, value, size);
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static void load(struct object *o, uint32_t map_size, uint32_t log_records)
{
	o->obj = bpf_object__open_file(o->path, NULL);
	if (!o->obj)
		fail(o->path, strerror(errno));
	struct bpf_map *gateways = bpf_object__find_map_by_name(o->obj, "gateways");
	if (gateways && bpf_map__set_max_entries(gateways, map_size))
		fail(o->path, "cannot size the gateways map");
	uint16_t port = 2268;
	set_rodata(o->obj, "amt_port", &port, sizeof(port));
	set_rodata(o->obj, "map_capacity", &map_size, sizeof(map_size));
	/* A count log as the loader sizes it: a ring per CPU and hook. */
	struct bpf_map *log_ctl = bpf_object__find_map_by_name(o->obj, "log_ctl");
	struct bpf_map *count_log = bpf_object__find_map_by_name(o->obj, "count_log");
	if (log_ctl && count_log && log_records) {
		o->log_rings = 2 * (uint32_t)libbpf_num_possible_cpus();
		if (bpf_map__set_max_entries(log_ctl, o->log_rings) ||
		    bpf_map__set_max_entries(count_log, o->log_rings * log_records))
			fail(o->path, "cannot size the count log");
		set_rodata(o->obj, "log_records", &log_records, sizeof(log_records));
	}
	struct bpf_program *prog, *xdp = NULL;
	bpf_object__for_each_program(prog, o->obj) {
		if (bpf_program__type(prog) == prog_type && !xdp)
			xdp = prog;
		else
			bpf_program__set_autoload(prog, false);
	}
	if (!xdp)
		fail(o->path, prog_type == BPF_PROG_TYPE_XDP ? "no XDP program" : "no tc program");
	if (bpf_object__load(o->obj))
		fail(o->path, "cannot load (root? see libbpf's message above)");
	o->prog_fd = bpf_program__fd(xdp);
	if (o->log_rings) {
		void *m = mmap(NULL, o->log_rings * sizeof(struct amt_log_ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
			       bpf_map__fd(log_ctl), 0);
		if (m == MAP_FAILED)
			fail(o->path, "cannot mmap log_ctl");
		o->log_ctl = m;
	}
	struct bpf_map *events = bpf_object__find_map_by_name(o->obj, "events");
	if (events && bpf_map__type(events) == BPF_MAP_TYPE_RINGBUF) {
		o->rb = ring_buffer__new(bpf_map__fd(events), on_event, NULL, NULL);
		if (!o->rb)
			fail(o->path, "cannot open the ring buffer");
	}
}

/* Outside the timed runs, what the loader does: consumes the ring buffer and marks every count-log
 * record read (the loader's adding them up is its own cost, on its own core: bench/ebpf/run.sh). */
static void drain(struct object *o)
{
	if (o->rb)
		ring_buffer__consume(o->rb);
	for (uint32_t r = 0; r < o->log_rings; r++)
		__atomic_store_n(&o->log_ctl[r].tail, __atomic_load_n(&o->log_ctl[r].head, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
}

/* One pass over every frame: the mean ns per run, overall and for Data and Update frames. */
static void pass(struct object *o, const struct frame *frames, size_t n, uint32_t repeat, double out[3])
{
	uint64_t sum[3] = {0}, cnt[3] = {0};
	for (size_t i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frames[i].data, .data_size_in = frames[i].len,
			    .repeat = repeat);
		if (bpf_prog_test_run_opts(o->prog_fd, &opts))
			fail(o->path, strerror(errno));
		if (opts.retval != expected_retval)
			fail(o->path, "the program did not pass the packet on (XDP_PASS, TC_ACT_OK)");
		sum[0] += opts.duration;
		cnt[0]++;
		int k = frames[i].amt_type == 6 ? 1 : frames[i].amt_type == 5 ? 2 : -1;
		if (k > 0) {
			sum[k] += opts.duration;
			cnt[k]++;
		}
		if (i % BATCH == BATCH - 1)
			drain(o);
	}
	drain(o);
	for (int k = 0; k < 3; k++)
		out[k] = cnt[k] ? (double)sum[k] / (double)cnt[k] : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double *s = malloc((size_t)n * sizeof(*s));
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 3 > MAX_OBJECTS) {
		fprintf(stderr, "usage: prog_run FRAMES_FILE ROUNDS OBJECT.o [OBJECT.o...] (at most %d)\n", MAX_OBJECTS);
		return 2;
	}
	size_t n;
	struct frame *frames = read_frames(argv[1], &n);
	int rounds = atoi(argv[2]), nobj = argc - 3;
	uint32_t map_size = getenv("MAP_SIZE") ? (uint32_t)atoi(getenv("MAP_SIZE")) : 65536;
	uint32_t repeat = getenv("REPEAT") ? (uint32_t)atoi(getenv("REPEAT")) : 1;
	if (getenv("PROG") && strcmp(getenv("PROG"), "tc") == 0) {
		prog_type = BPF_PROG_TYPE_SCHED_CLS;
		expected_retval = 0; /* TC_ACT_OK */
	} else if (getenv("PROG") && strcmp(getenv("PROG"), "xdp") != 0) {
		fail("PROG", "must be xdp or tc");
	}
	uint32_t log_records = getenv("LOG_RECORDS") ? (uint32_t)atoi(getenv("LOG_RECORDS")) : 8192; /* the loader's default */
	if (log_records & (log_records - 1))
		fail("LOG_RECORDS", "must be 0 or a power of two");
	if (rounds < 1 || map_size < 1 || repeat < 1)
		fail("arguments", "ROUNDS, MAP_SIZE and REPEAT must be positive");
	size_t data = 0, update = 0;
	for (size_t i = 0; i < n; i++) {
		data += frames[i].amt_type == 6;
		update += frames[i].amt_type == 5;
	}

	struct object objs[MAX_OBJECTS] = {0};
	for (int j = 0; j < nobj; j++) {
		objs[j].path = argv[3 + j];
		load(&objs[j], map_size, log_records);
		objs[j].all = calloc((size_t)rounds, sizeof(double));
		objs[j].data = calloc((size_t)rounds, sizeof(double));
		objs[j].update = calloc((size_t)rounds, sizeof(double));
		double warm[3];
		pass(&objs[j], frames, n, 1, warm); /* creates every gateway's entry: not measured */
	}
	printf("prog_run: %s, %zu frames (%zu Multicast Data, %zu Membership Update), %d rounds, repeat %u, map %u\n",
	       prog_type == BPF_PROG_TYPE_XDP ? "XDP" : "tc", n,
	       data, update, rounds, repeat, map_size);
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < nobj; i++) {
			int j = (i + r) % nobj;
			double out[3];
			pass(&objs[j], frames, n, repeat, out);
			objs[j].all[r] = out[0];
			objs[j].data[r] = out[1];
			objs[j].update[r] = out[2];
		}
	}
	printf("%-40s %10s %10s %10s %14s\n", "object (ns/run, median of rounds)", "all", "data", "update",
	       "all - first");
	for (int j = 0; j < nobj; j++) {
		double *diff = calloc((size_t)rounds, sizeof(double));
		for (int r = 0; r < rounds; r++)
			diff[r] = objs[j].all[r] - objs[0].all[r];
		const char *name = strrchr(objs[j].path, '/') ? strrchr(objs[j].path, '/') + 1 : objs[j].path;
		printf("%-40s %10.1f %10.1f %10.1f %14.1f\n", name, median(objs[j].all, rounds),
		       median(objs[j].data, rounds), median(objs[j].update, rounds), median(diff, rounds));
		free(diff);
	}
	return 0;
}
