/* SPDX-License-Identifier: MIT */
/*
 * stats_servers.h - each server of the live configuration's backends at one moment
 * (stats_servers.c): up or down as balancing sees it, why and since when, its live and
 * carried connections, failed connects, health check results. Part of a stats snapshot;
 * rendered by stats_render.c, metrics.c, and read by `sockmux route` through the control
 * socket (the "servers" request).
 */
#ifndef SOCKMUX_STATS_SERVERS_H
#define SOCKMUX_STATS_SERVERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "balance.h"

struct daemon;

enum server_down {
	SERVER_UP,
	SERVER_DOWN_CHECK,	/* its health checks failed fall times in a row */
	SERVER_DOWN_CONNECT,	/* a connect to it failed less than interval_ms ago */
};

struct stats_server {
	char *backend, *address;	/* copies */
	size_t backend_index, index;	/* in the live configuration */
	unsigned int weight;
	bool backup, checked;		/* checked: health checks on */
	enum server_down down;
	uint64_t since_rt;		/* CLOCK_REALTIME ns the state began */
	uint64_t rr;			/* the backend's round robin position */
	uint64_t live, carried, failed, checks_ok, checks_failed;
	enum check_result last_check;
};

/* The live configuration's servers into *out, *n; 0 or -ENOMEM. */
int stats_servers_take(struct daemon *d, struct stats_server **out, size_t *n);
void stats_servers_free(struct stats_server *s, size_t n);
/* "up", "down" */
const char *stats_server_state(const struct stats_server *s);
/* "check failed: refused", "connect failed", "" */
const char *stats_server_why(const struct stats_server *s, char *buf, size_t size);
/*
 * One line per server, tab-separated, for `sockmux route` (the control socket's "servers"
 * answer): backend name, server address, enum server_down, the last check's result, since
 * (unix seconds), live, carried, failed, the backend's round robin position. The reader is
 * stats_servers_parse_line().
 */
void stats_servers_write_lines(const struct stats_server *s, size_t n, FILE *f);
/* One such line back into s (its strings allocated); 0, -EINVAL or -ENOMEM. */
int stats_servers_parse_line(const char *line, struct stats_server *s);

#endif
