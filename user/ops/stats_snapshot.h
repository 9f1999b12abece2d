/* SPDX-License-Identifier: MIT */
/*
 * stats_snapshot.h - every worker's counters (ops/stats.h) summed at one moment, with the
 * bytes engines still hold for live connections and the names of what they count: what
 * `sockmux stats`, `top` and /metrics show.
 */
#ifndef SOCKMUX_STATS_SNAPSHOT_H
#define SOCKMUX_STATS_SNAPSHOT_H

#include "ops/stats.h"
#include "ops/stats_servers.h"

struct daemon;

/* Summed over every worker. */
struct stats_sum {
	uint64_t conns, active, bytes[2], ends[END__COUNT];
};

struct stats_hist_sum {
	uint64_t bucket[STATS_HIST_BUCKETS + 1];
	uint64_t count, sum_us;
};

struct stats_snapshot {
	uint64_t taken_ns;		/* CLOCK_MONOTONIC */
	size_t n[STATS__KINDS];
	struct stats_sum total;		/* over every listener */
	struct stats_sum *row[STATS__KINDS];
	struct stats_name *name[STATS__KINDS];	/* copies */
	struct stats_hist_sum handshake, connect;
	uint64_t pipes[STATS_PIPE__COUNT];	/* enum stats_pipe */
	struct stats_server *servers;	/* the live configuration's */
	size_t n_servers;
};

/* 0 or -ENOMEM; free with stats_snapshot_free(). */
int stats_snapshot(struct daemon *d, struct stats_snapshot *s);
void stats_snapshot_free(struct stats_snapshot *s);

#endif
