// SPDX-License-Identifier: MIT
/* conn.c - a connection's allocation, its end reasons and its one log line (see conn.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "engine.h"
#include "log.h"

static const char *const end_names[END__COUNT] = {
	[END_CLOSED] = "closed",
	[END_RESET] = "reset",
	[END_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[END_NOT_TLS] = "not_tls",
	[END_NO_ROUTE] = "no_route",
	[END_BAD_HELLO] = "bad_hello",
	[END_CLIENT_CLOSED] = "client_closed",
	[END_CONNECT_REFUSED] = "connect_refused",
	[END_CONNECT_TIMEOUT] = "connect_timeout",
	[END_CONNECT_ERROR] = "connect_error",
	[END_LIMIT] = "limit_reached",
	[END_SHUTDOWN] = "shutdown",
	[END_INTERNAL] = "internal_error",
	[END_BAD_PROXY] = "bad_proxy_header",
	[END_UNTRUSTED] = "untrusted_proxy",
	[END_EVICTED] = "handshake_evicted",
	[END_SOURCE_LIMIT] = "source_limit",
};

struct conn *conn_new(struct config_gen *gen, uint64_t id, unsigned int listener, int fd,
		      const struct sockaddr *peer, socklen_t len)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	list_init(&c->link);
	list_init(&c->all);
	list_init(&c->probe_link);
	c->gen = config_gen_get(gen);
	c->id = id;
	c->fd[0] = fd;
	c->fd[1] = -1;
	c->route = -1;
	c->backend = -1;
	c->server = -1;
	c->source = -1;
	c->fail.side = -1;
	c->listener = listener;
	c->accept_ns = now_ns();
	addr_from_sockaddr(peer, len, &c->client);
	return c;
}

void conn_free(struct conn *c)
{
	free(c->host);
	free(c->proxied);
	free(c->alpn);
	free(c->pp_alpn);
	config_gen_put(c->gen);
	free(c);
}

const char *conn_end_str(enum conn_end end)
{
	return end < END__COUNT ? end_names[end] : "?";
}

void conn_log(const struct conn *c, struct log_batch *lb)
{
	const char *engine = c->engine ? c->engine->name : "-";
	const struct config *cfg = &c->gen->cfg;
	char client[ADDR_STRLEN], route[24], detail[160] = "", fields[128] = "";
	char via[ADDR_STRLEN + 8] = "", server[2 * ADDR_STRLEN + 40] = "";
	const char *backend = "-";
	uint64_t ms = (now_ns() - c->accept_ns) / 1000000;

	addr_format((const struct sockaddr *)&c->client.ss, client, sizeof(client));
	if (c->proxied) {
		/* the client came through a trusted load balancer's PROXY header */
		memcpy(via, " via=", 6);
		addr_format((const struct sockaddr *)&c->proxied->via.ss, via + 5, sizeof(via) - 5);
	}
	if (c->route >= 0)
		snprintf(route, sizeof(route), "%ld", c->route + 1);
	else
		snprintf(route, sizeof(route), "-");
	if (c->backend >= 0)
		backend = cfg->backends[c->backend].name;
	/* a backend of several servers: which one, after how many tries */
	if (c->backend >= 0 && c->server >= 0 && cfg->backends[c->backend].n_servers > 1) {
		const struct config_server *sv = &cfg->backends[c->backend].servers[c->server];
		char a[ADDR_STRLEN];

		snprintf(server, sizeof(server), " server=%s tries=%u",
			 addr_format((const struct sockaddr *)&sv->addr.ss, a, sizeof(a)), c->tries);
	}
	/* a server with a source list: the local address the connection came from */
	if (c->backend >= 0 && c->server >= 0 && c->source >= 0) {
		const struct config_server *sv = &cfg->backends[c->backend].servers[c->server];
		size_t n = strlen(server);
		char a[ADDR_STRLEN];

		snprintf(server + n, sizeof(server) - n, " source=%s",
			 addr_format_host((const struct sockaddr *)&sv->source.addr[c->source].ss,
					  a, sizeof(a)));
	}
	if (c->state == CONN_HANDED_OFF && c->engine && c->engine->log_fields)
		c->engine->log_fields(c, fields, sizeof(fields));
	if (c->unsent_on_reset) {
		size_t n = strlen(fields);

		snprintf(fields + n, sizeof(fields) - n, " unsent_on_reset=%" PRIu64,
			 c->unsent_on_reset);
	}
	if (c->detail)
		snprintf(detail, sizeof(detail), " detail=\"%s\"", c->detail);
	log_batch_print(lb, LOG_INFO, "conn=%" PRIu64 " client=%s%s listener=%s sni=%s alpn=%s protocol=%s host=%s%s "
		"route=%s backend=%s%s%s engine=%s bytes_up=%" PRIu64 " bytes_down=%" PRIu64
		" duration_ms=%" PRIu64 "%s end=%s%s",
		c->id, client, via, cfg->listeners[c->listener].text,
		c->proto == PROTO_TLS && c->host ? c->host : "-", c->alpn ? c->alpn : "-",
		c->sniffed ? sniff_proto_name(c->proto) : "-", c->host ? c->host : "-",
		c->ech ? " ech=1" : "", route, backend, server,
		c->transparent ? " transparent=1" : "",
		c->state == CONN_HANDED_OFF ? engine : "-", c->bytes[0], c->bytes[1], ms, fields,
		conn_end_str(c->end), detail);
}
