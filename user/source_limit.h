/* SPDX-License-Identifier: MIT */
/*
 * source_limit.h - max_connections_per_source: how many connections each client address holds,
 * across every worker (SO_REUSEPORT spreads one client's connections over them). An IPv6
 * client counts per /64, the block one subscriber usually has; an IPv4-mapped one as IPv4.
 *
 * One table for the daemon, under a mutex taken once when a connection is counted and once
 * when it ends, never on the data path. Open addressing with a keyed hash (the key is random
 * per run, so that no client can aim for long probe chains), sized for max_connections
 * addresses at half load, so it never fills.
 */
#ifndef SOCKMUX_SOURCE_LIMIT_H
#define SOCKMUX_SOURCE_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct source_slot {
	uint8_t key[17];	/* [0]: 4 or 6, then the address (IPv4) or its /64 */
	uint32_t count;		/* 0: empty */
};

struct source_limit {
	pthread_mutex_t lock;
	uint32_t limit;		/* 0: no limit, nothing is counted */
	uint32_t mask;		/* slots - 1 */
	uint64_t seed;
	struct source_slot *slot;
};

/* 0 or -errno; limit 0 allocates nothing. */
int source_limit_init(struct source_limit *s, uint32_t limit, uint32_t max_conns);
void source_limit_fini(struct source_limit *s);
/*
 * Counts one more connection from sa: true, or false (nothing counted) when sa already holds
 * the limit. Always true without a limit.
 */
bool source_limit_take(struct source_limit *s, const struct sockaddr *sa);
/* Uncounts a connection source_limit_take() counted. */
void source_limit_put(struct source_limit *s, const struct sockaddr *sa);

#endif
