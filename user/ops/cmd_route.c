// SPDX-License-Identifier: MIT
/*
 * cmd_route.c - `sockmux route`: the route a connection with the given listener, protocol,
 * name, ALPN and source would get, and why each earlier route does not match, without running
 * anything.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "ops/cmd.h"
#include "ops/route_servers.h"
#include "config.h"
#include "config_servers.h"
#include "hostname.h"
#include "router.h"
#include "sniff/sniff.h"
#include "sniff/tls_hello.h"
#include "transparent.h"

const char cmd_route_usage[] =
	"usage: sockmux route -c FILE [--listener NAME] [--protocol P] [--sni NAME | --host NAME]\n"
	"                     [--alpn P1,P2] [--src ADDR] [--not-tls] [--control PATH]\n"
	"\n"
	"Prints the route and backend a connection with these properties would get, and why,\n"
	"without running anything. For a backend of several servers, or with health checks, it\n"
	"also says which server would take the connection now and why each other one would\n"
	"not, from the running daemon's state (asked through its control socket).\n"
	"Exit status: 0 routed, 1 error, 2 no route matches.\n"
	"  -c, --config FILE    configuration file\n"
	"  -l, --listener NAME  the name of the listener it arrives on (none if absent)\n"
	"  -p, --protocol P     what it opens with: tls (the default), ssh, http, xmpp, openvpn,\n"
	"                       socks5, socks4, unknown, timeout\n"
	"  -s, --sni NAME       the ClientHello's server name (TLS; none if absent)\n"
	"  -H, --host NAME      the name it asks for: TLS SNI, HTTP Host, XMPP to\n"
	"  -a, --alpn LIST      comma-separated ALPN protocols the client offers (TLS)\n"
	"  -S, --src ADDR       client address, e.g. 192.0.2.7 or [2001:db8::7]:51000\n"
	"  -n, --not-tls        the same as --protocol unknown\n"
	"  -C, --control PATH   the running daemon's control socket (default: the file's)\n";

static const struct option route_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listener", required_argument, NULL, 'l' },
	{ "protocol", required_argument, NULL, 'p' },
	{ "sni", required_argument, NULL, 's' },
	{ "host", required_argument, NULL, 'H' },
	{ "alpn", required_argument, NULL, 'a' },
	{ "src", required_argument, NULL, 'S' },
	{ "not-tls", no_argument, NULL, 'n' },
	{ "control", required_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* The options as given, and the route_input made of them (in points into this struct). */
struct route_query {
	const char *path, *sni, *host_opt, *alpn, *src, *control;
	bool not_tls;
	struct route_input in;
	char host[HOSTNAME_MAX + 1];
	char host_noport[HOSTNAME_MAX + 1];
	uint8_t wire[TLS_ALPN_MAX];
	struct addr sa;
};

/* --sni NAME as the daemon would see it (hostname.h); 0 or -EINVAL. */
static int sni_to_host(const char *sni, char *host)
{
	size_t len;

	return hostname_normalize(sni, strlen(sni), host, &len) == HOSTNAME_OK ? 0 : -EINVAL;
}

/* "h2,http/1.1" -> wire-format protocol_name_list; 0 or -EINVAL. */
static int alpn_to_wire(const char *list, uint8_t *out, size_t size, size_t *len)
{
	const char *p = list;

	*len = 0;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n > 255 || *len + 1 + n > size)
			return -EINVAL;
		out[(*len)++] = (uint8_t)n;
		memcpy(out + *len, p, n);
		*len += n;
		p += n;
		if (*p == ',')
			p++;
	}
	return *len ? 0 : -EINVAL;
}

/* Fills q->in from the options; reports a bad one on stderr and returns -EINVAL. */
static int route_query_build(struct route_query *q)
{
	const char *name = q->sni ? q->sni : q->host_opt;

	if (q->in.proto != PROTO_TLS && (q->sni || q->alpn)) {
		fprintf(stderr, "sockmux route: --sni and --alpn are TLS only\n");
		return -EINVAL;
	}
	if (q->sni && q->host_opt) {
		fprintf(stderr, "sockmux route: --sni and --host name the same; give one\n");
		return -EINVAL;
	}
	if (q->in.proto == PROTO_TIMEOUT && name) {
		fprintf(stderr, "sockmux route: a silent client (timeout) names no host\n");
		return -EINVAL;
	}
	if (q->host_opt && !q->sni) {
		/* as a Host header may carry it: "name:port" */
		const char *colon = strrchr(name, ':');

		if (colon && !strchr(name, '[') && strchr(name, ':') == colon &&
		    (size_t)(colon - name) < sizeof(q->host_noport)) {
			memcpy(q->host_noport, name, (size_t)(colon - name));
			q->host_noport[colon - name] = '\0';
			name = q->host_noport;
		}
	}
	if (name) {
		if (sni_to_host(name, q->host)) {
			fprintf(stderr, "sockmux route: invalid host name \"%s\"\n", name);
			return -EINVAL;
		}
		q->in.name = q->host;
	}
	if (q->alpn) {
		if (alpn_to_wire(q->alpn, q->wire, sizeof(q->wire), &q->in.alpn_len)) {
			fprintf(stderr, "sockmux route: invalid --alpn \"%s\"\n", q->alpn);
			return -EINVAL;
		}
		q->in.alpn = q->wire;
	}
	if (q->src) {
		if (addr_parse(q->src, &q->sa) && addr_parse_host(q->src, &q->sa)) {
			fprintf(stderr, "sockmux route: invalid --src \"%s\"\n", q->src);
			return -EINVAL;
		}
		q->in.src = (const struct sockaddr *)&q->sa.ss;
	}
	return 0;
}

/*
 * For a transparent backend: that it is, and with --src which of its servers that client may
 * use (those of its family; a client on this host: any, without transparency).
 */
static void print_transparent(const struct config_backend *b, const struct sockaddr *src)
{
	struct local_addrs la = { 0 };
	char addr[ADDR_STRLEN];
	uint64_t skip;
	size_t k, n = 0, len;

	if (!transparent_any(b))
		return;
	printf("transparent: connected from the client's own address");
	if (!src) {
		printf(" (over the client's family; --src tells which servers)\n");
		return;
	}
	local_addrs_load(&la);
	if (transparent_is_local(&la, src)) {
		printf(" unless it is on this host, as %s is: without transparency\n",
		       addr_format(src, addr, sizeof(addr)));
		local_addrs_free(&la);
		return;
	}
	local_addrs_free(&la);
	skip = transparent_exclude(b, transparent_family(src));
	/* --src without a port: "192.0.2.7:0" and "[2001:db8::7]:0" lose their ":0" */
	addr_format(src, addr, sizeof(addr));
	len = strlen(addr);
	if (len > 2 && !strcmp(addr + len - 2, ":0"))
		addr[len - 2] = 0;
	printf("; for %s:", addr);
	for (k = 0; k < b->n_servers; k++) {
		if ((skip >> k) & 1)
			continue;
		printf(" %s", addr_format((const struct sockaddr *)&b->servers[k].addr.ss, addr,
					  sizeof(addr)));
		n++;
	}
	printf("%s\n", n ? "" : " none: no server of its family, the connection would fail");
}

/* Prints why each route up to the winner does or does not match, then the verdict: 0 or 2. */
static int route_report(const struct config *cfg, const struct route_input *in,
			const char *control)
{
	char why[1024], addr[ADDR_STRLEN];
	const struct config_backend *b;
	long r;
	size_t i;

	r = router_match(cfg, in, NULL);
	for (i = 0; i < cfg->n_routes; i++) {
		router_explain(cfg, i, in, why, sizeof(why));
		printf("%s\n", why);
		if ((long)i == r)
			break;
	}
	if (r < 0) {
		printf("no route: the connection would be closed (%s)\n",
		       in->proto == PROTO_UNKNOWN ? "not_tls" : "no_route");
		return 2;
	}
	b = &cfg->backends[cfg->routes[r].backend];
	printf("route #%ld (line %d) -> backend %s %s", r + 1, cfg->routes[r].line, b->name,
	       addr_format((const struct sockaddr *)&b->addr.ss, addr, sizeof(addr)));
	for (size_t k = 1; k < b->n_servers; k++)
		printf(", %s", addr_format((const struct sockaddr *)&b->servers[k].addr.ss, addr,
					   sizeof(addr)));
	if (b->n_servers > 1)
		printf(" (balance %s, retries %u)", config_balance_name(b->balance), b->retries);
	printf("\n");
	print_transparent(b, in->src);
	/* several servers, or checked ones: which one now, as the running daemon sees them */
	if (b->n_servers > 1 || b->health.on)
		route_servers_report(b, in->src, *cfg->control ? control : NULL);
	return 0;
}

static bool listener_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].name && !strcmp(cfg->listeners[i].name, name))
			return true;
	return false;
}

int cmd_route(const struct cmd *cmd, int argc, char **argv)
{
	struct route_query q = { .in.proto = PROTO_TLS };
	struct config cfg;
	int o, ret, p;

	while ((o = getopt_long(argc, argv, "c:l:p:s:H:a:S:nC:h", route_opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			q.path = optarg;
			break;
		case 'l':
			q.in.listener = optarg;
			break;
		case 'p':
			p = sniff_proto_by_name(optarg);
			if (p < 0) {
				fprintf(stderr, "sockmux route: unknown --protocol \"%s\"\n", optarg);
				return 1;
			}
			q.in.proto = (enum sniff_proto)p;
			break;
		case 's':
			q.sni = optarg;
			break;
		case 'H':
			q.host_opt = optarg;
			break;
		case 'a':
			q.alpn = optarg;
			break;
		case 'S':
			q.src = optarg;
			break;
		case 'n':
			q.not_tls = true;
			break;
		case 'C':
			q.control = optarg;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return 0;
		default:
			fputs(cmd->usage, stderr);
			return 1;
		}
	}
	if (q.not_tls && q.in.proto != PROTO_TLS && q.in.proto != PROTO_UNKNOWN) {
		fprintf(stderr, "sockmux route: --not-tls and --protocol %s say different things\n",
			sniff_proto_name(q.in.proto));
		return 1;
	}
	if (q.not_tls)
		q.in.proto = PROTO_UNKNOWN;
	if (route_query_build(&q))
		return 1;
	if (cmd_load_config(q.path, &cfg))
		return 1;
	if (q.in.listener && !listener_named(&cfg, q.in.listener)) {
		fprintf(stderr, "sockmux route: no listener named \"%s\" in %s\n", q.in.listener,
			q.path);
		config_free(&cfg);
		return 1;
	}
	ret = route_report(&cfg, &q.in, q.control ? q.control : cfg.control);
	config_free(&cfg);
	return ret;
}
