/* Attaching the programs to the relay's interface, and taking them off again. */
#ifndef DRIAD_ATTACH_H
#define DRIAD_ATTACH_H

#include <stdint.h>

enum xdp_mode { XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };
enum egress_mode { EGRESS_AUTO, EGRESS_TCX, EGRESS_TC, EGRESS_OFF };

struct attachment {
	int ifindex;
	int xdp_link_fd;   /* a bpf_link: the kernel detaches it when the fd closes, even on SIGKILL */
	const char *xdp_mode; /* "native", "generic" or "offload", as the kernel reports it */
	int tcx_link_fd;   /* tcx egress link (Linux 6.6+), or -1 */
	int tc_filter;     /* 1 when a classic clsact egress filter is ours to remove */
	const char *egress; /* "tcx", "tc" or "off" */
};

/* Each exits through die() with the matching code on failure. */
void attach_xdp(struct attachment *a, int prog_fd, enum xdp_mode mode);
void attach_egress(struct attachment *a, int prog_fd, enum egress_mode mode);
void detach_all(struct attachment *a);

#endif
