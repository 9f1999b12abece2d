// SPDX-License-Identifier: MIT
/* balance.c - picking a backend's server (see balance.h). */
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"

struct backend_state *balance_state_new(const struct config *cfg)
{
	return calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(struct backend_state));
}

static bool is_up(const struct backend_state *st, int i, uint64_t now)
{
	return atomic_load_explicit(&st->servers[i].down_until_ns, memory_order_relaxed) <= now;
}

/*
 * The servers this pick chooses among: untried, weight > 0; the up ones that are not backups,
 * else the up backups, else (all down) every untried one, so that a server back before its
 * down time ends is found by the clients themselves.
 */
static uint64_t candidates(const struct config_backend *b, const struct backend_state *st,
			   uint64_t tried, uint64_t now)
{
	uint64_t main = 0, backup = 0, any = 0;

	for (size_t i = 0; i < b->n_servers; i++) {
		if ((tried >> i) & 1 || !b->servers[i].weight)
			continue;
		any |= 1ull << i;
		if (!is_up(st, (int)i, now))
			continue;
		if (b->servers[i].backup)
			backup |= 1ull << i;
		else
			main |= 1ull << i;
	}
	return main ? main : backup ? backup : any;
}

/* 64-bit mix (splitmix64's finaliser) */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t client_key(const struct sockaddr *sa)
{
	uint64_t k = 0;

	if (sa && sa->sa_family == AF_INET) {
		k = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	} else if (sa && sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		uint64_t hi, lo;

		memcpy(&hi, a, 8);
		memcpy(&lo, a + 8, 8);
		k = mix(hi) ^ lo;
	}
	return mix(k);
}

/*
 * Weighted rendezvous hashing: each server scores -weight / ln(u), u uniform in (0, 1) from
 * (client, server address); the highest wins. A server going down moves only its own clients.
 */
static int pick_hash(const struct config_backend *b, uint64_t set, const struct sockaddr *client)
{
	uint64_t key = client_key(client);
	double best = -1;
	int win = -1;

	for (size_t i = 0; i < b->n_servers; i++) {
		const struct addr *a = &b->servers[i].addr;
		uint64_t h = 1469598103934665603ull;
		double u, score;

		if (!((set >> i) & 1))
			continue;
		for (size_t k = 0; k < a->len; k++)
			h = (h ^ ((const uint8_t *)&a->ss)[k]) * 1099511628211ull;
		h = mix(h ^ key);
		u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;	/* (0, 1) */
		score = -(double)b->servers[i].weight / log(u);
		if (score > best) {
			best = score;
			win = (int)i;
		}
	}
	return win;
}

static int pick_least(const struct config_backend *b, const struct backend_state *st,
		      uint64_t set)
{
	double best = 0;
	int win = -1;

	for (size_t i = 0; i < b->n_servers; i++) {
		double load;

		if (!((set >> i) & 1))
			continue;
		load = (double)atomic_load_explicit(&st->servers[i].live, memory_order_relaxed) /
		       b->servers[i].weight;
		if (win < 0 || load < best) {
			best = load;
			win = (int)i;
		}
	}
	return win;
}

/*
 * The next server of the smooth weighted cycle that is in set: the main servers' cycle, or
 * the backups' when set holds backups only. A server left out (down, tried) gives its turn
 * to the next one in the cycle.
 */
static int pick_rr(const struct config_backend *b, struct backend_state *st, uint64_t set)
{
	uint64_t at = atomic_fetch_add_explicit(&st->rr, 1, memory_order_relaxed);
	int t = b->servers[__builtin_ctzll(set)].backup;

	for (size_t k = 0; k < b->n_schedule[t]; k++) {
		int i = b->schedule[t][(at + k) % b->n_schedule[t]];

		if ((set >> i) & 1)
			return i;
	}
	/* set mixes main and backup servers only when every one is down: any of them */
	return __builtin_ctzll(set);
}

int balance_pick(const struct config_backend *b, struct backend_state *st,
		 const struct sockaddr *client, uint64_t tried, uint64_t now)
{
	uint64_t set = candidates(b, st, tried, now);

	if (!set)
		return -1;
	switch (b->balance) {
	case BALANCE_FIRST:
		return __builtin_ctzll(set);
	case BALANCE_LEAST_CONN:
		return pick_least(b, st, set);
	case BALANCE_SOURCE_HASH:
		return pick_hash(b, set, client);
	case BALANCE_ROUND_ROBIN:
		break;
	}
	return pick_rr(b, st, set);
}

void balance_failed(struct backend_state *st, int i, uint64_t now)
{
	atomic_store_explicit(&st->servers[i].down_until_ns, now + BALANCE_DOWN_MS * 1000000ull,
			      memory_order_relaxed);
}

void balance_take(struct backend_state *st, int i)
{
	atomic_fetch_add_explicit(&st->servers[i].live, 1, memory_order_relaxed);
}

void balance_put(struct backend_state *st, int i)
{
	atomic_fetch_sub_explicit(&st->servers[i].live, 1, memory_order_relaxed);
}
