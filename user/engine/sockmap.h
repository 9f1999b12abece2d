/* SPDX-License-Identifier: MIT */
/*
 * sockmap.h - loader of bpf/sockmap.bpf.c (sockmap_maps.c) and the sockmap engine built on
 * it (sockmap.c).
 *
 * sockmap_open() loads the verdict program and its maps sized for max_conns connections and
 * attaches the program to verdict_map; the engine ops (sockmap_engine_ops, engine.h) then
 * put each routed connection's two sockets into the maps.
 */
#ifndef SOCKMUX_SOCKMAP_H
#define SOCKMUX_SOCKMAP_H

#include <stdbool.h>
#include <stdint.h>

struct sockmap_engine;

/*
 * 0 or -errno; on failure *why is a short static explanation for the log. backpressure false
 * loads the program without its congestion check: the kernel's own unbounded behaviour, kept
 * only so that benchmarks can show what the check costs and saves.
 */
int sockmap_open(struct sockmap_engine **out, uint32_t max_conns, bool backpressure,
		 const char **why);
void sockmap_close(struct sockmap_engine *e);
/* Logs the ids of the program and maps, for bpftool. */
void sockmap_log_ids(const struct sockmap_engine *e);

#endif
