// SPDX-License-Identifier: Apache-2.0
/* The bench's control: an XDP program that does nothing but pass, to tell what attaching any
 * program to the veth costs (veth's XDP receive path) from what the tracker's parsing costs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Apache-2.0";
