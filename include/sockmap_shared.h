/* SPDX-License-Identifier: MIT */
/*
 * sockmap_shared.h - types shared by bpf/sockmap.bpf.c and its loader user/engine/sockmap_maps.c.
 * The sm_ prefix (SM_ for constants) marks what both sides of the kernel see: these types and
 * nothing else. User-space types are named for their module (struct config_route, addr.h's
 * struct addr).
 *
 * Each handed-off connection owns one slot. Its two sockets are known to the verdict program by
 * their socket cookies: peer_of maps a socket's cookie to its peer's cookie, its slot and the
 * direction its incoming bytes travel; redir_map holds the sockets, keyed by cookie, as
 * redirect targets; verdict_map holds the same sockets with the verdict program attached.
 *
 * Back-pressure ("spilling"): the program redirects a socket's bytes to its peer only while
 * the peer can take them (bytes waiting in the peer's psock + its send queue + this skb fit in
 * its send buffer). Otherwise it passes them (SK_PASS) to the receiving socket, where they stay
 * charged to its receive buffer, so TCP flow control slows the sender, and user space carries
 * them. Once spilling starts it stays on ("sticky") until user space has written every passed
 * byte and the peer has room again; only then does the program redirect again, so no byte can
 * overtake another.
 *
 * Repeated bytes: tcp_read_skb() hands the program whole skbs from the receive queue, and a
 * segment that overlaps bytes already received (a retransmission coalesced with new data, or
 * a duplicated packet) is queued whole, its start before rcv_nxt. So the program follows the
 * TCP sequence numbers and never lets a byte through twice: a wholly repeated skb is dropped,
 * a partly repeated one has its repeated head cut off before it goes anywhere.
 */
#ifndef SOCKMUX_SOCKMAP_SHARED_H
#define SOCKMUX_SOCKMAP_SHARED_H

/* Direction of the bytes a socket receives: client->backend or backend->client. */
enum sm_dir {
	SM_DIR_UP = 0,		/* received on the client socket, sent to the backend */
	SM_DIR_DOWN = 1,	/* received on the backend socket, sent to the client */
};

#define SM_BASE_SET (1ULL << 63)

struct sm_peer {
	__u64 peer_cookie;	/* key of the peer socket in redir_map */
	__u32 slot;		/* index into counters */
	__u32 dir;		/* enum sm_dir */
};

/*
 * One direction of one connection. Each field has one writer: the verdict program (which runs
 * serialised per receiving socket) or user space.
 */
struct sm_dir_state {
	__u64 redirected;	/* BPF: bytes redirected to the peer inside the kernel */
	__u64 passed;		/* BPF: bytes passed to user space while spilling */
	__u64 dropped;		/* BPF: bytes dropped (peer gone) */
	__u64 written;		/* user space: passed bytes written to the peer */
	__u64 peer_base;	/* BPF, at the direction's first skb: the peer's bytes_acked
				 * + SIOCOUTQ then, | SM_BASE_SET; 0 before */
	__u32 spilling;		/* BPF: set while user space carries this direction */
	__u32 spills;		/* BPF: how many times spilling started */
	__u32 next_seq;		/* BPF: TCP sequence number of the next new byte */
	__u32 seq_known;	/* BPF: next_seq is set (from the socket's copied_seq) */
	__u32 repeated_skbs;	/* BPF: skbs that began with bytes already carried or read by
				 * user space (a PROXY header): dropped or cut */
	__u32 broken;		/* BPF: bytes lost or a repeat that could not be cut off:
				 * user space resets the connection */
	__u32 fin;		/* BPF: the FIN went through the program, after every byte */
	__u32 pad;
	__u64 pad2[7];		/* 128 bytes: directions do not share a cache line */
};

struct sm_counters {
	struct sm_dir_state dir[2];
};

#endif
