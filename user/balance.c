// SPDX-License-Identifier: MIT
/* balance.c - picking a backend's server (see balance.h). */
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "balance.h"
#include "clock.h"

static const char *const check_names[CHECK__COUNT] = {
	[CHECK_NONE] = "none",
	[CHECK_OK] = "ok",
	[CHECK_REFUSED] = "refused",
	[CHECK_RESET] = "reset",
	[CHECK_TIMEOUT] = "timeout",
	[CHECK_UNREACHABLE] = "unreachable",
	[CHECK_ERROR] = "error",
	[CHECK_CLOSED] = "closed",
	[CHECK_NOT_TLS] = "not_tls",
	[CHECK_TLS_ALERT] = "tls_alert",
};

const char *check_result_str(enum check_result r)
{
	return r < CHECK__COUNT ? check_names[r] : "?";
}

struct server_state *server_state_get(struct server_state *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void server_state_put(struct server_state *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

/* The state of the server at a in old's backend called name, not yet taken by taken. */
static struct server_state *old_state(const struct config *old_cfg, struct backend_state *old,
				      const char *name, const struct addr *a,
				      const struct backend_state *taken, size_t n_taken)
{
	for (size_t k = 0; old_cfg && old && k < old_cfg->n_backends; k++) {
		const struct config_backend *ob = &old_cfg->backends[k];

		if (strcmp(ob->name, name))
			continue;
		for (size_t i = 0; i < ob->n_servers; i++) {
			struct server_state *s = old[k].servers[i];
			bool dup = false;

			if (!addr_equal(&ob->servers[i].addr, a))
				continue;
			for (size_t t = 0; t < n_taken; t++)
				dup |= taken->servers[t] == s;
			if (!dup)
				return s;
		}
	}
	return NULL;
}

struct backend_state *balance_state_new(const struct config *cfg, const struct config *old_cfg,
					struct backend_state *old)
{
	struct backend_state *st = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*st));

	if (!st)
		return NULL;
	for (size_t k = 0; k < cfg->n_backends; k++) {
		const struct config_backend *b = &cfg->backends[k];

		for (size_t i = 0; i < b->n_servers; i++) {
			struct server_state *s = old_state(old_cfg, old, b->name,
							   &b->servers[i].addr, &st[k], i);

			if (s) {
				server_state_get(s);
			} else {
				s = calloc(1, sizeof(*s));
				if (!s) {
					balance_state_free(cfg, st);
					return NULL;
				}
				atomic_init(&s->refs, 1);
				s->created_rt = realtime_ns();
			}
			st[k].servers[i] = s;
		}
	}
	return st;
}

void balance_state_free(const struct config *cfg, struct backend_state *st)
{
	if (!st)
		return;
	for (size_t k = 0; k < cfg->n_backends; k++)
		for (size_t i = 0; i < cfg->backends[k].n_servers; i++)
			server_state_put(st[k].servers[i]);
	free(st);
}

bool balance_is_up(const struct config_backend *b, const struct backend_state *st, int i,
		   uint64_t now)
{
	const struct server_state *s = st->servers[i];

	if (b->health.on && atomic_load_explicit(&s->check_down, memory_order_relaxed))
		return false;
	return atomic_load_explicit(&s->down_until_ns, memory_order_relaxed) <= now;
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
		if (!balance_is_up(b, st, (int)i, now))
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

/*
 * The servers of set with the fewest live connections per weight; among equals, the round
 * robin decides (HAProxy's leastconn does the same), so that short connections one after
 * another still spread by weight instead of all going to the first server.
 */
static int pick_rr(const struct config_backend *b, struct backend_state *st, uint64_t set);

static uint64_t least_loaded(const struct config_backend *b, const struct backend_state *st,
			     uint64_t set)
{
	uint64_t best_set = 0;
	double best = 0;

	for (size_t i = 0; i < b->n_servers; i++) {
		double load;

		if (!((set >> i) & 1))
			continue;
		load = (double)atomic_load_explicit(&st->servers[i]->live, memory_order_relaxed) /
		       b->servers[i].weight;
		if (!best_set || load < best) {
			best = load;
			best_set = 1ull << i;
		} else if (load == best) {
			best_set |= 1ull << i;
		}
	}
	return best_set;
}

/*
 * The next server of the smooth weighted cycle that is in set: the main servers' cycle, or
 * the backups' when set holds backups only. A position whose server is left out (down,
 * tried) is used up and the next one taken, so that the servers in set keep the shares of
 * their weights among themselves (giving the turn to the next server in the cycle instead
 * would hand it every turn of the down servers before it).
 */
static int pick_rr(const struct config_backend *b, struct backend_state *st, uint64_t set)
{
	int t = b->servers[__builtin_ctzll(set)].backup;

	for (size_t k = 0; k < b->n_schedule[t]; k++) {
		uint64_t at = atomic_fetch_add_explicit(&st->rr, 1, memory_order_relaxed);
		int i = b->schedule[t][at % b->n_schedule[t]];

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
		return pick_rr(b, st, least_loaded(b, st, set));
	case BALANCE_SOURCE_HASH:
		return pick_hash(b, set, client);
	case BALANCE_ROUND_ROBIN:
		break;
	}
	return pick_rr(b, st, set);
}

void balance_failed(const struct config_backend *b, struct backend_state *st, int i,
		    uint64_t now)
{
	struct server_state *s = st->servers[i];

	atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
	if (atomic_load_explicit(&s->down_until_ns, memory_order_relaxed) <= now)
		atomic_store_explicit(&s->down_since_rt, realtime_ns(), memory_order_relaxed);
	atomic_store_explicit(&s->down_until_ns, now + b->health.interval_ms * 1000000ull,
			      memory_order_relaxed);
}

void balance_connected(struct backend_state *st, int i)
{
	atomic_fetch_add_explicit(&st->servers[i]->carried, 1, memory_order_relaxed);
}

void balance_take(struct backend_state *st, int i)
{
	atomic_fetch_add_explicit(&st->servers[i]->live, 1, memory_order_relaxed);
}

void balance_put(struct backend_state *st, int i)
{
	atomic_fetch_sub_explicit(&st->servers[i]->live, 1, memory_order_relaxed);
}
