/* Exit codes of driad-amt-loader: each names one reason, so driad can fall back and say why. */
#ifndef DRIAD_EXIT_CODES_H
#define DRIAD_EXIT_CODES_H

enum loader_exit {
	EXIT_STOPPED = 0,            /* SIGTERM, SIGINT, stdin EOF or stdout closed: detached cleanly */
	EXIT_INTERNAL = 1,           /* unexpected (out of memory, ...) */
	EXIT_BAD_ARGS = 2,
	EXIT_NO_PERMISSION = 3,      /* bpf() or the attach refused: needs root, or CAP_BPF + CAP_NET_ADMIN */
	EXIT_KERNEL_UNSUPPORTED = 4, /* no BPF ring buffer, LRU hash or XDP in this kernel */
	EXIT_LOAD_FAILED = 5,        /* the verifier rejected the programs */
	EXIT_ATTACH_FAILED = 6,      /* no such interface, not Ethernet, mode unsupported, already taken */
	EXIT_RUNTIME = 7,            /* after start: the interface went away, a map or poll error */
};

/* Prints "driad-amt-loader: <kind>: <message>" as one line on stderr and exits with `code`. */
void die(enum loader_exit code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
const char *exit_kind(enum loader_exit code);

#endif
