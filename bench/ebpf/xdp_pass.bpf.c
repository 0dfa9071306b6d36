// SPDX-License-Identifier: Apache-2.0
/* The bench's control: an XDP program that does nothing but pass, to tell what attaching any
 * program to the veth costs (veth's XDP receive path) from what the tracker's parsing costs; and
 * its tc twin, the control of prog-run.sh with PROG=tc. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Apache-2.0";
