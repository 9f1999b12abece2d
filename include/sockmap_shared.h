/* SPDX-License-Identifier: MIT */
/*
 * sockmap_shared.h - types shared by bpf/sockmap.bpf.c and its loader user/sockmap.c.
 *
 * Each spliced connection owns one slot. Its two sockets are known to the verdict program by
 * their socket cookies: peer_of maps a socket's cookie to its peer's cookie, its slot and the
 * direction its incoming bytes travel; redir_map holds the sockets, keyed by cookie, as
 * redirect targets; verdict_map holds the same sockets with the verdict program attached.
 */
#ifndef SOCKMUX_SOCKMAP_SHARED_H
#define SOCKMUX_SOCKMAP_SHARED_H

/* Direction of the bytes a socket receives: client->backend or backend->client. */
enum sm_dir {
	SM_DIR_UP = 0,		/* received on the client socket, sent to the backend */
	SM_DIR_DOWN = 1,	/* received on the backend socket, sent to the client */
};

struct sm_peer {
	__u64 peer_cookie;	/* key of the peer socket in redir_map */
	__u32 slot;		/* index into counters */
	__u32 dir;		/* enum sm_dir */
};

/* Written only by the verdict program; read by user space through an mmap()ed array. */
struct sm_counters {
	__u64 redirected[2];	/* bytes redirected per enum sm_dir */
	__u64 dropped[2];	/* bytes the program could not redirect (peer gone) */
};

#endif
