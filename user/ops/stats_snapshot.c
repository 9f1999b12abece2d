// SPDX-License-Identifier: MIT
/* stats_snapshot.c - the sum of every worker's counters (see stats_snapshot.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "engine.h"
#include "ops/stats_snapshot.h"
#include "worker.h"

static uint64_t get(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static void sum_row(struct stats_sum *s, struct stats_row *r)
{
	s->conns += get(&r->conns);
	s->active += get(&r->active);
	for (int dir = 0; dir < 2; dir++)
		s->bytes[dir] += get(&r->bytes[dir]);
	for (int e = 0; e < END__COUNT; e++)
		s->ends[e] += get(&r->ends[e]);
}

static void sum_hist(struct stats_hist_sum *s, struct stats_hist *h)
{
	for (int i = 0; i <= STATS_HIST_BUCKETS; i++)
		s->bucket[i] += get(&h->bucket[i]);
	s->count += get(&h->count);
	s->sum_us += get(&h->sum_us);
}

static void add_bytes(struct stats_sum *s, const uint64_t bytes[2])
{
	s->bytes[0] += bytes[0];
	s->bytes[1] += bytes[1];
}

/* Bytes of live connections that only the engine knows of yet (moved in the kernel). */
static void sum_slots(struct daemon *d, struct worker *w, struct stats_snapshot *s)
{
	for (unsigned int i = 0; i < w->max_conns; i++) {
		const struct stats_slot *sl = &w->stats.slots[i];
		uint64_t b[2];

		if (sl->sid[STATS_LISTENER] == UINT32_MAX)
			continue;
		d->ops->live_bytes(w, i, b);
		for (int kind = 0; kind < STATS__KINDS; kind++)
			if (sl->sid[kind] < s->n[kind])
				add_bytes(&s->row[kind][sl->sid[kind]], b);
	}
}

/* Copies the registry's names into s; 0 or -ENOMEM. */
static int copy_names(struct stats_names *names, struct stats_snapshot *s)
{
	int err = 0;

	pthread_mutex_lock(&names->lock);
	for (int kind = 0; !err && kind < STATS__KINDS; kind++) {
		size_t n = names->n[kind];

		s->n[kind] = n;
		s->name[kind] = calloc(n ? n : 1, sizeof(*s->name[kind]));
		s->row[kind] = calloc(n ? n : 1, sizeof(*s->row[kind]));
		if (!s->name[kind] || !s->row[kind]) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			const struct stats_name *from = &names->name[kind][i];
			struct stats_name *to = &s->name[kind][i];

			*to = *from;
			to->name = strdup(from->name);
			to->address = from->address ? strdup(from->address) : NULL;
			if (!to->name || (from->address && !to->address))
				err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&names->lock);
	return err;
}

int stats_snapshot(struct daemon *d, struct stats_snapshot *s)
{
	const struct stats_sum *l;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->taken_ns = now_ns();
	if (copy_names(&d->names, s) || stats_servers_take(d, &s->servers, &s->n_servers)) {
		stats_snapshot_free(s);
		return -ENOMEM;
	}
	for (unsigned int n = 0; n < d->n_workers; n++) {
		struct worker *w = &d->workers[n];
		struct worker_stats *ws = &w->stats;

		pthread_mutex_lock(&ws->lock);
		for (int kind = 0; kind < STATS__KINDS; kind++)
			for (i = 0; i < s->n[kind] && i < ws->n_rows[kind]; i++)
				sum_row(&s->row[kind][i], &ws->row[kind][i]);
		if (ws->slots)
			sum_slots(d, w, s);
		pthread_mutex_unlock(&ws->lock);
		sum_hist(&s->handshake, &ws->handshake);
		sum_hist(&s->connect, &ws->connect);
		for (int k = 0; k < STATS_PIPE__COUNT; k++)
			s->pipes[k] += get(&ws->pipes[k]);
	}
	for (i = 0; i < s->n[STATS_LISTENER]; i++) {
		l = &s->row[STATS_LISTENER][i];
		s->total.conns += l->conns;
		s->total.active += l->active;
		add_bytes(&s->total, l->bytes);
		for (int e = 0; e < END__COUNT; e++)
			s->total.ends[e] += l->ends[e];
	}
	return 0;
}

void stats_snapshot_free(struct stats_snapshot *s)
{
	for (int kind = 0; kind < STATS__KINDS; kind++) {
		if (s->name[kind])
			stats_names_free(s->name[kind], s->n[kind]);
		free(s->row[kind]);
	}
	stats_servers_free(s->servers, s->n_servers);
	memset(s, 0, sizeof(*s));
}
