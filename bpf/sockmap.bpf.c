// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sockmap.bpf.c - the in-kernel data path: an sk_skb stream verdict program that moves every
 * byte a spliced socket receives to its peer's egress, and counts it.
 *
 * Loaded and driven by user/sockmap.c; the maps are described in include/sockmap_shared.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "sockmap_shared.h"

#define SK_DROP 0
#define SK_PASS 1

/* Sized by the loader from max_connections before load. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2);
	__type(key, __u64);
	__type(value, __u64);
} redir_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2);
	__type(key, __u64);
	__type(value, __u64);
} verdict_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__type(key, __u64);
	__type(value, struct sm_peer);
} peer_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sm_counters);
} counters SEC(".maps");

SEC("sk_skb/stream_verdict")
int splice_verdict(struct __sk_buff *skb)
{
	struct sm_counters *c;
	struct sm_peer *p;
	__u64 cookie;
	__u32 dir;
	long ret;

	/* A bare FIN arrives as an empty skb; redirecting it would stop the peer's send worker
	 * with EPIPE. User space forwards FINs itself (shutdown(2) on the peer). */
	if (skb->len == 0)
		return SK_DROP;

	cookie = bpf_get_socket_cookie(skb);
	p = bpf_map_lookup_elem(&peer_of, &cookie);
	if (!p)
		return SK_DROP;
	dir = p->dir & 1;
	c = bpf_map_lookup_elem(&counters, &p->slot);

	ret = bpf_sk_redirect_hash(skb, &redir_map, &p->peer_cookie, 0);
	if (c) {
		if (ret == SK_PASS)
			__sync_fetch_and_add(&c->redirected[dir], skb->len);
		else
			__sync_fetch_and_add(&c->dropped[dir], skb->len);
	}
	return ret;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
