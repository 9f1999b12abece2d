/* SPDX-License-Identifier: MIT */
/*
 * sockmap_state.h - the sockmap engine's state, for its own files only: daemon-wide (struct
 * sockmap_engine: the BPF object and its maps) and per connection (struct sockmap_state, in
 * conn->eng), their accessors, and the functions one of the files calls in another.
 * sockmap.c holds the engine_ops and a connection's steps, sockmap_maps.c the BPF object and
 * its maps, sockmap_carry.c the carrying of the bytes the program passed to user space. The
 * engine's public header, the loader's functions, is sockmap.h.
 */
#ifndef SOCKMUX_SOCKMAP_STATE_H
#define SOCKMUX_SOCKMAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "sockmap_shared.h"
#include "worker.h"

struct sockmap_bpf;

struct sockmap_engine {
	struct sockmap_bpf *skel;
	int redir_fd;
	int verdict_fd;
	int peer_fd;
	int prog_fd;
	struct sm_counters *counters;	/* mmap()ed array map, n_slots entries */
	uint32_t n_slots;
	size_t counters_len;
};

/*
 * Bytes of one direction that the verdict program passed to user space, read but not yet
 * written because the destination took less than offered. Usually none: reads are sized to
 * what the destination can take and go through the worker's scratch buffer.
 */
struct sockmap_spill {
	uint8_t *rest;
	uint32_t rest_off, rest_len;
	bool flushed_known;	/* sockmap_redirected_flushed() held when redirected was
				 * flushed_at */
	uint64_t flushed_at;
};

/* Engine state for the sockmap path. */
struct sockmap_state {
	uint64_t cookie[2];	/* socket cookies: [0] client, [1] backend */
	uint32_t slot;
	bool eof[2];		/* the socket of this side sent FIN */
	bool shut[2];		/* FIN passed on for direction [dir] */
	bool want_out[2];	/* EPOLLOUT wanted on socket [side] (a spill is blocked on it) */
	bool src_gone;		/* the failed socket (conn->fail) has nothing more to read */
	uint32_t backoff_ms;
	struct sockmap_spill spill[2];	/* per direction */
	/* for the log line, from the slot's counters at the end */
	uint32_t spills;	/* times a direction spilled to user space */
	uint32_t repeated_skbs;	/* skbs that began with bytes already carried, or read by user
				 * space (a PROXY header): cut or dropped */
	uint64_t kernel_bytes;	/* bytes redirected inside the kernel */
	uint64_t lost_on_reset;	/* bytes a failed socket's psock held for user space, gone
				 * with it (see step_failed()) */
};

_Static_assert(sizeof(struct sockmap_state) <= ENGINE_STATE_SIZE, "sockmap_state fits conn->eng");

static inline struct sockmap_state *state(struct conn *c)
{
	return (struct sockmap_state *)c->eng.bytes;
}

static inline struct sockmap_engine *engine(struct worker *w)
{
	return w->d->engine_data;
}

static inline struct sm_dir_state *dir_state(struct worker *w, struct conn *c, int dir)
{
	return &engine(w)->counters[state(c)->slot].dir[dir];
}

/* sockmap_maps.c */
/* The socket's SO_COOKIE, its key in the maps. 0 or -errno. */
int sockmap_sock_cookie(int fd, uint64_t *cookie);
/* Puts socket fd into the sockhash map_fd under key, which must be new. 0 or -errno. */
int sockmap_map_put_sock(int map_fd, uint64_t key, int fd);
/* Each socket's cookie -> its peer's, the slot and its direction, in one call; 0 or -errno. */
int sockmap_put_peers(struct sockmap_engine *e, struct sockmap_state *s);
/* Deletes the connection's peer_of entries; closing its sockets takes them out of the rest. */
void sockmap_unmap_conn(struct sockmap_engine *e, struct sockmap_state *s);

/* sockmap.c */
/* Watches socket side for input, edge-triggered, and output while want_out[side]. 0 or -errno. */
int sockmap_watch(struct worker *w, struct conn *c, int side);

/* sockmap_carry.c */
/* True once direction dir's redirected and written bytes are in the destination's send queue. */
bool sockmap_redirected_flushed(struct worker *w, struct conn *c, int dir);
/* Carries direction dir's passed bytes: 0, 1 poll again, or -errno with *side the failed socket. */
int sockmap_carry(struct worker *w, struct conn *c, int dir, int *side);

#endif
