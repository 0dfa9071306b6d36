#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "exit_codes.h"

/* Not in the uapi headers of Debian 12 (Linux 6.1); the value is the kernel ABI's. */
#define ATTACH_TCX_EGRESS 47
/* Our classic tc filter, so a later run replaces one left by a killed run. */
#define TC_HANDLE 0x2268
#define TC_PRIORITY 0x2268

static void die_attach(int err, const char *what, int ifindex)
{
	if (err == EPERM || err == EACCES)
		die(EXIT_NO_PERMISSION, "%s on ifindex %d refused (%s): needs CAP_NET_ADMIN", what, ifindex, strerror(err));
	die(EXIT_ATTACH_FAILED, "%s on ifindex %d: %s", what, ifindex, strerror(err));
}

void attach_xdp(struct attachment *a, int prog_fd, enum xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	opts.flags = mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : mode == XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : 0;
	int fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		int err = errno;
		if (err == EBUSY || err == EEXIST)
			die(EXIT_ATTACH_FAILED, "XDP attach on ifindex %d: another XDP program is attached (%s)", a->ifindex,
			    strerror(err));
		if (err == EOPNOTSUPP && mode == XDP_MODE_NATIVE)
			die(EXIT_ATTACH_FAILED, "XDP attach on ifindex %d: the driver has no native XDP; use --mode generic",
			    a->ifindex);
		if (err == EINVAL || err == EOPNOTSUPP)
			die(EXIT_KERNEL_UNSUPPORTED, "XDP link on ifindex %d: %s (needs Linux 5.9+)", a->ifindex, strerror(err));
		die_attach(err, "XDP attach", a->ifindex);
	}
	a->xdp_link_fd = fd;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	a->xdp_mode = "unknown";
	if (bpf_xdp_query(a->ifindex, 0, &q) == 0)
		a->xdp_mode = q.attach_mode == XDP_ATTACHED_DRV ? "native"
			    : q.attach_mode == XDP_ATTACHED_SKB ? "generic"
			    : q.attach_mode == XDP_ATTACHED_HW  ? "offload"
								: "unknown";
}

static int attach_tc_classic(struct attachment *a, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = TC_HANDLE, .priority = TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook); /* the clsact qdisc; it may exist already, and stays */
	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return err;
	a->tc_filter = 1;
	return 0;
}

void attach_egress(struct attachment *a, int prog_fd, enum egress_mode mode)
{
	a->egress = "off";
	if (mode == EGRESS_OFF)
		return;
	if (mode == EGRESS_AUTO || mode == EGRESS_TCX) {
		int fd = bpf_link_create(prog_fd, a->ifindex, ATTACH_TCX_EGRESS, NULL);
		if (fd >= 0) {
			a->tcx_link_fd = fd;
			a->egress = "tcx";
			return;
		}
		int err = errno;
		if (mode == EGRESS_TCX) {
			if (err == EINVAL)
				die(EXIT_KERNEL_UNSUPPORTED, "tcx egress on ifindex %d: not supported (needs Linux 6.6+)", a->ifindex);
			die_attach(err, "tcx egress attach", a->ifindex);
		}
		if (err == EPERM)
			die_attach(err, "tcx egress attach", a->ifindex);
	}
	int err = attach_tc_classic(a, prog_fd);
	if (err)
		die_attach(-err, "tc egress attach", a->ifindex);
	a->egress = "tc";
}

void detach_all(struct attachment *a)
{
	if (a->tc_filter) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
		bpf_tc_detach(&hook, &opts); /* fails only when the interface is gone, with the filter */
		a->tc_filter = 0;
	}
	if (a->tcx_link_fd >= 0) {
		close(a->tcx_link_fd);
		a->tcx_link_fd = -1;
	}
	if (a->xdp_link_fd >= 0) {
		close(a->xdp_link_fd);
		a->xdp_link_fd = -1;
	}
}
