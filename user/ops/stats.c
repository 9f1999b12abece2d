// SPDX-License-Identifier: MIT
/*
 * stats.c - per-worker connection and byte counters and their sum over the workers (see
 * stats.h). Rendering them is stats_render.c's job.
 */
#include <errno.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_gen.h"
#include "ops/stats.h"
#include "sniff/sniff.h"

const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000,
};

/* The worker is the only writer: a plain load and store, no locked instruction. */
static void add(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static int find_name(const struct stats_names *names, int kind, const char *name)
{
	for (size_t i = 0; i < names->n[kind]; i++)
		if (!strcmp(names->name[kind][i].name, name))
			return (int)i;
	return -1;
}

/* The id of name in kind (by name; routes by position), added if new; -ENOMEM. */
static int name_id(struct stats_names *names, int kind, size_t pos, const char *name)
{
	struct stats_name *arr;
	int id = kind == STATS_ROUTE ? (pos < names->n[kind] ? (int)pos : -1) :
				       find_name(names, kind, name);

	if (id >= 0)
		return id;
	arr = realloc(names->name[kind], (names->n[kind] + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	names->name[kind] = arr;
	memset(&arr[names->n[kind]], 0, sizeof(*arr));
	arr[names->n[kind]].name = strdup(name);
	if (!arr[names->n[kind]].name)
		return -ENOMEM;
	return (int)names->n[kind]++;
}

static int set_name(struct stats_name *n, const char *name, const char *address, int line)
{
	char *a = strdup(name), *b = address ? strdup(address) : NULL;

	if (!a || (address && !b)) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	free(n->name);
	free(n->address);
	n->name = a;
	n->address = b;
	n->line = line;
	n->present = true;
	return 0;
}

int stats_names_update(struct stats_names *names, struct config_gen *gen)
{
	const struct config *cfg = &gen->cfg;
	size_t count[STATS__KINDS] = { cfg->n_listeners, cfg->n_routes, cfg->n_backends,
				       PROTO__COUNT };
	char addr[ADDR_STRLEN];
	int kind, id, err = 0;
	size_t i;

	for (kind = 0; kind < STATS__KINDS; kind++) {
		gen->sid[kind] = calloc(count[kind] ? count[kind] : 1, sizeof(uint32_t));
		if (!gen->sid[kind])
			return -ENOMEM;
	}
	pthread_mutex_lock(&names->lock);
	for (kind = 0; kind < STATS__KINDS; kind++)
		for (i = 0; i < names->n[kind]; i++)
			names->name[kind][i].present = false;
	for (i = 0; !err && i < count[STATS_LISTENER]; i++) {
		const struct config_listener *l = &cfg->listeners[i];

		addr_format((const struct sockaddr *)&l->addr.ss, addr, sizeof(addr));
		id = name_id(names, STATS_LISTENER, i, addr);
		err = id < 0 ? id : set_name(&names->name[STATS_LISTENER][id], addr, NULL, l->line);
		gen->sid[STATS_LISTENER][i] = (uint32_t)id;
	}
	for (i = 0; !err && i < count[STATS_BACKEND]; i++) {
		const struct config_backend *b = &cfg->backends[i];

		id = name_id(names, STATS_BACKEND, i, b->name);
		err = id < 0 ? id : set_name(&names->name[STATS_BACKEND][id], b->name, b->text,
					     b->line);
		gen->sid[STATS_BACKEND][i] = (uint32_t)id;
	}
	for (i = 0; !err && i < count[STATS_ROUTE]; i++) {
		const struct config_route *r = &cfg->routes[i];
		const char *backend = cfg->backends[r->backend].name;

		id = name_id(names, STATS_ROUTE, i, backend);
		err = id < 0 ? id : set_name(&names->name[STATS_ROUTE][id], backend, NULL, r->line);
		gen->sid[STATS_ROUTE][i] = (uint32_t)id;
	}
	/* protocols this build knows, by name; the others have no row */
	for (i = 0; !err && i < count[STATS_PROTOCOL]; i++) {
		const char *proto = sniff_proto_name((enum sniff_proto)i);

		gen->sid[STATS_PROTOCOL][i] = UINT32_MAX;
		if (!strcmp(proto, "?"))
			continue;
		id = name_id(names, STATS_PROTOCOL, i, proto);
		err = id < 0 ? id : set_name(&names->name[STATS_PROTOCOL][id], proto, NULL, 0);
		gen->sid[STATS_PROTOCOL][i] = (uint32_t)id;
	}
	pthread_mutex_unlock(&names->lock);
	return err;
}

void stats_names_free(struct stats_name *arr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(arr[i].name);
		free(arr[i].address);
	}
	free(arr);
}

void stats_names_fini(struct stats_names *names)
{
	for (int kind = 0; kind < STATS__KINDS; kind++)
		stats_names_free(names->name[kind], names->n[kind]);
	memset(names->name, 0, sizeof(names->name));
	memset(names->n, 0, sizeof(names->n));
}

int stats_worker_fit(struct worker_stats *ws, struct stats_names *names)
{
	size_t want[STATS__KINDS];
	int kind, err = 0;

	pthread_mutex_lock(&names->lock);
	memcpy(want, names->n, sizeof(want));
	pthread_mutex_unlock(&names->lock);
	pthread_mutex_lock(&ws->lock);
	for (kind = 0; kind < STATS__KINDS; kind++) {
		struct stats_row *rows;

		if (ws->n_rows[kind] >= want[kind])
			continue;
		rows = realloc(ws->row[kind], want[kind] * sizeof(*rows));
		if (!rows) {
			err = -ENOMEM;
			break;
		}
		memset(&rows[ws->n_rows[kind]], 0,
		       (want[kind] - ws->n_rows[kind]) * sizeof(*rows));
		ws->row[kind] = rows;
		ws->n_rows[kind] = want[kind];
	}
	pthread_mutex_unlock(&ws->lock);
	return err;
}

int stats_worker_init(struct worker_stats *ws, struct stats_names *names, unsigned int slots)
{
	int err;

	err = -pthread_mutex_init(&ws->lock, NULL);
	if (err)
		return err;
	if (slots) {
		ws->slots = malloc(slots * sizeof(*ws->slots));
		if (!ws->slots)
			goto out_free;
		for (unsigned int i = 0; i < slots; i++)
			ws->slots[i].sid[STATS_LISTENER] = UINT32_MAX;
	}
	if (stats_worker_fit(ws, names))
		goto out_free;
	ws->ready = true;
	return 0;

out_free:
	for (int kind = 0; kind < STATS__KINDS; kind++)
		free(ws->row[kind]);
	free(ws->slots);
	pthread_mutex_destroy(&ws->lock);
	memset(ws, 0, sizeof(*ws));
	return -ENOMEM;
}

void stats_worker_fini(struct worker_stats *ws)
{

	if (!ws->ready)
		return;
	pthread_mutex_destroy(&ws->lock);
	for (int kind = 0; kind < STATS__KINDS; kind++)
		free(ws->row[kind]);
	free(ws->slots);
	memset(ws, 0, sizeof(*ws));
}

/* c's row of kind (its configuration's stats id); the worker has fitted its rows to it. */
static struct stats_row *row(struct worker_stats *ws, const struct conn *c, int kind)
{
	size_t idx = kind == STATS_LISTENER ? c->listener :
		     kind == STATS_ROUTE ? (size_t)c->route :
		     kind == STATS_BACKEND ? (size_t)c->backend : (size_t)c->proto;

	return &ws->row[kind][c->gen->sid[kind][idx]];
}

void stats_conn_accepted(struct worker_stats *ws, const struct conn *c)
{
	struct stats_row *r = row(ws, c, STATS_LISTENER);

	add(&r->conns, 1);
	add(&r->active, 1);
}

static void hist_observe(struct stats_hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int i;

	for (i = 0; i < STATS_HIST_BUCKETS; i++)
		if (us <= stats_hist_bounds_us[i])
			break;
	add(&h->bucket[i], 1);
	add(&h->count, 1);
	add(&h->sum_us, us);
}

void stats_conn_routed(struct worker_stats *ws, const struct conn *c, uint64_t now)
{
	struct stats_row *r = row(ws, c, STATS_ROUTE), *b = row(ws, c, STATS_BACKEND);

	add(&r->conns, 1);
	add(&r->active, 1);
	add(&b->conns, 1);
	add(&b->active, 1);
	/* routed on its first bytes (not at accept): counted under their protocol */
	if (c->sniffed) {
		r = row(ws, c, STATS_PROTOCOL);
		add(&r->conns, 1);
		add(&r->active, 1);
	}
	hist_observe(&ws->handshake, now - c->accept_ns);
}

void stats_conn_connected(struct worker_stats *ws, const struct conn *c, uint64_t now)
{
	hist_observe(&ws->connect, now - c->connect_ns);
}

void stats_conn_bytes(struct worker_stats *ws, struct conn *c)
{
	for (int dir = 0; dir < 2; dir++) {
		uint64_t n = c->bytes[dir] - c->bytes_counted[dir];

		if (!n)
			continue;
		c->bytes_counted[dir] = c->bytes[dir];
		add(&row(ws, c, STATS_LISTENER)->bytes[dir], n);
		if (c->route >= 0) {
			add(&row(ws, c, STATS_ROUTE)->bytes[dir], n);
			add(&row(ws, c, STATS_BACKEND)->bytes[dir], n);
			if (c->sniffed)
				add(&row(ws, c, STATS_PROTOCOL)->bytes[dir], n);
		}
	}
}

void stats_pipe_add(struct worker_stats *ws, enum stats_pipe k, uint64_t v)
{
	add(&ws->pipes[k], v);
}

static void row_ended(struct stats_row *r, enum conn_end end)
{
	add(&r->active, -1);
	add(&r->ends[end], 1);
}

void stats_conn_ended(struct worker_stats *ws, struct conn *c)
{
	stats_conn_bytes(ws, c);
	row_ended(row(ws, c, STATS_LISTENER), c->end);
	if (c->route >= 0) {
		row_ended(row(ws, c, STATS_ROUTE), c->end);
		row_ended(row(ws, c, STATS_BACKEND), c->end);
		if (c->sniffed)
			row_ended(row(ws, c, STATS_PROTOCOL), c->end);
	}
}

void stats_slot_own(struct worker_stats *ws, uint32_t slot, const struct conn *c)
{
	struct stats_slot *s = &ws->slots[slot];

	pthread_mutex_lock(&ws->lock);
	s->sid[STATS_LISTENER] = c->gen->sid[STATS_LISTENER][c->listener];
	s->sid[STATS_ROUTE] = c->gen->sid[STATS_ROUTE][c->route];
	s->sid[STATS_BACKEND] = c->gen->sid[STATS_BACKEND][c->backend];
	s->sid[STATS_PROTOCOL] = c->sniffed ? c->gen->sid[STATS_PROTOCOL][c->proto] : UINT32_MAX;
	pthread_mutex_unlock(&ws->lock);
}

void stats_slot_lock(struct worker_stats *ws)
{
	pthread_mutex_lock(&ws->lock);
}

void stats_slot_free(struct worker_stats *ws, uint32_t slot)
{
	ws->slots[slot].sid[STATS_LISTENER] = UINT32_MAX;
}

void stats_slot_unlock(struct worker_stats *ws)
{
	pthread_mutex_unlock(&ws->lock);
}

bool stats_end_is_failure(enum conn_end end)
{
	return end != END_CLOSED && end != END_RESET && end != END_SHUTDOWN;
}
