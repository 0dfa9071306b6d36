/* driad-amt-loader: loads the AMT tracker, attaches it to one interface (XDP ingress, tc
 * egress), and writes its ring-buffer events and periodic map snapshots to stdout as
 * newline-delimited JSON until SIGTERM, SIGINT, SIGHUP or EOF on stdin. See ../README.md. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "amt_tracker.skel.h"
#include "attach.h"
#include "count_log.h"
#include "exit_codes.h"
#include "json_out.h"
#include "out_queue.h"
#include "snapshot.h"

#define MAP_SIZE_MAX (1u << 20)
/* The programs wake the loader only when the ring buffer fills past a quarter (submit() in
 * amt_tracker.bpf.c): it reads the ring this often too, so an event waits at most this long. */
#define RINGBUF_POLL_MS 10
/* ... and the count log this often while a ring is more than a quarter full. */
#define COUNT_LOG_BUSY_POLL_MS 1
#define LOG_RECORDS_MAX (1u << 22)
/* Output queued for a reader that is behind before printing waits for it (out_queue.h). */
#define OUT_QUEUE_MAX_BYTES (64u << 20)

struct options {
	int ifindex;
	const char *ifname;
	unsigned port;
	unsigned map_size;
	unsigned snapshot_ms;
	unsigned ringbuf_kib;
	unsigned log_records;
	enum xdp_mode mode;
	enum egress_mode egress;
	int probe;
	int verbose;
};

static struct attachment *attached; /* detached by die() too */
static FILE *out;                    /* stdout through the writer thread, once opened */
static int verbose;
static char libbpf_last[512];         /* the last line libbpf said, for one-line errors */
static char libbpf_verifier_last[512]; /* the verifier's last line before "processed ..." */

const char *exit_kind(enum loader_exit code)
{
	switch (code) {
	case EXIT_STOPPED: return "stopped";
	case EXIT_BAD_ARGS: return "bad-args";
	case EXIT_NO_PERMISSION: return "no-permission";
	case EXIT_KERNEL_UNSUPPORTED: return "kernel-unsupported";
	case EXIT_LOAD_FAILED: return "load-failed";
	case EXIT_ATTACH_FAILED: return "attach-failed";
	case EXIT_RUNTIME: return "runtime";
	default: return "internal";
	}
}

void die(enum loader_exit code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (attached)
		detach_all(attached);
	if (out) { /* what was printed reaches the reader before the error */
		out_queue_close(out);
		out = NULL;
	}
	fflush(stdout);
	fprintf(stderr, "driad-amt-loader: %s: %s\n", exit_kind(code), msg);
	exit(code);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (verbose)
		fputs(buf, stderr);
	if (level == LIBBPF_DEBUG)
		return 0;
	/* A verifier log arrives as one message of many lines; keep the line before "processed". */
	char *processed = strstr(buf, "\nprocessed ");
	if (processed) {
		*processed = 0;
		char *line = strrchr(buf, '\n');
		snprintf(libbpf_verifier_last, sizeof(libbpf_verifier_last), "%s", line ? line + 1 : buf);
		return 0;
	}
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (n && !strstr(buf, "-- END PROG LOAD LOG --"))
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", buf);
	return 0;
}

static void usage(FILE *to)
{
	fputs("usage: driad-amt-loader (--ifindex N | --ifname NAME) [--port 2268] [--map-size 65536]\n"
	      "         [--mode auto|native|generic|skb] [--egress auto|tcx|tc|off] [--snapshot-ms 1000]\n"
	      "         [--ringbuf-kib 1024] [--log-records 8192] [--verbose]\n"
	      "       driad-amt-loader --probe [--map-size M] [--ringbuf-kib K] [--log-records R]\n",
	      to);
}

static unsigned parse_uint(const char *name, const char *text, unsigned min, unsigned max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
		die(EXIT_BAD_ARGS, "--%s %s: expected an integer from %u to %u", name, text, min, max);
	return (unsigned)v;
}

static struct options parse_args(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"ifindex", required_argument, 0, 'i'},   {"ifname", required_argument, 0, 'n'},
		{"port", required_argument, 0, 'p'},      {"map-size", required_argument, 0, 'm'},
		{"mode", required_argument, 0, 'M'},      {"egress", required_argument, 0, 'e'},
		{"snapshot-ms", required_argument, 0, 's'}, {"ringbuf-kib", required_argument, 0, 'r'},
		{"log-records", required_argument, 0, 'l'}, {"probe", no_argument, 0, 'P'},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},            {0, 0, 0, 0},
	};
	struct options o = {.port = AMT_PORT_DEFAULT, .map_size = 65536, .snapshot_ms = 1000, .ringbuf_kib = 1024,
			   .log_records = 8192};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': o.ifindex = (int)parse_uint("ifindex", optarg, 1, INT_MAX); break;
		case 'n': o.ifname = optarg; break;
		case 'p': o.port = parse_uint("port", optarg, 1, 65535); break;
		case 'm': o.map_size = parse_uint("map-size", optarg, 1, MAP_SIZE_MAX); break;
		case 's': o.snapshot_ms = parse_uint("snapshot-ms", optarg, 10, 3600000); break;
		case 'r': o.ringbuf_kib = parse_uint("ringbuf-kib", optarg, 4, 1u << 20); break;
		case 'l': o.log_records = parse_uint("log-records", optarg, 0, LOG_RECORDS_MAX); break;
		case 'P': o.probe = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': usage(stdout); exit(EXIT_STOPPED);
		case 'M':
			if (!strcmp(optarg, "auto")) o.mode = XDP_MODE_AUTO;
			else if (!strcmp(optarg, "native")) o.mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic") || !strcmp(optarg, "skb")) o.mode = XDP_MODE_GENERIC;
			else die(EXIT_BAD_ARGS, "--mode %s: expected auto, native, generic or skb", optarg);
			break;
		case 'e':
			if (!strcmp(optarg, "auto")) o.egress = EGRESS_AUTO;
			else if (!strcmp(optarg, "tcx")) o.egress = EGRESS_TCX;
			else if (!strcmp(optarg, "tc")) o.egress = EGRESS_TC;
			else if (!strcmp(optarg, "off")) o.egress = EGRESS_OFF;
			else die(EXIT_BAD_ARGS, "--egress %s: expected auto, tcx, tc or off", optarg);
			break;
		default:
			die(EXIT_BAD_ARGS, "unknown or incomplete option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(EXIT_BAD_ARGS, "unexpected argument %s", argv[optind]);
	if (o.ringbuf_kib & (o.ringbuf_kib - 1))
		die(EXIT_BAD_ARGS, "--ringbuf-kib %u: must be a power of two", o.ringbuf_kib);
	if (o.log_records & (o.log_records - 1))
		die(EXIT_BAD_ARGS, "--log-records %u: must be 0 or a power of two", o.log_records);
	if (!o.probe && !o.ifindex && !o.ifname)
		die(EXIT_BAD_ARGS, "--ifindex or --ifname is required");
	if (o.ifindex && o.ifname)
		die(EXIT_BAD_ARGS, "give --ifindex or --ifname, not both");
	return o;
}

/* Permission first (so EPERM is not mistaken for a missing feature), then the features used. */
static void check_kernel(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0) {
		int err = errno;
		if (err == EPERM || err == EACCES)
			die(EXIT_NO_PERMISSION, "bpf() refused (%s): run as root or with CAP_BPF and CAP_NET_ADMIN", strerror(err));
		if (err == ENOSYS)
			die(EXIT_KERNEL_UNSUPPORTED, "this kernel has no bpf() system call");
		die(EXIT_KERNEL_UNSUPPORTED, "bpf() map create failed: %s", strerror(err));
	}
	close(fd);
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		die(EXIT_KERNEL_UNSUPPORTED, "no BPF ring buffer in this kernel (Linux 5.8+)%s",
		    access("/sys/kernel/btf/vmlinux", R_OK) ? "; no BTF at /sys/kernel/btf/vmlinux either" : "");
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL) != 1)
		die(EXIT_KERNEL_UNSUPPORTED, "no BPF LRU hash map in this kernel");
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) != 1)
		die(EXIT_KERNEL_UNSUPPORTED, "no XDP in this kernel");
}

/* Count-log rings: one per possible CPU and hook (amt_tracker.h). */
static uint32_t log_rings(void)
{
	int cpus = libbpf_num_possible_cpus();
	if (cpus <= 0)
		die(EXIT_INTERNAL, "cannot count the possible CPUs: %s", strerror(-cpus));
	return (uint32_t)cpus * AMT_LOG_RINGS_PER_CPU;
}

static struct amt_tracker *load(const struct options *o)
{
	struct amt_tracker *skel = amt_tracker__open();
	if (!skel)
		die(EXIT_INTERNAL, "cannot open the embedded BPF object: %s", strerror(errno));
	skel->rodata->amt_port = (__u16)o->port;
	skel->rodata->map_capacity = o->map_size;
	skel->rodata->log_records = o->log_records;
	uint32_t rings = log_rings();
	if ((uint64_t)rings * o->log_records * sizeof(struct amt_log_record) > (1ull << 30))
		die(EXIT_BAD_ARGS, "--log-records %u: %u rings (a CPU's XDP and tc each) of that many records is more than 1 GiB",
		    o->log_records, rings);
	if (bpf_map__set_max_entries(skel->maps.gateways, o->map_size) ||
	    bpf_map__set_max_entries(skel->maps.events, o->ringbuf_kib * 1024u) ||
	    bpf_map__set_max_entries(skel->maps.log_ctl, rings) ||
	    bpf_map__set_max_entries(skel->maps.count_log, o->log_records ? rings * o->log_records : 1))
		die(EXIT_INTERNAL, "cannot size the maps");
	int err = amt_tracker__load(skel);
	if (err) {
		err = -err;
		if (err == EPERM)
			die(EXIT_NO_PERMISSION, "loading the programs refused (%s): needs CAP_BPF and CAP_NET_ADMIN", strerror(err));
		if (err == ENOMEM || err == E2BIG)
			die(EXIT_LOAD_FAILED, "cannot allocate the maps (--map-size %u, --ringbuf-kib %u, --log-records %u): %s",
			    o->map_size, o->ringbuf_kib, o->log_records, strerror(err));
		die(EXIT_LOAD_FAILED, "the kernel rejected the programs (%s): %s%s%s", strerror(err), libbpf_verifier_last,
		    libbpf_verifier_last[0] ? "; " : "", libbpf_last);
	}
	return skel;
}

static int resolve_ifindex(const struct options *o, char *name)
{
	int ifindex = o->ifindex;
	if (o->ifname) {
		ifindex = (int)if_nametoindex(o->ifname);
		if (!ifindex)
			die(EXIT_ATTACH_FAILED, "no interface named %s", o->ifname);
	}
	if (!if_indextoname((unsigned)ifindex, name))
		die(EXIT_ATTACH_FAILED, "no interface with index %d", ifindex);
	char path[64 + IF_NAMESIZE], type[16] = "";
	snprintf(path, sizeof(path), "/sys/class/net/%s/type", name);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(type, sizeof(type), f))
			type[0] = 0;
		fclose(f);
	}
	if (atoi(type) != 1) /* ARPHRD_ETHER: the programs parse from an Ethernet header */
		die(EXIT_ATTACH_FAILED, "%s (ifindex %d) is not an Ethernet interface (type %s)", name, ifindex,
		    type[0] ? strtok(type, "\n") : "unknown");
	return ifindex;
}

/* Interface names may hold '"' or '\\' (Linux refuses only '/', ':' and whitespace). */
static void json_string(char *out, size_t len, const char *in)
{
	size_t o = 0;
	for (; *in && o + 7 < len; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20)
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
}

static __u32 program_id(struct bpf_program *prog)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) ? 0 : info.id;
}

static int on_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(struct amt_event))
		print_event(out, data);
	(void)ctx;
	return 0;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* stdin: EOF stops the loader; the lines "snapshot" and "full" ask for a snapshot now. */
static int read_stdin(int *want_snapshot, int *want_full)
{
	static char line[256];
	static size_t used;
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == 0)
		return 1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (used < sizeof(line) - 1)
				line[used++] = buf[i];
			continue;
		}
		line[used] = 0;
		if (!strcmp(line, "snapshot"))
			*want_snapshot = 1;
		else if (!strcmp(line, "full"))
			*want_snapshot = *want_full = 1;
		used = 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = parse_args(argc, argv);
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* the parent's death stops us like SIGTERM */

	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL); /* from here they wait in the signalfd */

	check_kernel();
	struct amt_tracker *skel = load(&o);
	if (o.probe) {
		printf("{\"type\":\"probe\",\"ok\":true,\"kernelBtf\":%s}\n",
		       access("/sys/kernel/btf/vmlinux", R_OK) ? "false" : "true");
		amt_tracker__destroy(skel);
		return EXIT_STOPPED;
	}

	char ifname[IF_NAMESIZE] = "";
	struct attachment a = {.ifindex = resolve_ifindex(&o, ifname), .xdp_link_fd = -1, .tcx_link_fd = -1};
	attached = &a;
	attach_xdp(&a, bpf_program__fd(skel->progs.amt_xdp), o.mode);
	attach_egress(&a, bpf_program__fd(skel->progs.amt_tc_egress), o.egress);

	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	static char outbuf[1 << 16];
	out = out_queue_open(STDOUT_FILENO, OUT_QUEUE_MAX_BYTES);
	if (!out)
		die(EXIT_INTERNAL, "cannot start the output thread: %s", strerror(errno));
	setvbuf(out, outbuf, _IOFBF, sizeof(outbuf));

	struct count_log *log = NULL;
	if (o.log_records) {
		struct count_log_maps m = {
			.ctl_fd = bpf_map__fd(skel->maps.log_ctl),
			.log_fd = bpf_map__fd(skel->maps.count_log),
			.rings = log_rings(),
			.records = o.log_records,
			.gateways_fd = bpf_map__fd(skel->maps.gateways),
			.map_size = o.map_size,
			.entries_created = &skel->bss->entries_created,
			.events = out,
		};
		log = count_log_new(&m);
		if (!log)
			die(EXIT_INTERNAL, "cannot map the count log: %s", strerror(errno));
	}
	struct snapshotter *snap =
		snapshotter_new(bpf_map__fd(skel->maps.gateways), bpf_map__fd(skel->maps.stats), o.map_size, log, rb);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int sigfd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	int timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!rb || !snap || epfd < 0 || sigfd < 0 || timerfd < 0)
		die(EXIT_INTERNAL, "setup failed: %s", strerror(errno));
	struct itimerspec every = {
		.it_interval = {o.snapshot_ms / 1000, (long)(o.snapshot_ms % 1000) * 1000000L},
		.it_value = {o.snapshot_ms / 1000, (long)(o.snapshot_ms % 1000) * 1000000L},
	};
	int rb_fd = ring_buffer__epoll_fd(rb);
	if (timerfd_settime(timerfd, 0, &every, NULL) || add_fd(epfd, rb_fd) || add_fd(epfd, sigfd) ||
	    add_fd(epfd, timerfd))
		die(EXIT_INTERNAL, "setup failed: %s", strerror(errno));
	/* A stdin that cannot be polled (/dev/null, a file) is not watched. */
	int watch_stdin = add_fd(epfd, STDIN_FILENO) == 0;
	if (watch_stdin)
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);

	clock_sync();
	char ifname_json[8 * IF_NAMESIZE];
	json_string(ifname_json, sizeof(ifname_json), ifname);
	fprintf(out, "{\"type\":\"ready\",\"pid\":%d,\"ifindex\":%d,\"ifname\":\"%s\",\"port\":%u,\"mapSize\":%u,"
	       "\"ringbufBytes\":%u,\"logRecords\":%u,\"snapshotMs\":%u,\"xdpMode\":\"%s\",\"egress\":\"%s\",\"stdin\":%s,"
	       "\"xdpProgramId\":%u,\"egressProgramId\":%u}\n",
	       getpid(), a.ifindex, ifname_json, o.port, o.map_size, o.ringbuf_kib * 1024u, o.log_records, o.snapshot_ms, a.xdp_mode,
	       a.egress, watch_stdin ? "true" : "false", program_id(skel->progs.amt_xdp),
	       program_id(skel->progs.amt_tc_egress));
	fflush(out);

	const char *reason = NULL;
	enum loader_exit code = EXIT_STOPPED;
	char failure[256] = "";
	int log_busy = 0;
	while (!reason) {
		struct epoll_event evs[8];
		int want_snapshot = 0, want_full = 0;
		int n = epoll_wait(epfd, evs, 8, log_busy ? COUNT_LOG_BUSY_POLL_MS : RINGBUF_POLL_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(failure, sizeof(failure), "epoll: %s", strerror(errno));
			break;
		}
		/* Events first, at every wakeup and poll: a snapshot then follows the events it counts. */
		log_busy = 0;
		if (log)
			count_log_drain(log, &log_busy);
		int rb_err = ring_buffer__consume(rb);
		if (rb_err < 0 && rb_err != -EINTR)
			snprintf(failure, sizeof(failure), "ring buffer: %s", strerror(-rb_err));
		for (int i = 0; i < n && !reason; i++) {
			int fd = evs[i].data.fd;
			if (fd == rb_fd) {
				continue; /* consumed above */
			} else if (fd == sigfd) {
				struct signalfd_siginfo si;
				if (read(sigfd, &si, sizeof(si)) == sizeof(si))
					reason = si.ssi_signo == SIGTERM ? "sigterm" : si.ssi_signo == SIGINT ? "sigint" : "sighup";
			} else if (fd == timerfd) {
				uint64_t ticks;
				if (read(timerfd, &ticks, sizeof(ticks)) > 0)
					want_snapshot = 1;
			} else if (fd == STDIN_FILENO) {
				if (read_stdin(&want_snapshot, &want_full))
					reason = "stdin-eof";
			}
		}
		if (failure[0])
			break;
		if (want_snapshot && !reason) {
			char name[IF_NAMESIZE];
			if (!if_indextoname((unsigned)a.ifindex, name)) {
				snprintf(failure, sizeof(failure), "interface %s (ifindex %d) is gone", ifname, a.ifindex);
				break;
			}
			int err = snapshot_write(snap, out, want_full, &skel->bss->entries_created);
			if (err) {
				snprintf(failure, sizeof(failure), "reading the gateway map: %s", strerror(-err));
				break;
			}
		}
		if (fflush(out) || ferror(out))
			reason = "stdout-closed";
	}
	if (failure[0]) {
		code = EXIT_RUNTIME;
		reason = "runtime";
	}
	if (strcmp(reason, "stdout-closed") != 0) {
		ring_buffer__consume(rb); /* what is left, then the final counters */
		if (code == EXIT_STOPPED)
			snapshot_write(snap, out, 0, &skel->bss->entries_created);
	}
	detach_all(&a);
	attached = NULL;
	if (strcmp(reason, "stdout-closed") != 0) {
		fprintf(out, "{\"type\":\"stopped\",\"reason\":\"%s\"}\n", reason);
	}
	ring_buffer__free(rb);
	snapshotter_free(snap);
	count_log_free(log);
	amt_tracker__destroy(skel);
	if (code != EXIT_STOPPED)
		die(code, "%s", failure);
	out_queue_close(out);
	out = NULL;
	return EXIT_STOPPED;
}
