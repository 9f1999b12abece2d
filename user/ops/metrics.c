// SPDX-License-Identifier: MIT
/*
 * metrics.c - the Prometheus endpoint (see metrics.h): libmicrohttpd for HTTP, and the
 * exposition text. Names follow Prometheus conventions: counters end in _total, durations
 * are histograms in seconds, bytes carry a direction label ("in": client -> backend).
 */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_gen.h"
#include "daemon.h"
#include "log.h"
#include "ops/metrics.h"

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_TIMEOUT_S 10

struct metrics {
	struct MHD_Daemon *mhd;
};

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void route_labels(FILE *f, const struct stats_snapshot *s, size_t i)
{
	fprintf(f, "{route=\"%zu\",backend=", i + 1);
	label(f, s->name[STATS_ROUTE][i].name);
}

static void protocol_labels(FILE *f, const struct stats_snapshot *s, size_t i)
{
	fputs("{protocol=", f);
	label(f, s->name[STATS_PROTOCOL][i].name);
}

static void listener_labels(FILE *f, const struct stats_snapshot *s, size_t i)
{
	fputs("{listener=", f);
	label(f, s->name[STATS_LISTENER][i].name);
}

/* The four families of one kind of row (listeners, routes): names, help, labels. */
struct row_families {
	enum stats_kind kind;
	void (*labels)(FILE *f, const struct stats_snapshot *s, size_t i);
	const char *name[4], *help[4];	/* connections, active, bytes, failures */
};

static const struct row_families listener_families = {
	.kind = STATS_LISTENER,
	.labels = listener_labels,
	.name = { "sockmux_listener_connections_total", "sockmux_listener_active_connections",
		  "sockmux_listener_bytes_total", "sockmux_connection_failures_total" },
	.help = { "Connections accepted, per listener.",
		  "Connections open now, per listener, in any state.",
		  "Bytes carried, per listener; direction in: client to backend, out: backend "
		  "to client.",
		  "Connections that ended in a failure, per listener and reason (the log's end=)." },
};

static const struct row_families route_families = {
	.kind = STATS_ROUTE,
	.labels = route_labels,
	.name = { "sockmux_connections_total", "sockmux_active_connections",
		  "sockmux_bytes_total", "sockmux_route_failures_total" },
	.help = { "Connections routed, per route (numbered from 1 in file order) and backend.",
		  "Routed connections open now, per route and backend.",
		  "Bytes carried, per route and backend; direction in: client to backend, out: "
		  "backend to client.",
		  "Routed connections that ended in a failure, per route, backend and reason." },
};

static const struct row_families protocol_families = {
	.kind = STATS_PROTOCOL,
	.labels = protocol_labels,
	.name = { "sockmux_protocol_connections_total", "sockmux_protocol_active_connections",
		  "sockmux_protocol_bytes_total", "sockmux_protocol_failures_total" },
	.help = { "Connections routed on their first bytes, per protocol they opened with "
		  "(tls, ssh, http, ..., unknown, timeout).",
		  "Such connections open now, per protocol.",
		  "Bytes carried, per protocol; direction in: client to backend, out: backend to "
		  "client.",
		  "Such connections that ended in a failure, per protocol and reason." },
};

static void row_families(FILE *f, const struct stats_snapshot *s, const struct row_families *k)
{
	static const char *const dir_name[2] = { "in", "out" };
	const struct stats_sum *rows = s->row[k->kind];
	size_t i, n = s->n[k->kind];
	int e, dir;

	family(f, k->name[0], "counter", k->help[0]);
	for (i = 0; i < n; i++) {
		fputs(k->name[0], f);
		k->labels(f, s, i);
		fprintf(f, "} %" PRIu64 "\n", rows[i].conns);
	}
	family(f, k->name[1], "gauge", k->help[1]);
	for (i = 0; i < n; i++) {
		fputs(k->name[1], f);
		k->labels(f, s, i);
		fprintf(f, "} %" PRIu64 "\n", rows[i].active);
	}
	family(f, k->name[2], "counter", k->help[2]);
	for (i = 0; i < n; i++) {
		for (dir = 0; dir < 2; dir++) {
			fputs(k->name[2], f);
			k->labels(f, s, i);
			fprintf(f, ",direction=\"%s\"} %" PRIu64 "\n", dir_name[dir],
				rows[i].bytes[dir]);
		}
	}
	family(f, k->name[3], "counter", k->help[3]);
	for (i = 0; i < n; i++) {
		for (e = 0; e < END__COUNT; e++) {
			if (!stats_end_is_failure(e))
				continue;
			fputs(k->name[3], f);
			k->labels(f, s, i);
			fprintf(f, ",reason=\"%s\"} %" PRIu64 "\n", conn_end_str(e),
				rows[i].ends[e]);
		}
	}
}

static void histogram(FILE *f, const char *name, const char *help,
		      const struct stats_hist_sum *h)
{
	uint64_t cum = 0;

	family(f, name, "histogram", help);
	for (int i = 0; i < STATS_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
			(double)stats_hist_bounds_us[i] / 1e6, cum);
	}
	cum += h->bucket[STATS_HIST_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	fprintf(f, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, (double)h->sum_us / 1e6, name,
		h->count);
}

static void server_labels(FILE *f, const struct stats_server *sv)
{
	fputs("{backend=", f);
	label(f, sv->backend);
	fputs(",server=", f);
	label(f, sv->address);
}

/* Each server of the live configuration: up, since, connections, failed connects, checks. */
static void server_families(FILE *f, const struct stats_snapshot *s)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "sockmux_server_up", "gauge", "1 while the server is up for balancing, else 0." },
		{ "sockmux_server_state_since_seconds", "gauge",
		  "Unix time the server's up or down state began." },
		{ "sockmux_server_active_connections", "gauge", "Connections on the server now." },
		{ "sockmux_server_connections_total", "counter",
		  "Connections whose connect to the server completed." },
		{ "sockmux_server_connect_failures_total", "counter",
		  "Connects to the server that failed (refused, reset, timed out)." },
		{ "sockmux_server_checks_total", "counter",
		  "Health checks of the server, by result (ok, failed)." },
	};

	family(f, "sockmux_server_info", "gauge", "Each configured server (1): its weight, whether "
	       "it is a backup.");
	for (size_t i = 0; i < s->n_servers; i++) {
		fputs("sockmux_server_info", f);
		server_labels(f, &s->servers[i]);
		fprintf(f, ",weight=\"%u\",backup=\"%s\"} 1\n", s->servers[i].weight,
			s->servers[i].backup ? "true" : "false");
	}
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, fam[k].type, fam[k].help);
		for (size_t i = 0; i < s->n_servers; i++) {
			const struct stats_server *sv = &s->servers[i];
			uint64_t v[] = { sv->down == SERVER_UP, sv->since_rt / 1000000000ull,
					 sv->live, sv->carried, sv->failed };

			if (k == 5) {
				if (!sv->checked)
					continue;
				fputs(fam[k].name, f);
				server_labels(f, sv);
				fprintf(f, ",result=\"ok\"} %" PRIu64 "\n", sv->checks_ok);
				fputs(fam[k].name, f);
				server_labels(f, sv);
				fprintf(f, ",result=\"failed\"} %" PRIu64 "\n", sv->checks_failed);
				continue;
			}
			fputs(fam[k].name, f);
			server_labels(f, sv);
			fprintf(f, "} %" PRIu64 "\n", v[k]);
		}
	}
}

/* The splice engine's pipes: taken, none to be had, bytes copied instead, switches. */
static void pipe_families(FILE *f, const struct stats_snapshot *s)
{
	static const struct {
		const char *name, *help;
		enum stats_pipe k;
	} fam[] = {
		{ "sockmux_pipe_takes_total", "Pipes a direction took from its worker's pool.",
		  STATS_PIPE_TAKEN },
		{ "sockmux_pipe_refusals_total",
		  "Times a direction found no pipe to be had and copied instead.",
		  STATS_PIPE_REFUSED },
		{ "sockmux_pipe_copied_bytes_total", "Bytes copied for want of a pipe.",
		  STATS_PIPE_COPIED },
		{ "sockmux_pipe_switches_total",
		  "Times a direction moved bytes by copy after pipe, or by pipe after copy.",
		  STATS_PIPE_SWITCHES },
	};

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		family(f, fam[i].name, "counter", fam[i].help);
		fprintf(f, "%s %" PRIu64 "\n", fam[i].name, s->pipes[fam[i].k]);
	}
}

void metrics_write(struct daemon *d, const struct stats_snapshot *s, FILE *f)
{
	family(f, "sockmux_info", "gauge", "Version and engine of the running sockmux.");
	fputs("sockmux_info{version=", f);
	label(f, SOCKMUX_VERSION);
	fprintf(f, ",engine=\"%s\"} 1\n", d->ops->name);
	family(f, "sockmux_uptime_seconds", "gauge", "Seconds since sockmux started.");
	fprintf(f, "sockmux_uptime_seconds %.3f\n", (double)(s->taken_ns - d->start_ns) / 1e9);

	row_families(f, s, &listener_families);
	row_families(f, s, &route_families);
	row_families(f, s, &protocol_families);
	server_families(f, s);
	pipe_families(f, s);
	histogram(f, "sockmux_handshake_duration_seconds",
		  "From accept to the routing decision (ClientHello read and matched).",
		  &s->handshake);
	histogram(f, "sockmux_backend_connect_duration_seconds",
		  "From connect() to the backend connected.", &s->connect);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	char *body = strdup(text);

	return body ? reply(conn, status, body, strlen(body), "text/plain") : MHD_NO;
}

static enum MHD_Result handle(void *arg, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_ctx)
{
	struct daemon *d = arg;
	struct stats_snapshot s;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics only\n");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "sockmux: see /metrics\n");
	if (stats_snapshot(d, &s))
		return MHD_NO;
	f = open_memstream(&body, &len);
	if (!f) {
		stats_snapshot_free(&s);
		return MHD_NO;
	}
	metrics_write(d, &s, f);
	stats_snapshot_free(&s);
	if (fclose(f)) {
		free(body);
		return MHD_NO;
	}
	return reply(conn, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

static uint16_t port_of(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

int metrics_start(struct daemon *d, struct metrics **out)
{
	const struct config *cfg = &d->boot->cfg;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct metrics *m;

	*out = NULL;
	if (!cfg->metrics_text)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (cfg->metrics.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = MHD_start_daemon(flags, port_of(&cfg->metrics), NULL, NULL, handle, d,
				  MHD_OPTION_SOCK_ADDR, &cfg->metrics.ss,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)METRICS_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!m->mhd) {
		pr_err("metrics: cannot serve on %s (%s:metrics)", cfg->metrics_text, cfg->path);
		free(m);
		return -EADDRNOTAVAIL;
	}
	pr_info("metrics: Prometheus text format at http://%s/metrics", cfg->metrics_text);
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
