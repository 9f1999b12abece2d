// SPDX-License-Identifier: MIT
/* stats_servers.c - the servers' state for stats, top, metrics, route (see stats_servers.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config_gen.h"
#include "daemon.h"
#include "ops/stats_servers.h"

static uint64_t get(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

/* CLOCK_MONOTONIC ns as CLOCK_REALTIME ns */
static uint64_t to_rt(uint64_t mono, uint64_t now_mono, uint64_t now_rt)
{
	return mono <= now_mono ? now_rt - (now_mono - mono) : now_rt + (mono - now_mono);
}

static void fill(struct stats_server *r, const struct config_backend *b,
		 const struct backend_state *bs, size_t i, uint64_t start_rt)
{
	const struct server_state *st = bs->servers[i];
	uint64_t now = now_ns(), rt = realtime_ns();
	uint64_t until = get(&st->down_until_ns), check_rt = get(&st->check_since_rt);
	uint64_t passive_rt = get(&st->down_since_rt);

	r->weight = b->servers[i].weight;
	r->backup = b->servers[i].backup;
	r->checked = b->health.on;
	r->rr = get(&bs->rr);
	r->live = atomic_load_explicit(&st->live, memory_order_relaxed);
	r->carried = get(&st->carried);
	r->failed = get(&st->failed);
	r->checks_ok = get(&st->checks_ok);
	r->checks_failed = get(&st->checks_failed);
	r->last_check = atomic_load_explicit(&st->last_check, memory_order_relaxed);
	/* never changed: since it was configured (the start, or the reload that added it) */
	r->since_rt = st->created_rt > start_rt ? st->created_rt : start_rt;
	if (r->checked && atomic_load_explicit(&st->check_down, memory_order_relaxed)) {
		r->down = SERVER_DOWN_CHECK;
		r->since_rt = check_rt;
	} else if (until > now) {
		r->down = SERVER_DOWN_CONNECT;
		r->since_rt = passive_rt;
	} else {
		r->down = SERVER_UP;
		/* up since the later of: the checks said so, the passive down time ended */
		if (check_rt > r->since_rt)
			r->since_rt = check_rt;
		if (until && to_rt(until, now, rt) > r->since_rt)
			r->since_rt = to_rt(until, now, rt);
	}
}

int stats_servers_take(struct daemon *d, struct stats_server **out, size_t *n)
{
	struct config_gen *g = daemon_config(d);
	const struct config *cfg = &g->cfg;
	uint64_t start_rt = to_rt(d->start_ns, now_ns(), realtime_ns());
	struct stats_server *s;
	size_t total = 0, m = 0;

	for (size_t k = 0; k < cfg->n_backends; k++)
		total += cfg->backends[k].n_servers;
	s = calloc(total ? total : 1, sizeof(*s));
	if (!s)
		goto out_nomem;
	for (size_t k = 0; k < cfg->n_backends; k++) {
		const struct config_backend *b = &cfg->backends[k];

		for (size_t i = 0; i < b->n_servers; i++, m++) {
			s[m].backend_index = k;
			s[m].index = i;
			s[m].backend = strdup(b->name);
			s[m].address = strdup(b->servers[i].text);
			if (!s[m].backend || !s[m].address) {
				stats_servers_free(s, m + 1);
				goto out_nomem;
			}
			fill(&s[m], b, &g->balance[k], i, start_rt);
		}
	}
	config_gen_put(g);
	*out = s;
	*n = m;
	return 0;
out_nomem:
	config_gen_put(g);
	*out = NULL;
	*n = 0;
	return -ENOMEM;
}

void stats_servers_free(struct stats_server *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].backend);
		free(s[i].address);
	}
	free(s);
}

const char *stats_server_state(const struct stats_server *s)
{
	return s->down == SERVER_UP ? "up" : "down";
}

const char *stats_server_why(const struct stats_server *s, char *buf, size_t size)
{
	switch (s->down) {
	case SERVER_DOWN_CHECK:
		snprintf(buf, size, "check failed: %s", check_result_str(s->last_check));
		break;
	case SERVER_DOWN_CONNECT:
		snprintf(buf, size, "connect failed");
		break;
	default:
		snprintf(buf, size, "%s", "");
	}
	return buf;
}

void stats_servers_write_lines(const struct stats_server *s, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\t%s\t%d\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
			"\t%" PRIu64 "\n", s[i].backend, s[i].address, (int)s[i].down,
			(unsigned int)s[i].last_check, (uint64_t)(s[i].since_rt / 1000000000u), s[i].live,
			s[i].carried, s[i].failed, s[i].rr);
}

int stats_servers_parse_line(const char *line, struct stats_server *s)
{
	const char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
	unsigned int last;
	uint64_t since;
	int down, used = 0;

	memset(s, 0, sizeof(*s));
	if (!tab1 || !tab2 || tab1 == line || tab2 == tab1 + 1)
		return -EINVAL;
	if (sscanf(tab2 + 1, "%d\t%u\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%"
		   SCNu64 "%n", &down, &last, &since, &s->live, &s->carried, &s->failed, &s->rr,
		   &used) != 7 || (tab2[1 + used] && tab2[1 + used] != '\n'))
		return -EINVAL;
	if (down < SERVER_UP || down > SERVER_DOWN_CONNECT || last >= CHECK__COUNT)
		return -EINVAL;
	s->down = (enum server_down)down;
	s->last_check = (enum check_result)last;
	s->since_rt = since * 1000000000ull;
	s->backend = strndup(line, (size_t)(tab1 - line));
	s->address = strndup(tab1 + 1, (size_t)(tab2 - tab1 - 1));
	if (!s->backend || !s->address) {
		free(s->backend);
		free(s->address);
		s->backend = s->address = NULL;
		return -ENOMEM;
	}
	return 0;
}
