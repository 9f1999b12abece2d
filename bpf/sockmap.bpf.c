// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sockmap.bpf.c - the in-kernel data path: an sk_skb stream verdict program that moves every
 * byte a spliced socket receives to its peer's egress while the peer can take it, and passes
 * it to user space ("spills") while the peer is congested, so a slow reader slows the sender
 * through TCP flow control instead of making the kernel queue without bound. It follows the
 * TCP sequence numbers, so bytes the kernel hands it twice (overlapping retransmissions) go
 * through once.
 *
 * Loaded by user/engine/sockmap_maps.c and driven by user/engine/sockmap.c; maps and the spill
 * protocol are described in include/sockmap_shared.h. Reading the peer's tcp_sock needs
 * CAP_PERFMON (as root: given).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "sockmap_shared.h"

#define TCPHDR_FIN 0x01
#define SK_DROP 0
#define SK_PASS 1

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* bpf_skb_adjust_room() cuts at most 4095 bytes off an sk_skb at a time */
#define SM_CUT_STEP	4095
#define SM_CUT_STEPS	64

/* Set by the loader before load; false only for `--engine sockmap-unbounded` (measurement). */
const volatile bool backpressure = true;

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

/*
 * Bytes that entered the peer's TCP send queue since the engine began sending to it in this
 * direction. Its base is taken here, at the direction's first skb, before the engine sent the
 * peer anything that way: what it holds then (SYN, a PROXY header user space wrote before the
 * hand-off) is out of the sum, so the count is exact.
 */
static __always_inline __u64 peer_entered(struct tcp_sock *tp, struct sm_dir_state *d)
{
	__u32 una, i;
	__u64 now = 0;

	/* read without the peer's lock: an ACK between bytes_acked and snd_una would tear the
	 * sum (and a torn base stays for the connection's life), so read until snd_una holds */
	for (i = 0; i < 4; i++) {
		una = *(volatile __u32 *)&tp->snd_una;
		now = *(volatile __u64 *)&tp->bytes_acked +
		      (__u32)(*(volatile __u32 *)&tp->write_seq - una);
		if (*(volatile __u32 *)&tp->snd_una == una)
			break;
	}

	if (!(d->peer_base & SM_BASE_SET))
		d->peer_base = now | SM_BASE_SET;	/* one store: user space reads it */
	return now - (d->peer_base & ~SM_BASE_SET);
}

/*
 * True when the peer cannot take len more bytes now: what waits in its psock (redirected or
 * written towards it, minus what entered its send queue) plus its send queue plus this skb
 * exceeds its send buffer.
 */
static __always_inline bool peer_congested(struct tcp_sock *tp, struct sm_dir_state *d,
					   __u64 entered, __u32 len)
{
	__u64 moved = d->redirected + *(volatile __u64 *)&d->written;
	__s64 waiting = (__s64)(moved - entered);
	int queued, sndbuf;

	if (waiting < 0)
		waiting = 0;
	queued = tp->inet_conn.icsk_inet.sk.sk_wmem_queued;
	sndbuf = tp->inet_conn.icsk_inet.sk.sk_sndbuf;
	return waiting + queued + len > sndbuf;
}

/*
 * The direction's first skb: the stream goes on from the receiving socket's copied_seq, the
 * first byte user space has not read (it peeked the hello, or read a PROXY header off), which
 * the program has not moved yet. An skb that starts before it (a retransmission overlapping
 * what user space read) is cut like any repeat. Without the socket, the first skb's start.
 */
static __always_inline void start_seq(__u64 cookie, struct sm_dir_state *d)
{
	struct bpf_sock *self = bpf_map_lookup_elem(&redir_map, &cookie);
	struct tcp_sock *tp;

	if (!self)
		return;
	tp = bpf_skc_to_tcp_sock(self);
	if (tp) {
		d->next_seq = tp->copied_seq;
		d->seq_known = 1;
	}
	bpf_sk_release(self);
}

/*
 * After the counts: user space reads fin, then the counts (drained()). The compiler keeps the
 * stores in this order; x86, the only target built (vmlinux.h), keeps them so for other CPUs.
 */
static __always_inline void set_fin(struct sm_dir_state *d)
{
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&d->fin = 1;
}

/* What the skb's TCP control block says: its first byte's sequence number, and FIN. */
static __always_inline __u32 skb_tcp_seq(struct __sk_buff *ctx, bool *fin)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	struct tcp_skb_cb *cb = (struct tcp_skb_cb *)skb->cb;

	*fin = BPF_CORE_READ(cb, tcp_flags) & TCPHDR_FIN;
	return BPF_CORE_READ(cb, seq);
}

enum seq_verdict { SEQ_NEW, SEQ_REPEAT, SEQ_BROKEN };

/*
 * Makes the skb carry only bytes the program has not seen: drops a wholly repeated skb
 * (SEQ_REPEAT), cuts a repeated head off (SEQ_NEW, *len updated), flags lost bytes or a head
 * it could not cut (SEQ_BROKEN). seq is the skb's, from its TCP control block (kernel
 * context, CO-RE; CAP_PERFMON, as for peer_congested()).
 */
static __always_inline enum seq_verdict check_seq(struct __sk_buff *ctx, struct sm_dir_state *d,
						  __u32 seq, __u32 *len)
{
	__s32 ahead = (__s32)(seq - d->next_seq);
	__u32 cut, i;

	if (!d->seq_known || ahead == 0) {
		d->seq_known = 1;
		d->next_seq = seq + *len;
		return SEQ_NEW;
	}
	if (ahead > 0) {
		/* bytes between next_seq and seq never came: nothing can make the stream whole */
		d->broken = 1;
		d->next_seq = seq + *len;
		return SEQ_BROKEN;
	}
	d->repeated_skbs++;
	if ((__s32)(seq + *len - d->next_seq) <= 0)
		return SEQ_REPEAT;
	cut = (__u32)-ahead;
	d->next_seq = seq + *len;
	for (i = 0; i < SM_CUT_STEPS && cut; i++) {
		__u32 step = cut > SM_CUT_STEP ? SM_CUT_STEP : cut;

		if (bpf_skb_adjust_room(ctx, -(__s32)step, 0, 0))
			break;
		cut -= step;
		*len -= step;
	}
	if (cut) {
		d->broken = 1;
		return SEQ_BROKEN;
	}
	return SEQ_NEW;
}

/* What the program does with an skb, and so what it counts. */
enum action { ACT_DROP, ACT_PASS, ACT_REDIRECTED };

/*
 * A new skb: to the peer's egress while the peer can take it; to user space (passed) while
 * it cannot, or while bytes passed earlier are not written yet (spilling is sticky, so no
 * byte overtakes another).
 */
static __always_inline enum action redirect_or_spill(struct __sk_buff *skb, struct sm_peer *p,
						     struct sm_dir_state *d, __u32 len)
{
	struct bpf_sock *peer;
	struct tcp_sock *tp;
	__u64 entered;
	long ret;

	if (d->spilling && *(volatile __u64 *)&d->written != d->passed)
		return ACT_PASS;
	peer = bpf_map_lookup_elem(&redir_map, &p->peer_cookie);
	if (!peer) {
		d->dropped += len;
		return ACT_DROP;
	}
	tp = bpf_skc_to_tcp_sock(peer);
	if (!tp) {
		/* not a TCP socket: cannot happen for what user space inserts */
		bpf_sk_release(peer);
		d->broken = 1;
		return ACT_PASS;
	}
	/* peer_entered() records the peer's base at the first skb, bounded or not: user space
	 * needs it to know when redirected bytes have left the psock */
	entered = peer_entered(tp, d);
	if (backpressure && peer_congested(tp, d, entered, len)) {
		bpf_sk_release(peer);
		if (!d->spilling) {
			d->spilling = 1;
			d->spills++;
		}
		return ACT_PASS;
	}
	ret = bpf_sk_redirect_hash(skb, &redir_map, &p->peer_cookie, 0);
	bpf_sk_release(peer);
	if (ret != SK_PASS) {
		d->dropped += len;
		return ACT_DROP;
	}
	d->spilling = 0;
	d->redirected += len;
	return ACT_REDIRECTED;
}

/*
 * Each skb a handed-off socket receives: to the peer, or passed to user space (see
 * redirect_or_spill()); repeated bytes are cut or dropped first (check_seq()), and a FIN is
 * marked after the bytes it came with are counted.
 */
SEC("sk_skb/stream_verdict")
int peer_or_pass(struct __sk_buff *skb)
{
	enum action act = ACT_DROP;
	struct sm_dir_state *d;
	struct sm_counters *c;
	struct sm_peer *p;
	__u32 len = skb->len, seq;
	__u64 cookie;
	bool fin;

	cookie = bpf_get_socket_cookie(skb);
	p = bpf_map_lookup_elem(&peer_of, &cookie);
	if (!p)
		return SK_DROP;
	c = bpf_map_lookup_elem(&counters, &p->slot);
	if (!c)
		return SK_DROP;
	d = &c->dir[p->dir & 1];
	seq = skb_tcp_seq(skb, &fin);

	/* A bare FIN arrives as an empty skb; redirecting it would stop the peer's send worker
	 * with EPIPE. User space passes FINs on itself (shutdown(2) on the peer) once d->fin
	 * says every byte before it went through here. */
	if (len) {
		if (!d->seq_known)
			start_seq(cookie, d);
		switch (check_seq(skb, d, seq, &len)) {
		case SEQ_NEW:
			act = redirect_or_spill(skb, p, d, len);
			break;
		case SEQ_REPEAT:
			break;
		case SEQ_BROKEN:
			/* passed, so user space wakes up, sees d->broken and resets the connection */
			d->spilling = 1;
			act = ACT_PASS;
			break;
		}
	}
	if (act == ACT_PASS)
		d->passed += len;
	if (fin)
		set_fin(d);
	return act == ACT_DROP ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
