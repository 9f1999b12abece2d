/* SPDX-License-Identifier: MIT */
/* stats_render.h - a snapshot as the JSON of `sockmux stats --json`, or as text for people. */
#ifndef SOCKMUX_STATS_RENDER_H
#define SOCKMUX_STATS_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "ops/stats_snapshot.h"

struct daemon;

/*
 * The JSON document of `sockmux stats --json` (docs/stats.md): cur, with rates per second
 * taken between prev and last (two earlier snapshots; rates 0 when prev is empty).
 */
void stats_write_json(struct daemon *d, const struct stats_snapshot *cur,
		      const struct stats_snapshot *prev, const struct stats_snapshot *last,
		      FILE *f);
/* s as a JSON string, quotes included; control characters and non-ASCII escaped. */
void stats_json_str(FILE *f, const char *s);
/*
 * The same as aligned text for people; by_throughput: each table sorted by current
 * throughput, busiest first (`sockmux top`).
 */
void stats_write_text(struct daemon *d, const struct stats_snapshot *cur,
		      const struct stats_snapshot *prev, const struct stats_snapshot *last,
		      bool by_throughput, FILE *f);

#endif
