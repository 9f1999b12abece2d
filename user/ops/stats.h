/* SPDX-License-Identifier: MIT */
/*
 * stats.h - connection and byte counters per listener, route and backend.
 *
 * Each worker owns its counters and is their only writer (relaxed atomic loads and stores: no
 * lock and no locked instruction on the data path); the control thread and the metrics server
 * sum every worker's counters on demand (ops/stats_snapshot.h). Bytes an engine moves inside the
 * kernel (the sockmap engine) are not seen by the worker until the connection ends: for a
 * live connection they are read from the engine (engine_ops.live_bytes) through the slot
 * table, which the worker's lock guards together with the move of a slot's final bytes into
 * the totals, so that a snapshot never counts a connection's bytes twice or not at all.
 *
 * Rows are numbered by stats ids, which outlive configuration reloads: a listener keeps its
 * id as long as its address stays, a backend as long as its name, a route is its position.
 * The daemon's registry (struct stats_names) gives each id its name; a reload adds ids,
 * never removes one, so totals never go back.
 */
#ifndef SOCKMUX_STATS_H
#define SOCKMUX_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "config_gen.h"
#include "conn.h"

/* Upper bounds of the latency histograms' buckets, in microseconds; +Inf follows. */
#define STATS_HIST_BUCKETS 13
extern const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS];


/* One listener's, route's or backend's counters in one worker. */
struct stats_row {
	_Atomic uint64_t conns;		/* accepted (listener) or routed (route, backend) */
	_Atomic uint64_t active;	/* of those, not ended yet */
	_Atomic uint64_t bytes[2];	/* [0] client->backend (in), [1] backend->client (out) */
	_Atomic uint64_t ends[END__COUNT];
};

struct stats_hist {
	_Atomic uint64_t bucket[STATS_HIST_BUCKETS + 1];	/* not cumulative; last: +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

/*
 * How the splice engine's directions moved their bytes (engines with a pipe pool): a
 * direction takes a pipe from the worker's pool while it has bytes in flight, and copies
 * through user space when none can be had (engine/splice.c).
 */
enum stats_pipe {
	STATS_PIPE_TAKEN,	/* a direction took a pipe from the pool */
	STATS_PIPE_REFUSED,	/* a direction found none and copied instead */
	STATS_PIPE_COPIED,	/* bytes so copied */
	STATS_PIPE_SWITCHES,	/* a direction moved bytes by copy after pipe, or back */
	STATS_PIPE__COUNT
};

/* Which rows a sockmap slot's live bytes belong to; sid[STATS_LISTENER] UINT32_MAX: free. */
struct stats_slot {
	uint32_t sid[STATS__KINDS];
};

/* What a stats id stands for: the latest configuration's view of it. */
struct stats_name {
	char *name;		/* listener: canonical address; backend: name; route: its
				 * backend's name */
	char *address;		/* backend: its address; else NULL */
	int line;		/* in the latest configuration that had it */
	bool present;		/* in the configuration now running */
};

struct stats_names {
	pthread_mutex_t lock;	/* the main thread writes at a reload; readers copy */
	struct stats_name *name[STATS__KINDS];
	size_t n[STATS__KINDS];
};

struct worker_stats {
	struct stats_row *row[STATS__KINDS];
	size_t n_rows[STATS__KINDS];
	struct stats_hist handshake;	/* accept -> routing decision */
	struct stats_hist connect;	/* connect() -> backend connected */
	_Atomic uint64_t pipes[STATS_PIPE__COUNT];
	pthread_mutex_t lock;		/* slots, the move of a slot's bytes into rows, and
					 * the growth of row[] at a reload */
	struct stats_slot *slots;	/* [max_conns], engines with live_bytes only */
	bool ready;
};

/* Gives gen's listeners, routes and backends their stats ids (new ones where needed). */
int stats_names_update(struct stats_names *names, struct config_gen *gen);
void stats_names_fini(struct stats_names *names);

/*
 * A worker's counters, with rows for every id in names and, for an engine with live_bytes,
 * `slots` slots (its max_conns; 0: none); 0 or -ENOMEM.
 */
int stats_worker_init(struct worker_stats *ws, struct stats_names *names, unsigned int slots);
void stats_worker_fini(struct worker_stats *ws);
/* ws has rows for every id in names (after a reload); 0 or -ENOMEM. */
int stats_worker_fit(struct worker_stats *ws, struct stats_names *names);

/* Worker side: each called by the connection's own worker, on its counters. */
void stats_conn_accepted(struct worker_stats *ws, const struct conn *c);
void stats_conn_routed(struct worker_stats *ws, const struct conn *c, uint64_t now);
void stats_conn_connected(struct worker_stats *ws, const struct conn *c, uint64_t now);
/* Adds v to the worker's pipe counter k (enum stats_pipe). */
void stats_pipe_add(struct worker_stats *ws, enum stats_pipe k, uint64_t v);
/* Adds what c->bytes[] gained since the last call to c's rows. */
void stats_conn_bytes(struct worker_stats *ws, struct conn *c);
void stats_conn_ended(struct worker_stats *ws, struct conn *c);
/*
 * Engines with live_bytes: the worker's slot (0..max_conns-1) now carries c's bytes; or no
 * longer, its bytes already in c->bytes[].
 */
void stats_slot_own(struct worker_stats *ws, uint32_t slot, const struct conn *c);
void stats_slot_lock(struct worker_stats *ws);
void stats_slot_free(struct worker_stats *ws, uint32_t slot);
void stats_slot_unlock(struct worker_stats *ws);

/* Whether an end reason is a failure (counted in failures by reason). */
bool stats_end_is_failure(enum conn_end end);

/* Frees an array of n names (stats_names, snapshots' copies). */
void stats_names_free(struct stats_name *arr, size_t n);

#endif
