// SPDX-License-Identifier: MIT
/*
 * stats_render.c - a stats snapshot as the JSON document of `sockmux stats --json` (its
 * format is documented in docs/stats.md and kept stable) and as text for people.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "ops/stats_render.h"
#include "worker.h"

/* Rates per second of one row between two snapshots (0 when there is no interval yet). */
struct rates {
	double conns, bytes[2];
};

/* kind: enum stats_kind, or -1 for the total */
static const struct stats_sum *row_of(const struct stats_snapshot *s, int kind, size_t i)
{
	if (kind < 0)
		return &s->total;
	return i < s->n[kind] ? &s->row[kind][i] : NULL;
}

static struct rates rates_of(const struct stats_snapshot *prev, const struct stats_snapshot *last,
			     int kind, size_t i)
{
	const struct stats_sum *a, *b;
	struct rates r = { 0 };
	double dt;

	if (!prev || !last || !prev->taken_ns || last->taken_ns <= prev->taken_ns)
		return r;
	a = row_of(prev, kind, i);
	b = row_of(last, kind, i);
	if (!a || !b)
		return r;
	dt = (double)(last->taken_ns - prev->taken_ns) / 1e9;
	r.conns = (double)(b->conns - a->conns) / dt;
	for (int dir = 0; dir < 2; dir++)
		r.bytes[dir] = (double)(b->bytes[dir] - a->bytes[dir]) / dt;
	return r;
}

void stats_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_row(FILE *f, const struct stats_sum *s, const struct rates *r)
{
	bool first = true;

	fprintf(f, "\"active\": %" PRIu64 ", \"connections\": %" PRIu64 ", \"bytes_in\": %" PRIu64
		", \"bytes_out\": %" PRIu64 ", \"connections_per_s\": %.3f, \"bytes_in_per_s\": "
		"%.0f, \"bytes_out_per_s\": %.0f, \"failures\": {",
		s->active, s->conns, s->bytes[0], s->bytes[1], r->conns, r->bytes[0], r->bytes[1]);
	for (int e = 0; e < END__COUNT; e++) {
		if (!stats_end_is_failure(e))
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", conn_end_str(e), s->ends[e]);
		first = false;
	}
	fputs("}", f);
}

static double uptime_s(const struct daemon *d, const struct stats_snapshot *cur)
{
	return (double)(cur->taken_ns - d->start_ns) / 1e9;
}

static const char *const kind_key[STATS__KINDS] = {
	[STATS_LISTENER] = "listeners",
	[STATS_ROUTE] = "routes",
	[STATS_BACKEND] = "backends",
	[STATS_PROTOCOL] = "protocols",
};

static void json_entry(FILE *f, const struct stats_snapshot *cur, int kind, size_t i)
{
	const struct stats_name *n = &cur->name[kind][i];

	switch (kind) {
	case STATS_LISTENER:
		fputs("{\"address\": ", f);
		stats_json_str(f, n->name);
		break;
	case STATS_ROUTE:
		fprintf(f, "{\"route\": %zu, \"backend\": ", i + 1);
		stats_json_str(f, n->name);
		break;
	case STATS_PROTOCOL:
		fputs("{\"protocol\": ", f);
		stats_json_str(f, n->name);
		break;
	case STATS_BACKEND:
		fputs("{\"name\": ", f);
		stats_json_str(f, n->name);
		fputs(", \"address\": ", f);
		stats_json_str(f, n->address ? n->address : "");
		break;
	}
	fprintf(f, ", \"line\": %d, \"configured\": %s, ", n->line, n->present ? "true" : "false");
}

/* CLOCK_REALTIME ns as "2026-12-06T23:45:11Z" */
static const char *utc(uint64_t rt, char *buf, size_t size)
{
	time_t t = (time_t)(rt / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "?");
	return buf;
}

static void json_servers(FILE *f, const struct stats_snapshot *cur)
{
	char since[32], why[64];

	fputs(",\n \"servers\": [", f);
	for (size_t i = 0; i < cur->n_servers; i++) {
		const struct stats_server *sv = &cur->servers[i];

		fputs(i ? ",\n  {\"backend\": " : "\n  {\"backend\": ", f);
		stats_json_str(f, sv->backend);
		fputs(", \"address\": ", f);
		stats_json_str(f, sv->address);
		fprintf(f, ", \"weight\": %u, \"backup\": %s, \"state\": \"%s\", \"why\": ",
			sv->weight, sv->backup ? "true" : "false", stats_server_state(sv));
		stats_json_str(f, stats_server_why(sv, why, sizeof(why)));
		fprintf(f, ", \"since\": \"%s\", \"active\": %" PRIu64 ", \"connections\": %"
			PRIu64 ", \"connect_failed\": %" PRIu64 ", \"health\": ",
			utc(sv->since_rt, since, sizeof(since)), sv->live, sv->carried, sv->failed);
		if (sv->checked)
			fprintf(f, "{\"checks_ok\": %" PRIu64 ", \"checks_failed\": %" PRIu64
				", \"last\": \"%s\"}}", sv->checks_ok, sv->checks_failed,
				check_result_str(sv->last_check));
		else
			fputs("null}", f);
	}
	fputs("]", f);
}

void stats_write_json(struct daemon *d, const struct stats_snapshot *cur,
		      const struct stats_snapshot *prev, const struct stats_snapshot *last, FILE *f)
{
	struct rates r;
	size_t i;

	fprintf(f, "{\"version\": ");
	stats_json_str(f, SOCKMUX_VERSION);
	fprintf(f, ", \"pid\": %d, \"engine\": \"%s\", \"uptime_s\": %.3f, \"workers\": %u, "
		"\"config_generation\": %u, \"reloads_failed\": %u,\n",
		(int)getpid(), d->ops->name, uptime_s(d, cur), d->n_workers,
		atomic_load(&d->live_gen), atomic_load(&d->reloads_failed));
	r = rates_of(prev, last, -1, 0);
	fputs(" \"total\": {", f);
	json_row(f, &cur->total, &r);
	fputs("}", f);
	for (int kind = 0; kind < STATS__KINDS; kind++) {
		fprintf(f, ",\n \"%s\": [", kind_key[kind]);
		for (i = 0; i < cur->n[kind]; i++) {
			r = rates_of(prev, last, kind, i);
			fputs(i ? ",\n  " : "\n  ", f);
			json_entry(f, cur, kind, i);
			json_row(f, &cur->row[kind][i], &r);
			fputs("}", f);
		}
		fputs("]", f);
	}
	json_servers(f, cur);
	fprintf(f, ",\n \"pipes\": {\"taken\": %" PRIu64 ", \"refused\": %" PRIu64
		", \"copied_bytes\": %" PRIu64 ", \"switches\": %" PRIu64 "}",
		cur->pipes[STATS_PIPE_TAKEN], cur->pipes[STATS_PIPE_REFUSED],
		cur->pipes[STATS_PIPE_COPIED], cur->pipes[STATS_PIPE_SWITCHES]);
	fputs("}\n", f);
}

/* 1234567 -> "1.2M"; bytes and counts alike, in 6 columns. */
static const char *human(double v, char *buf, size_t size)
{
	static const char units[] = " kMGTP";
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u)
		snprintf(buf, size, "%.1f%c", v, units[u]);
	else
		snprintf(buf, size, "%.0f", v);
	return buf;
}

/* bytes per second as Mbit/s */
static const char *mbit(double bytes_per_s, char *buf, size_t size)
{
	snprintf(buf, size, "%.2f", bytes_per_s * 8 / 1e6);
	return buf;
}

static void text_row(FILE *f, const char *name, const struct stats_sum *s, const struct rates *r)
{
	char a[16], b[16], c[16], e[16], g[16];
	uint64_t failed = 0;
	bool any = false;

	for (int k = 0; k < END__COUNT; k++)
		if (stats_end_is_failure(k))
			failed += s->ends[k];
	fprintf(f, "  %-26s %7" PRIu64 " %9" PRIu64 " %7.1f %8s %8s %8s %8s %7" PRIu64, name,
		s->active, s->conns, r->conns, human((double)s->bytes[0], a, sizeof(a)),
		human((double)s->bytes[1], b, sizeof(b)), mbit(r->bytes[0], c, sizeof(c)),
		mbit(r->bytes[1], e, sizeof(e)), failed);
	for (int k = 0; k < END__COUNT; k++) {
		if (!stats_end_is_failure(k) || !s->ends[k])
			continue;
		fprintf(f, "%s%s=%s", any ? "," : " (", conn_end_str(k),
			human((double)s->ends[k], g, sizeof(g)));
		any = true;
	}
	fputs(any ? ")\n" : "\n", f);
}

struct order_ctx {
	const struct stats_snapshot *prev, *last;
	int kind;
};

static int by_rate(const void *a, const void *b, void *arg)
{
	const struct order_ctx *o = arg;
	struct rates ra = rates_of(o->prev, o->last, o->kind, *(const size_t *)a);
	struct rates rb = rates_of(o->prev, o->last, o->kind, *(const size_t *)b);
	double ta = ra.bytes[0] + ra.bytes[1], tb = rb.bytes[0] + rb.bytes[1];

	if (ta != tb)
		return ta < tb ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Row indices in file order, or busiest first; NULL when out of memory. */
static size_t *row_order(const struct stats_snapshot *prev, const struct stats_snapshot *last,
			 int kind, size_t n, bool by_throughput)
{
	struct order_ctx o = { prev, last, kind };
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	if (by_throughput)
		qsort_r(idx, n, sizeof(*idx), by_rate, &o);
	return idx;
}

static void text_header(FILE *f, const char *what)
{
	fprintf(f, "%-28s %7s %9s %7s %8s %8s %8s %8s %7s\n", what, "active", "total", "conn/s",
		"in", "out", "in Mb/s", "outMb/s", "failed");
}

static const char *const kind_title[STATS__KINDS] = {
	[STATS_LISTENER] = "listener",
	[STATS_ROUTE] = "route",
	[STATS_BACKEND] = "backend",
	[STATS_PROTOCOL] = "protocol",
};

/* The servers of backends with several, or with health checks: up or down, why, since. */
static void text_servers(FILE *f, const struct stats_snapshot *cur)
{
	char name[96], since[32], why[64], checks[48];
	bool any = false;

	for (size_t i = 0; i < cur->n_servers; i++) {
		const struct stats_server *sv = &cur->servers[i];
		bool several = (i + 1 < cur->n_servers &&
				cur->servers[i + 1].backend_index == sv->backend_index) ||
			       (i && cur->servers[i - 1].backend_index == sv->backend_index);

		if (!several && !sv->checked)
			continue;
		if (!any)
			fprintf(f, "\n%-38s %5s %20s %7s %9s %7s  %s\n", "server", "state", "since",
				"active", "total", "failed", "checks ok/failed, last");
		any = true;
		snprintf(name, sizeof(name), "%s %s%s", sv->backend, sv->address,
			 sv->backup ? " (backup)" : "");
		if (sv->checked)
			snprintf(checks, sizeof(checks), "%" PRIu64 "/%" PRIu64 ", %s", sv->checks_ok,
				 sv->checks_failed, check_result_str(sv->last_check));
		else
			snprintf(checks, sizeof(checks), "-");
		/* down by its checks: the last one says why */
		if (sv->down == SERVER_DOWN_CONNECT)
			stats_server_why(sv, why, sizeof(why));
		else
			why[0] = '\0';
		fprintf(f, "  %-36s %5s %20s %7" PRIu64 " %9" PRIu64 " %7" PRIu64 "  %s%s%s\n",
			name, stats_server_state(sv), utc(sv->since_rt, since, sizeof(since)),
			sv->live, sv->carried, sv->failed, checks, *why ? "; " : "", why);
	}
}

void stats_write_text(struct daemon *d, const struct stats_snapshot *cur,
		      const struct stats_snapshot *prev, const struct stats_snapshot *last,
		      bool by_throughput, FILE *f)
{
	size_t *idx, i, k;
	char name[64];
	struct rates r;

	fprintf(f, "sockmux %s, pid %d, engine %s, %u worker(s), up %.0f s%s\n\n",
		SOCKMUX_VERSION, (int)getpid(), d->ops->name, d->n_workers, uptime_s(d, cur),
		by_throughput ? ", busiest first" : "");
	for (int kind = 0; kind < STATS__KINDS; kind++) {
		text_header(f, kind_title[kind]);
		idx = row_order(prev, last, kind, cur->n[kind], by_throughput);
		for (k = 0; idx && k < cur->n[kind]; k++) {
			const struct stats_name *n;

			i = idx[k];
			n = &cur->name[kind][i];
			r = rates_of(prev, last, kind, i);
			if (kind == STATS_ROUTE)
				snprintf(name, sizeof(name), "#%zu -> %s%s", i + 1, n->name,
					 n->present ? "" : " (gone)");
			else
				snprintf(name, sizeof(name), "%s%s", n->name,
					 n->present ? "" : " (gone)");
			text_row(f, name, &cur->row[kind][i], &r);
		}
		free(idx);
	}
	r = rates_of(prev, last, -1, 0);
	text_header(f, "");
	text_row(f, "total", &cur->total, &r);
	text_servers(f, cur);
	if (cur->pipes[STATS_PIPE_REFUSED])
		fprintf(f, "\npipes: %" PRIu64 " taken, %" PRIu64 " times none to be had (%" PRIu64
			" bytes copied instead), %" PRIu64 " switches between pipe and copy\n",
			cur->pipes[STATS_PIPE_TAKEN], cur->pipes[STATS_PIPE_REFUSED],
			cur->pipes[STATS_PIPE_COPIED], cur->pipes[STATS_PIPE_SWITCHES]);
}
