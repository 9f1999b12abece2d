// SPDX-License-Identifier: MIT
/*
 * main.c - the sockmux command line: run, check, route, stats, top, version. Only main()
 * exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cmd_stats.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "router.h"
#include "tls_hello.h"

static const char usage_main[] =
	"usage: sockmux COMMAND [OPTIONS]\n"
	"\n"
	"A port-443 multiplexer: routes each TLS connection by SNI and ALPN to a backend\n"
	"without terminating TLS, then moves its bytes inside the kernel.\n"
	"\n"
	"commands:\n"
	"  run -c FILE [--engine auto|sockmap|splice]  run in the foreground\n"
	"  check -c FILE                                validate a config file and print it\n"
	"  route -c FILE [--sni NAME] [--alpn P1,P2] [--src ADDR] [--not-tls]\n"
	"                                               show the route a connection would get\n"
	"  stats [--json] [--watch] [--control PATH]    the running daemon's figures\n"
	"  top [--control PATH]                         live view, busiest routes first\n"
	"  reload [--control PATH]                      re-read the configuration (as SIGHUP)\n"
	"  version                                      print the version\n"
	"\n"
	"`sockmux COMMAND --help` describes each command.\n";

static const char usage_run[] =
	"usage: sockmux run -c FILE [--engine auto|sockmap|splice] [-v|--verbose]\n"
	"\n"
	"Runs sockmux in the foreground, logging to stderr, until SIGINT or SIGTERM; SIGHUP\n"
	"re-reads the configuration file.\n"
	"  -c, --config FILE   configuration file (libconfig syntax; see docs/config.md)\n"
	"  -e, --engine NAME   how bytes move after routing:\n"
	"                        auto     the best engine this machine can run (default)\n"
	"                        sockmap  BPF sockmap: bytes move inside the kernel\n"
	"                        splice   splice(2) through a pipe per direction\n"
	"                        sockmap-unbounded  the kernel's sockmap without back-pressure,\n"
	"                                 for measurements only (unsafe: unbounded memory)\n"
	"  -v, --verbose       debug logging\n";

static const char usage_check[] =
	"usage: sockmux check -c FILE\n"
	"\n"
	"Validates the configuration file and prints its listeners, backends and routes in\n"
	"order. On error prints FILE:LINE: message and exits 1.\n";

static const char usage_route[] =
	"usage: sockmux route -c FILE [--sni NAME] [--alpn P1,P2] [--src ADDR] [--not-tls]\n"
	"\n"
	"Prints the route and backend a connection with these properties would get, and why,\n"
	"without running anything. Exit status: 0 routed, 1 error, 2 no route matches.\n"
	"  -c, --config FILE  configuration file\n"
	"  -s, --sni NAME     the ClientHello's server name (none if absent)\n"
	"  -a, --alpn LIST    comma-separated ALPN protocols the client offers\n"
	"  -S, --src ADDR     client address, e.g. 192.0.2.7 or [2001:db8::7]:51000\n"
	"  -n, --not-tls      the connection is not TLS at all\n";

static int load_config(const char *path, struct sm_config *cfg)
{
	struct config_error err;

	if (!path) {
		fprintf(stderr, "sockmux: missing -c FILE\n");
		return -EINVAL;
	}
	if (config_load(path, cfg, &err)) {
		if (err.line > 0)
			fprintf(stderr, "%s:%d: %s\n", path, err.line, err.msg);
		else
			fprintf(stderr, "%s: %s\n", path, err.msg);
		return -EINVAL;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "engine", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum engine_kind engine = ENGINE_AUTO;
	const char *path = NULL;
	struct sm_config cfg;
	int o;

	while ((o = getopt_long(argc, argv, "c:e:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'e':
			if (engine_parse(optarg, &engine)) {
				fprintf(stderr, "sockmux run: unknown engine \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			fputs(usage_run, stdout);
			return 0;
		default:
			fputs(usage_run, stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockmux run: unexpected argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (load_config(path, &cfg))
		return 1;
	return daemon_run(&cfg, engine);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL;
	struct sm_config cfg;
	int o;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(usage_check, stdout);
			return 0;
		default:
			fputs(usage_check, stderr);
			return 1;
		}
	}
	if (load_config(path, &cfg))
		return 1;
	printf("%s: OK\n", path);
	config_print(&cfg, stdout);
	config_free(&cfg);
	return 0;
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

static int cmd_route(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "sni", required_argument, NULL, 's' },
		{ "alpn", required_argument, NULL, 'a' },
		{ "src", required_argument, NULL, 'S' },
		{ "not-tls", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *sni = NULL, *alpn = NULL, *src = NULL;
	char host[TLS_SNI_MAX + 2], why[1024], addr[ADDR_STRLEN];
	uint8_t wire[TLS_ALPN_MAX];
	struct route_input in = { .is_tls = true };
	struct sm_addr sa;
	struct sm_config cfg;
	long r;
	size_t i, n;
	int o;

	while ((o = getopt_long(argc, argv, "c:s:a:S:nh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 's':
			sni = optarg;
			break;
		case 'a':
			alpn = optarg;
			break;
		case 'S':
			src = optarg;
			break;
		case 'n':
			in.is_tls = false;
			break;
		case 'h':
			fputs(usage_route, stdout);
			return 0;
		default:
			fputs(usage_route, stderr);
			return 1;
		}
	}
	if (!in.is_tls && (sni || alpn)) {
		fprintf(stderr, "sockmux route: --not-tls excludes --sni and --alpn\n");
		return 1;
	}
	if (sni) {
		n = strlen(sni);
		if (n && sni[n - 1] == '.')
			n--;
		if (n == 0 || n > TLS_SNI_MAX) {
			fprintf(stderr, "sockmux route: invalid --sni \"%s\"\n", sni);
			return 1;
		}
		for (i = 0; i < n; i++) {
			char ch = sni[i];

			if (ch >= 'A' && ch <= 'Z')
				ch = ch - 'A' + 'a';
			/* what tls_hello_parse() accepts in a host name */
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '_' || ch == '.')) {
				fprintf(stderr, "sockmux route: invalid --sni \"%s\"\n", sni);
				return 1;
			}
			host[i] = ch;
		}
		host[n] = '\0';
		in.sni = host;
	}
	if (alpn) {
		if (alpn_to_wire(alpn, wire, sizeof(wire), &in.alpn_len)) {
			fprintf(stderr, "sockmux route: invalid --alpn \"%s\"\n", alpn);
			return 1;
		}
		in.alpn = wire;
	}
	if (src) {
		if (addr_parse(src, &sa) && addr_parse_host(src, &sa)) {
			fprintf(stderr, "sockmux route: invalid --src \"%s\"\n", src);
			return 1;
		}
		in.src = (const struct sockaddr *)&sa.ss;
	}
	if (load_config(path, &cfg))
		return 1;

	r = router_match(&cfg, &in, NULL);
	for (i = 0; i < cfg.n_routes; i++) {
		router_explain(&cfg, i, &in, why, sizeof(why));
		printf("%s\n", why);
		if ((long)i == r)
			break;
	}
	if (r < 0) {
		printf("no route: the connection would be closed (%s)\n",
		       in.is_tls ? "no_route" : "not_tls");
		config_free(&cfg);
		return 2;
	}
	printf("route #%ld (line %d) -> backend %s %s\n", r + 1, cfg.routes[r].line,
	       cfg.backends[cfg.routes[r].backend].name,
	       addr_format((const struct sockaddr *)&cfg.backends[cfg.routes[r].backend].addr.ss,
			   addr, sizeof(addr)));
	config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return 1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("sockmux %s\n", SOCKMUX_VERSION);
		return 0;
	}
	argv++;
	argc--;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "route"))
		return cmd_route(argc, argv);
	if (!strcmp(cmd, "reload"))
		return cmd_reload(argc, argv);
	if (!strcmp(cmd, "stats") || !strcmp(cmd, "top"))
		return cmd_stats(argc, argv, !strcmp(cmd, "top"));
	fprintf(stderr, "sockmux: unknown command \"%s\"\n\n%s", cmd, usage_main);
	return 1;
}
