/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the Prometheus endpoint (`metrics = "ADDR:PORT";`): GET /metrics answers the
 * statistics (stats.h) in the Prometheus text exposition format. libmicrohttpd serves HTTP
 * from its own thread; each scrape sums the workers' counters.
 */
#ifndef SOCKMUX_METRICS_H
#define SOCKMUX_METRICS_H

#include <stdio.h>

#include "ops/stats_snapshot.h"

struct daemon;
struct metrics;

/* Starts the server when the configuration asks for one (*out NULL otherwise); 0 or -errno. */
int metrics_start(struct daemon *d, struct metrics **out);
void metrics_stop(struct metrics *m);

/* The exposition text of snapshot s (used by the server; exposed for tests). */
void metrics_write(struct daemon *d, const struct stats_snapshot *s, FILE *f);

#endif
