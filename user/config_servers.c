// SPDX-License-Identifier: MIT
/*
 * config_servers.c - a backend's servers, balance, retries, transparent and source keys (see
 * config_servers.h). Pure: no I/O. The round robin order is computed here once, smooth as
 * nginx's (each server's turns spread evenly over a cycle of sum(weights) picks), so that
 * picking is one atomic increment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config_health.h"
#include "config_servers.h"
#include "config_setting.h"
#include "source_bind.h"
#include "transparent.h"

#define MAX_WEIGHT 256
#define MAX_SCHEDULE 4096	/* sum of the weights of one backend */

static const char *const server_keys[] = { "address", "weight", "backup", "transparent", "source",
					   NULL };
static const char *const balance_names[] = {
	[BALANCE_ROUND_ROBIN] = "round_robin",
	[BALANCE_LEAST_CONN] = "least_conn",
	[BALANCE_SOURCE_HASH] = "source_hash",
	[BALANCE_FIRST] = "first",
};

const char *config_balance_name(enum balance balance)
{
	return balance <= BALANCE_FIRST ? balance_names[balance] : "?";
}

static int parse_address(const config_setting_t *s, char **text, struct addr *addr,
			 struct config_error *err)
{
	const char *str = NULL;
	char q[QUOTE_MAX];
	int ret;

	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	if (addr_parse(str, addr))
		return cfg_err_at(err, s, "invalid address \"%s\": %s",
				  cfg_quote(str, q, sizeof(q)), addr_problem(str));
	*text = strdup(str);
	return *text ? 0 : cfg_err_nomem(err);
}

/*
 * A transparent server on a loopback address cannot work: the kernel drops packets from a
 * client's address to 127.0.0.0/8 or ::1 (unless route_localnet, a hazard). s: where to say so.
 */
static int check_transparent(const config_setting_t *s, const struct config_server *sv,
			     struct config_error *err)
{
	const struct sockaddr *sa = (const struct sockaddr *)&sv->addr.ss;

	if (!sv->transparent || !transparent_is_local(NULL, sa))
		return 0;
	if (addr_is_unspecified(sa))
		return cfg_err_at(err, s, "transparent: 0.0.0.0 or :: names no server to connect "
				  "to; give the backend's own address");
	return cfg_err_at(err, s, "transparent: a loopback address cannot be reached from a "
			  "client's address; give the backend an extra address on lo "
			  "(docs/transparent.md, same host)");
}

/*
 * source = [ "192.0.2.1", "2001:db8::1" ] at s into *src: bare local addresses, each once; an
 * IPv4-mapped one is kept as IPv4 (the family it connects with).
 */
static int parse_source(const config_setting_t *s, struct config_source *src,
			struct config_error *err)
{
	const config_setting_t *e;
	const char *str = NULL;
	char q[QUOTE_MAX], a[ADDR_STRLEN];
	struct addr one;
	int i, j, n, ret;

	n = cfg_get_nonempty_list(s, "an array of local addresses [ \"192.0.2.1\", "
				  "\"2001:db8::1\" ]", err);
	if (n < 0)
		return n;
	if (n > CONFIG_MAX_SOURCES)
		return cfg_err_at(err, s, "%d addresses, at most %d", n, CONFIG_MAX_SOURCES);
	src->addr = calloc((size_t)n, sizeof(*src->addr));
	if (!src->addr)
		return cfg_err_nomem(err);
	src->line = cfg_line(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		ret = cfg_get_string(e, err, &str);
		if (ret)
			return ret;
		if (addr_parse_host(str, &one))
			return cfg_err_at(err, e, "invalid address \"%s\": expected a bare IPv4 or "
					  "IPv6 address, as \"192.0.2.1\" or \"2001:db8::1\" (no "
					  "port, no prefix, no name)", cfg_quote(str, q, sizeof(q)));
		transparent_unmap((const struct sockaddr *)&one.ss, &src->addr[i]);
		if (addr_is_unspecified((const struct sockaddr *)&src->addr[i].ss))
			return cfg_err_at(err, e, "\"%s\" names no local address: list the "
					  "addresses to connect from", cfg_quote(str, q, sizeof(q)));
		for (j = 0; j < i; j++)
			if (addr_equal(&src->addr[j], &src->addr[i]))
				return cfg_err_at(err, e, "duplicate address %s (also source.[%d])",
						  addr_format_host((const struct sockaddr *)
								   &src->addr[i].ss, a,
								   sizeof(a)), j);
		src->n++;
	}
	return 0;
}

static int copy_source(const struct config_source *from, struct config_source *to,
		       struct config_error *err)
{
	if (!from->n)
		return 0;
	to->addr = calloc(from->n, sizeof(*to->addr));
	if (!to->addr)
		return cfg_err_nomem(err);
	memcpy(to->addr, from->addr, from->n * sizeof(*to->addr));
	to->n = from->n;
	to->line = from->line;
	return 0;
}

/*
 * The source list server sv ends with (its own, else the backend's) must hold an address of
 * its family, and a transparent server connects from the client's address, not from a list.
 * g: the server's group (NULL: the backend's own address); bg: the backend's group. The error
 * is at the server's own key where it has one, else at the backend's source.
 */
static int check_source(const config_setting_t *g, const config_setting_t *bg,
			const struct config_server *sv, struct config_error *err)
{
	const config_setting_t *own = g ? config_setting_get_member(g, "source") : NULL;
	const config_setting_t *tp = g ? config_setting_get_member(g, "transparent") : NULL;
	const config_setting_t *at = own ? own : config_setting_get_member(bg, "source");
	int family = transparent_family((const struct sockaddr *)&sv->addr.ss);

	if (!sv->source.n)
		return 0;
	if (sv->transparent)
		return cfg_err_at(err, !own && tp ? tp : at, "server %s: transparent connects "
				  "from the client's address, source from listed ones: a server "
				  "takes one or the other", sv->text);
	if (!source_bind_count(&sv->source, family))
		return cfg_err_at(err, at, "no %s address for server %s: a server is connected "
				  "from an address of its own family",
				  family == AF_INET ? "IPv4" : "IPv6", sv->text);
	return 0;
}

/* Server sv of backend b: its transparent and source keys, else the backend's. */
static int parse_server(const config_setting_t *g, const config_setting_t *bg,
			const struct config_backend *b, struct config_server *sv,
			struct config_error *err)
{
	const config_setting_t *s;
	int ret;

	if (!config_setting_is_group(g))
		return cfg_err_at(err, g, "expected a group { address = \"ip:port\"; }, got %s",
				  cfg_type_name(g));
	ret = cfg_check_keys(g, server_keys, err);
	if (ret)
		return ret;
	sv->line = cfg_line(g);
	sv->weight = 1;
	sv->transparent = b->transparent;
	s = config_setting_get_member(g, "address");
	if (!s)
		return cfg_err_at(err, g, "missing required key \"address\"");
	ret = parse_address(s, &sv->text, &sv->addr, err);
	if (!ret)
		ret = cfg_get_opt_uint(g, "weight", 0, MAX_WEIGHT, err, &sv->weight);
	if (!ret && (s = config_setting_get_member(g, "backup")))
		ret = cfg_get_bool(s, err, &sv->backup);
	if (!ret && (s = config_setting_get_member(g, "transparent")))
		ret = cfg_get_bool(s, err, &sv->transparent);
	if (!ret)
		ret = check_transparent(config_setting_get_member(g, "address"), sv, err);
	if (!ret && (s = config_setting_get_member(g, "source")))
		ret = parse_source(s, &sv->source, err);
	else if (!ret)
		ret = copy_source(&b->source, &sv->source, err);
	if (!ret)
		ret = check_source(g, bg, sv, err);
	return ret;
}

/* "a, b, c": the backend's text, for stats and check. */
static int join_texts(struct config_backend *b, struct config_error *err)
{
	size_t len = 1, i;

	for (i = 0; i < b->n_servers; i++)
		len += strlen(b->servers[i].text) + 2;
	b->text = calloc(1, len);
	if (!b->text)
		return cfg_err_nomem(err);
	for (i = 0; i < b->n_servers; i++) {
		if (i)
			strcat(b->text, ", ");
		strcat(b->text, b->servers[i].text);
	}
	return 0;
}

/*
 * Smooth weighted round robin (nginx): one cycle of sum(weights) picks over the servers that
 * are backups (backup) or not; the backups have a cycle of their own, used only while no main
 * server can be picked.
 */
static int make_schedule(const config_setting_t *g, struct config_backend *b, bool backup,
			 struct config_error *err)
{
	long cur[CONFIG_MAX_SERVERS] = { 0 }, total = 0;
	size_t i, k;
	int t = backup;

	for (i = 0; i < b->n_servers; i++)
		if (b->servers[i].backup == backup)
			total += b->servers[i].weight;
	if (total > MAX_SCHEDULE)
		return cfg_err_at(err, g, "the servers' weights add up to %ld, over %d", total,
				  MAX_SCHEDULE);
	b->schedule[t] = calloc(total ? (size_t)total : 1, 1);
	if (!b->schedule[t])
		return cfg_err_nomem(err);
	for (k = 0; k < (size_t)total; k++) {
		long best = -1;

		for (i = 0; i < b->n_servers; i++) {
			if (b->servers[i].backup != backup)
				continue;
			cur[i] += b->servers[i].weight;
			if (best < 0 || cur[i] > cur[best])
				best = (long)i;
		}
		cur[best] -= total;
		b->schedule[t][k] = (uint8_t)best;
	}
	b->n_schedule[t] = (size_t)total;
	return 0;
}

static int parse_balance(const config_setting_t *g, struct config_backend *b,
			 struct config_error *err)
{
	const config_setting_t *s = config_setting_get_member(g, "balance");
	const char *str = NULL;
	char q[QUOTE_MAX];
	int ret;

	if (!s)
		return 0;
	ret = cfg_get_string(s, err, &str);
	if (ret)
		return ret;
	for (int i = 0; i <= BALANCE_FIRST; i++) {
		if (!strcmp(str, balance_names[i])) {
			b->balance = (enum balance)i;
			return 0;
		}
	}
	return cfg_err_at(err, s, "unknown balance \"%s\" (known: round_robin, least_conn, "
			  "source_hash, first)", cfg_quote(str, q, sizeof(q)));
}

static int parse_server_list(const config_setting_t *list, const config_setting_t *bg,
			     struct config_backend *b, struct config_error *err)
{
	int n, ret;

	if (!config_setting_is_list(list))
		return cfg_err_at(err, list, "expected a list of groups ( { address = \"ip:port\"; "
				  "}, ... ), got %s", cfg_type_name(list));
	n = config_setting_length(list);
	if (n <= 0)
		return cfg_err_at(err, list, "empty list: at least one server is required");
	if (n > CONFIG_MAX_SERVERS)
		return cfg_err_at(err, list, "%d servers, at most %d", n, CONFIG_MAX_SERVERS);
	b->servers = calloc((size_t)n, sizeof(*b->servers));
	if (!b->servers)
		return cfg_err_nomem(err);
	for (int i = 0; i < n; i++) {
		const config_setting_t *elem = config_setting_get_elem(list, (unsigned int)i);

		b->n_servers++;
		ret = parse_server(elem, bg, b, &b->servers[i], err);
		if (ret)
			return ret;
		/* a server is known by its backend and address: in stats, metrics, reloads */
		for (int j = 0; j < i; j++)
			if (addr_equal(&b->servers[j].addr, &b->servers[i].addr))
				return cfg_err_at(err, elem, "duplicate server %s (also servers.[%d], "
						  "line %d)", b->servers[i].text, j,
						  b->servers[j].line);
	}
	for (int i = 0; i < n; i++)
		if (b->servers[i].weight)
			return join_texts(b, err);
	return cfg_err_at(err, list, "every server has weight 0: none would ever be chosen");
}

int config_parse_servers(const config_setting_t *g, struct config_backend *b,
			 struct config_error *err)
{
	const config_setting_t *addr = config_setting_get_member(g, "address");
	const config_setting_t *list = config_setting_get_member(g, "servers");
	const config_setting_t *tp = config_setting_get_member(g, "transparent");
	const config_setting_t *src = config_setting_get_member(g, "source");
	int ret;

	if (tp && (ret = cfg_get_bool(tp, err, &b->transparent)))
		return ret;
	if (src && (ret = parse_source(src, &b->source, err)))
		return ret;
	if (addr && list)
		return cfg_err_at(err, list, "a backend has address or servers, not both");
	if (!addr && !list)
		return cfg_err_at(err, g, "missing required key \"address\" (or \"servers\")");
	if (addr) {
		b->servers = calloc(1, sizeof(*b->servers));
		if (!b->servers)
			return cfg_err_nomem(err);
		b->n_servers = 1;
		b->servers[0].weight = 1;
		b->servers[0].transparent = b->transparent;
		b->servers[0].line = cfg_line(addr);
		ret = parse_address(addr, &b->servers[0].text, &b->servers[0].addr, err);
		if (!ret)
			ret = check_transparent(addr, &b->servers[0], err);
		if (!ret)
			ret = copy_source(&b->source, &b->servers[0].source, err);
		if (!ret)
			ret = check_source(NULL, g, &b->servers[0], err);
		if (ret)
			return ret;
		b->text = strdup(b->servers[0].text);
		if (!b->text)
			return cfg_err_nomem(err);
	} else {
		ret = parse_server_list(list, g, b, err);
		if (ret)
			return ret;
	}
	b->addr = b->servers[0].addr;
	b->retries = (unsigned int)b->n_servers - 1;
	ret = parse_balance(g, b, err);
	if (!ret)
		ret = cfg_get_opt_uint(g, "retries", 0, CONFIG_MAX_SERVERS, err, &b->retries);
	if (!ret)
		ret = make_schedule(list ? list : g, b, false, err);
	if (!ret)
		ret = make_schedule(list ? list : g, b, true, err);
	if (!ret)
		ret = config_parse_health(g, b, err);
	return ret;
}
