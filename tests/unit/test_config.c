// SPDX-License-Identifier: MIT
/*
 * test_config.c - config_parse / config_load / config_print: the example configuration with
 * every value and line, defaults, normalisation of sni patterns, and each error with the line
 * and key path its message must name. Fixtures live in tests/fixtures/config/. TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "escape.h"
#include "tap.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define CONFIG_FIXTURE(name) FIXTURES "/config/" name

/* Three lines that make a valid configuration, to build error cases on. */
#define L1 "listen = ( { address = \"0.0.0.0:443\"; } );\n"
#define B1 "backends = { web = { address = \"127.0.0.1:8443\"; }; };\n"
#define R1 "routes = ( { backend = \"web\"; } );\n"
#define LONG27 "aaaaaaaaaaaaaaaaaaaaaaaaaa/"
/* 108 characters: with the leading '/', one past what sun_path holds */
#define LONG108 LONG27 LONG27 LONG27 LONG27
#define ROUTE(body) L1 B1 "routes = ( { " body " backend = \"web\"; } );\n"

static const struct sockaddr *sa_of(const struct addr *a)
{
	return (const struct sockaddr *)&a->ss;
}

static bool addr_is(const struct addr *a, const char *want, const char *name)
{
	char buf[ADDR_STRLEN];

	return ASSERT_STREQ(addr_format(sa_of(a), buf, sizeof(buf)), want, name);
}

static bool cfg_is_empty(const struct config *cfg)
{
	return !cfg->path && !cfg->listeners && !cfg->n_listeners && !cfg->backends &&
	       !cfg->n_backends && !cfg->routes && !cfg->n_routes && !cfg->handshake_ms;
}

static void test_example(void)
{
	const struct config_route *r;
	struct config_error err;
	struct config cfg;
	char buf[64];

	if (!ASSERT_OK(config_load(CONFIG_FIXTURE("example.cfg"), &cfg, &err),
		       "load example.cfg")) {
		tap_diag("  %d: %s", err.line, err.msg);
		return;
	}
	ASSERT_STREQ(cfg.path, CONFIG_FIXTURE("example.cfg"), "example: path kept");
	if (ASSERT_EQ(cfg.n_listeners, 2, "example: 2 listeners")) {
		addr_is(&cfg.listeners[0].addr, "0.0.0.0:443", "example: listener 0 address");
		ASSERT_STREQ(cfg.listeners[0].text, "0.0.0.0:443", "example: listener 0 text");
		ASSERT_EQ(cfg.listeners[0].line, 1, "example: listener 0 line");
		addr_is(&cfg.listeners[1].addr, "[::]:443", "example: listener 1 address");
		ASSERT_STREQ(cfg.listeners[1].text, "[::]:443", "example: listener 1 text");
		ASSERT_EQ(cfg.listeners[1].line, 1, "example: listener 1 line");
	}
	if (ASSERT_EQ(cfg.n_backends, 2, "example: 2 backends")) {
		ASSERT_STREQ(cfg.backends[0].name, "prosody", "example: backend 0 name");
		ASSERT_STREQ(cfg.backends[0].text, "127.0.0.1:5223", "example: backend 0 text");
		addr_is(&cfg.backends[0].addr, "127.0.0.1:5223", "example: backend 0 address");
		ASSERT_EQ(cfg.backends[0].line, 4, "example: backend 0 line");
		ASSERT_STREQ(cfg.backends[1].name, "web", "example: backend 1 name");
		addr_is(&cfg.backends[1].addr, "[::1]:8443", "example: backend 1 address");
		ASSERT_EQ(cfg.backends[1].line, 5, "example: backend 1 line");
	}
	ASSERT_EQ(cfg.handshake_ms, 5000, "example: handshake_ms");
	ASSERT_EQ(cfg.connect_ms, 3000, "example: connect_ms");
	ASSERT_EQ(cfg.workers, 2, "example: workers");
	ASSERT_EQ(cfg.max_connections, 16384, "example: max_connections");
	if (!ASSERT_EQ(cfg.n_routes, 4, "example: 4 routes"))
		goto out_free_cfg;

	r = &cfg.routes[0];
	ASSERT_EQ(r->line, 8, "route #1 line");
	ASSERT_EQ(r->backend, 0, "route #1 -> prosody");
	if (ASSERT_EQ(r->n_sni, 1, "route #1 one sni")) {
		ASSERT_STREQ(r->sni[0].name, "example.org", "route #1 sni name");
		ASSERT_FALSE(r->sni[0].wildcard, "route #1 sni exact");
	}
	if (ASSERT_EQ(r->n_alpn, 1, "route #1 one alpn"))
		ASSERT_STREQ(r->alpn[0], "xmpp-client", "route #1 alpn");
	ASSERT_EQ(r->n_source, 0, "route #1 no source");

	r = &cfg.routes[1];
	ASSERT_EQ(r->line, 9, "route #2 line");
	ASSERT_EQ(r->backend, 1, "route #2 -> web");
	if (ASSERT_EQ(r->n_sni, 2, "route #2 two sni")) {
		ASSERT_STREQ(r->sni[0].name, "example.org", "route #2 sni 0");
		ASSERT_FALSE(r->sni[0].wildcard, "route #2 sni 0 exact");
		ASSERT_STREQ(r->sni[1].name, ".example.org", "route #2 sni 1 keeps its dot");
		ASSERT_TRUE(r->sni[1].wildcard, "route #2 sni 1 wildcard");
	}
	ASSERT_EQ(r->n_alpn, 0, "route #2 no alpn");

	r = &cfg.routes[2];
	ASSERT_EQ(r->line, 10, "route #3 line");
	ASSERT_EQ(r->backend, 1, "route #3 -> web");
	ASSERT_EQ(r->n_sni + r->n_alpn, 0, "route #3 no sni, no alpn");
	if (ASSERT_EQ(r->n_source, 2, "route #3 two sources")) {
		ASSERT_STREQ(cidr_format(&r->source[0], buf, sizeof(buf)), "192.0.2.0/24",
			     "route #3 source 0");
		ASSERT_STREQ(cidr_format(&r->source[1], buf, sizeof(buf)), "2001:db8::/32",
			     "route #3 source 1");
	}

	r = &cfg.routes[3];
	ASSERT_EQ(r->line, 11, "route #4 line");
	ASSERT_EQ(r->backend, 1, "route #4 -> web");
	ASSERT_EQ(r->n_sni + r->n_alpn + r->n_source, 0, "route #4 has no condition");
out_free_cfg:
	config_free(&cfg);
	ASSERT_TRUE(cfg_is_empty(&cfg), "config_free leaves cfg empty");
	config_free(&cfg);
	ASSERT_TRUE(cfg_is_empty(&cfg), "config_free twice is harmless");
}

static void test_print(void)
{
	static const char want[] =
		"listeners:\n"
		"  0.0.0.0:443 (line 1)\n"
		"  [::]:443 (line 1)\n"
		"backends:\n"
		"  prosody 127.0.0.1:5223 (line 4)\n"
		"  web [::1]:8443 (line 5)\n"
		"routes:\n"
		"  #1 sni=example.org alpn=xmpp-client -> prosody (line 8)\n"
		"  #2 sni=example.org,*.example.org -> web (line 9)\n"
		"  #3 source=192.0.2.0/24,2001:db8::/32 -> web (line 10)\n"
		"  #4 (default) -> web (line 11)\n"
		"timeouts: handshake_ms=5000 connect_ms=3000\n"
		"workers: 2, max_connections: 16384, max_handshakes: auto (4096), "
		"max_connections_per_source: off\n"
		"control: /run/sockmux/control.sock, metrics: off\n";
	struct config_error err;
	struct config cfg;
	size_t len = 0;
	char *out = NULL;
	FILE *f;

	if (!ASSERT_OK(config_load(CONFIG_FIXTURE("example.cfg"), &cfg, &err), "print: load"))
		return;
	f = open_memstream(&out, &len);
	if (!ASSERT_TRUE(f, "open_memstream"))
		goto out_free_cfg;
	config_print(&cfg, f);
	fclose(f);
	if (!ASSERT_STREQ(out, want, "config_print of example.cfg"))
		tap_diag("got:\n%s", out);
	free(out);
out_free_cfg:
	config_free(&cfg);
}

static void test_defaults(void)
{
	struct config_error err;
	struct config cfg;
	size_t len = 0;
	char *out = NULL;
	FILE *f;

	if (!ASSERT_OK(config_load(CONFIG_FIXTURE("minimal.cfg"), &cfg, &err), "load minimal.cfg"))
		return;
	ASSERT_EQ(cfg.handshake_ms, CONFIG_DEFAULT_HANDSHAKE_MS, "default handshake_ms");
	ASSERT_EQ(cfg.connect_ms, CONFIG_DEFAULT_CONNECT_MS, "default connect_ms");
	ASSERT_EQ(cfg.workers, 0, "default workers (auto)");
	ASSERT_EQ(cfg.max_connections, CONFIG_DEFAULT_MAX_CONNECTIONS, "default max_connections");
	ASSERT_EQ(cfg.n_listeners, 1, "minimal: 1 listener");
	ASSERT_EQ(cfg.listeners[0].line, 3, "minimal: listener line");
	ASSERT_EQ(cfg.routes[0].line, 5, "minimal: route line");
	f = open_memstream(&out, &len);
	if (ASSERT_TRUE(f, "open_memstream")) {
		config_print(&cfg, f);
		fclose(f);
		ASSERT_TRUE(strstr(out, "\nworkers: auto, max_connections: 16384, "
					"max_handshakes: auto (4096), "
					"max_connections_per_source: off\n"),
			    "config_print says workers: auto, the default limits");
		ASSERT_TRUE(strstr(out, "  #1 (default) -> web (line 5)\n"),
			    "config_print shows the default route");
		free(out);
	}
	config_free(&cfg);
}

static void test_wildcard_alpn(void)
{
	const struct config_route *r;
	struct config_error err;
	struct config cfg;
	char buf[64];

	if (!ASSERT_OK(config_load(CONFIG_FIXTURE("wildcard_alpn.cfg"), &cfg, &err),
		       "load wildcard_alpn.cfg")) {
		tap_diag("  %d: %s", err.line, err.msg);
		return;
	}
	ASSERT_EQ(cfg.handshake_ms, CONFIG_DEFAULT_HANDSHAKE_MS,
		  "partial timeouts: handshake default");
	ASSERT_EQ(cfg.connect_ms, 1500, "partial timeouts: connect_ms set");
	ASSERT_EQ(cfg.workers, 0, "workers = 0 is auto");
	if (!ASSERT_EQ(cfg.n_routes, 4, "wildcard_alpn: 4 routes"))
		goto out_free_cfg;
	r = &cfg.routes[0];
	ASSERT_EQ(r->line, 11, "wildcard route line");
	if (ASSERT_EQ(r->n_sni, 2, "() list of sni")) {
		ASSERT_STREQ(r->sni[0].name, ".example.org",
			     "\"*.Example.ORG.\" lowercased, dot stripped");
		ASSERT_TRUE(r->sni[0].wildcard, "\"*.Example.ORG.\" is a wildcard");
		ASSERT_STREQ(r->sni[1].name, "example.org", "exact after wildcard");
		ASSERT_FALSE(r->sni[1].wildcard, "exact is not a wildcard");
	}
	if (ASSERT_EQ(r->n_alpn, 2, "() list of alpn")) {
		ASSERT_STREQ(r->alpn[0], "xmpp-client", "alpn 0");
		ASSERT_STREQ(r->alpn[1], "xmpp-server", "alpn 1");
	}
	ASSERT_STREQ(cfg.backends[r->backend].name, "xmpp", "wildcard route -> xmpp");
	r = &cfg.routes[2];
	if (ASSERT_EQ(r->n_source, 2, "() list of source")) {
		ASSERT_EQ(r->source[1].family, AF_INET6, "mapped prefix stays IPv6");
		ASSERT_STREQ(cidr_format(&r->source[1], buf, sizeof(buf)), "::ffff:10.0.0.0/104",
			     "mapped prefix");
	}
out_free_cfg:
	config_free(&cfg);
}

/* Texts that must parse, and a check of the value they set. */
static void test_valid_edges(void)
{
	static const char long_alpn[] =
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"012345678901234567890123456789012345678901234";	/* 255 bytes */
	struct config_error err;
	struct config cfg;
	char text[1024];

	ASSERT_EQ(strlen(long_alpn), 255, "long_alpn is 255 bytes");
	snprintf(text, sizeof(text), ROUTE("alpn = [ \"%s\" ];"), long_alpn);
	if (ASSERT_OK(config_parse(text, "t", &cfg, &err), "alpn of 255 bytes accepted")) {
		ASSERT_EQ(strlen(cfg.routes[0].alpn[0]), 255, "alpn of 255 bytes kept");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1
				   "timeouts = { handshake_ms = 1; connect_ms = 3600000; };\n"
				   "workers = 64; max_connections = 1000000;\n",
				   "t", &cfg, &err),
		      "upper and lower bounds accepted")) {
		ASSERT_EQ(cfg.handshake_ms, 1, "handshake_ms = 1");
		ASSERT_EQ(cfg.connect_ms, 3600000, "connect_ms = 3600000");
		ASSERT_EQ(cfg.workers, 64, "workers = 64");
		ASSERT_EQ(cfg.max_connections, 1000000, "max_connections = 1000000");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "timeouts = { };\nmax_connections = 1;\n", "t", &cfg,
				   &err),
		      "empty timeouts group, max_connections = 1")) {
		ASSERT_EQ(cfg.handshake_ms, CONFIG_DEFAULT_HANDSHAKE_MS, "empty timeouts: default");
		ASSERT_EQ(cfg.max_connections, 1, "max_connections = 1");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "workers = 0x10; max_connections = 100L;\n", "t", &cfg,
				   &err),
		      "hex and 64-bit literals accepted")) {
		ASSERT_EQ(cfg.workers, 16, "workers = 0x10");
		ASSERT_EQ(cfg.max_connections, 100, "max_connections = 100L");
		config_free(&cfg);
	}
	/* big numbers in comments, strings and names are not integer literals */
	if (ASSERT_OK(config_parse(L1 "backends = {\n"
				   "  b99999999999 = { address = \"127.0.0.1:1\"; }; };\n"
				   "routes = ( { sni = [ \"99999999999.org\" /* 99999999999 */ ];\n"
				   "  backend = \"b99999999999\"; } ); # 99999999999\n"
				   "// 99999999999\nworkers = 3;\n",
				   "t", &cfg, &err),
		      "big numbers outside integer literals are fine")) {
		ASSERT_EQ(cfg.workers, 3, "workers after big numbers in comments");
		ASSERT_STREQ(cfg.routes[0].sni[0].name, "99999999999.org", "numeric label kept");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(ROUTE("sni = [ \"A-B_c.Example.ORG.\", \"*.X.org\" ];"), "t",
				   &cfg, &err),
		      "sni normalised")) {
		ASSERT_STREQ(cfg.routes[0].sni[0].name, "a-b_c.example.org", "exact lowercased");
		ASSERT_STREQ(cfg.routes[0].sni[1].name, ".x.org", "wildcard lowercased");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse("listen = ( { address = \"0.0.0.0:443\"; },\n"
				   "  { address = \"[::]:443\"; },\n"
				   "  { address = \"0.0.0.0:8443\"; },\n"
				   "  { address = \"[::ffff:0.0.0.0]:443\"; } );\n" B1 R1,
				   "t", &cfg, &err),
		      "same port on other addresses is not a duplicate")) {
		ASSERT_EQ(cfg.n_listeners, 4, "four listeners");
		ASSERT_EQ(cfg.listeners[1].line, 2, "listener on line 2");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "workers = 5; # no newline", "t", &cfg, &err),
		      "comment ending the text without a newline")) {
		ASSERT_EQ(cfg.workers, 5, "value before the final comment");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "workers = 6; // no newline", "t", &cfg, &err),
		      "// comment ending the text without a newline"))
		config_free(&cfg);
	if (ASSERT_OK(config_parse(L1 B1 "routes = ( { backend = \"web\"; } )", "t", &cfg, &err),
		      "text ending without a newline or semicolon"))
		config_free(&cfg);
	if (ASSERT_OK(config_parse(L1 B1 R1, NULL, &cfg, &err), "NULL path accepted")) {
		ASSERT_STREQ(cfg.path, "-", "NULL path stored as \"-\"");
		config_free(&cfg);
	}
}

/* PROXY protocol keys: what they set, how check prints them, whom a listener trusts. */
static void test_proxy(void)
{
	static const char want[] =
		"listeners:\n"
		"  0.0.0.0:443 (line 3)\n"
		"  [::]:8443 accept_proxy trusted=192.0.2.0/24,2001:db8::/32,127.0.0.1/32"
		" (line 4)\n"
		"backends:\n"
		"  prosody 127.0.0.1:5223 proxy_protocol=v2 proxy_protocol_crc (line 8)\n"
		"  web [::1]:8443 proxy_protocol=v1 (line 9)\n"
		"  plain 127.0.0.1:8080 proxy_protocol=v2 (line 10)\n"
		"  other 127.0.0.1:8081 (line 11)\n";
	struct addr a;
	struct config_error err;
	struct config cfg;
	const struct config_listener *l;
	size_t len = 0;
	char *out = NULL;
	FILE *f;

	if (!ASSERT_OK(config_load(CONFIG_FIXTURE("proxy.cfg"), &cfg, &err), "load proxy.cfg")) {
		tap_diag("  %d: %s", err.line, err.msg);
		return;
	}
	l = &cfg.listeners[0];
	ASSERT_TRUE(!l->accept_proxy && !l->n_trusted && !l->trusted,
		    "proxy: listener 0 takes no header");
	l = &cfg.listeners[1];
	ASSERT_TRUE(l->accept_proxy, "proxy: listener 1 accept_proxy");
	ASSERT_EQ(l->n_trusted, 3, "proxy: listener 1 trusts 3 prefixes");
	ASSERT_EQ(cfg.backends[0].proxy_protocol, 2, "proxy: prosody v2");
	ASSERT_TRUE(cfg.backends[0].proxy_protocol_crc, "proxy: prosody with CRC32C");
	ASSERT_EQ(cfg.backends[1].proxy_protocol, 1, "proxy: web v1");
	ASSERT_FALSE(cfg.backends[1].proxy_protocol_crc, "proxy: web without CRC32C");
	ASSERT_TRUE(cfg.backends[2].proxy_protocol == 2 && !cfg.backends[2].proxy_protocol_crc,
		    "proxy: proxy_protocol_crc = false before proxy_protocol = \"v2\"");
	ASSERT_EQ(cfg.backends[3].proxy_protocol, 0, "proxy: other sends no header");

	addr_parse("[2001:db8::5]:1", &a);
	ASSERT_TRUE(config_listener_trusts(l, sa_of(&a)), "trusts 2001:db8::5 (in 2001:db8::/32)");
	addr_parse("[2001:db9::5]:1", &a);
	ASSERT_FALSE(config_listener_trusts(l, sa_of(&a)), "does not trust 2001:db9::5");
	addr_parse("127.0.0.1:1", &a);
	ASSERT_TRUE(config_listener_trusts(l, sa_of(&a)), "trusts 127.0.0.1 (bare address)");
	addr_parse("127.0.0.2:1", &a);
	ASSERT_FALSE(config_listener_trusts(l, sa_of(&a)), "does not trust 127.0.0.2");
	addr_parse("[::ffff:192.0.2.9]:1", &a);
	ASSERT_TRUE(config_listener_trusts(l, sa_of(&a)), "trusts IPv4-mapped ::ffff:192.0.2.9");
	ASSERT_TRUE(config_listener_trusts(&cfg.listeners[0], sa_of(&a)),
		    "a listener without accept_proxy takes anyone");

	f = open_memstream(&out, &len);
	if (ASSERT_TRUE(f, "open_memstream")) {
		config_print(&cfg, f);
		fclose(f);
		if (!ASSERT_TRUE(!strncmp(out, want, strlen(want)), "config_print of proxy.cfg"))
			tap_diag("got:\n%s", out);
		free(out);
	}
	config_free(&cfg);
}

struct bad_case {
	const char *name;
	const char *text;
	int line;
	const char *msg;	/* must occur in err.msg */
};

/* 64 and 254 bytes: one past the limit of a label and of a name */
#define LABEL64 "a123456789012345678901234567890123456789012345678901234567890123"
#define NAME254                                                                                    \
	"a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789."         \
	"a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789."         \
	"a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789.a23456789."         \
	"a23456789.a2345678"
#define ALPN64 "0123456789012345678901234567890123456789012345678901234567890123"

static const struct bad_case bad_cases[] = {
	/* libconfig syntax */
	{ "syntax: unquoted string", L1 B1 "routes = ( { backend = web; } );\n",
	  3, "syntax error" },
	{ "syntax: unterminated list", L1 B1 "routes = ( { backend = \"web\"; }\n",
	  4, "syntax error" },
	{ "syntax: duplicate key", L1 L1 B1 R1, 2, "duplicate setting name" },
	{ "syntax: duplicate backend",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; };\n"
	  "  web = { address = \"127.0.0.1:2\"; }; };\n" R1,
	  3, "duplicate setting name" },
	{ "syntax: mixed array", ROUTE("sni = [ \"a.org\", 1 ];"), 3, "mismatched element type" },
	{ "@include refused", L1 "  @include \"minimal.cfg\"\n" B1 R1,
	  2, "@include is not supported" },
	/* missing required keys */
	{ "empty text", "", 0, "missing required key \"listen\"" },
	{ "only comments", "# nothing\n", 0, "missing required key \"listen\"" },
	{ "missing listen", B1 R1, 0, "missing required key \"listen\"" },
	{ "missing backends", L1 R1, 0, "missing required key \"backends\"" },
	{ "missing routes", L1 B1, 0, "missing required key \"routes\"" },
	{ "listen without address", "listen = (\n  { }\n);\n" B1 R1,
	  2, "listen.[0]: missing required key \"address\"" },
	{ "backend without address", L1 "backends = {\n  web = { };\n};\n" R1,
	  3, "backends.web: missing required key \"address\"" },
	{ "route without backend", L1 B1 "routes = ( { sni = [ \"a.org\" ]; } );\n",
	  3, "routes.[0]: missing required key \"backend\"" },
	/* unknown keys, at every level, on the line of the key */
	{ "unknown top-level key", L1 B1 R1 "\nworker = 2;\n",
	  5, "unknown key \"worker\" at top level" },
	{ "unknown key in listen entry",
	  "listen = ( { address = \"0.0.0.0:443\";\n  adress = \"x\"; } );\n" B1 R1,
	  2, "unknown key \"adress\" in listen.[0]" },
	{ "unknown key in timeouts", L1 B1 R1 "timeouts = {\n  handshake = 5;\n};\n",
	  5, "unknown key \"handshake\" in timeouts" },
	{ "unknown key in backend",
	  L1 "backends = {\n  web = { address = \"127.0.0.1:1\"; weight = 2; };\n};\n" R1,
	  3, "unknown key \"weight\" in backends.web" },
	{ "unknown key in route",
	  L1 B1 "routes = (\n  { backend = \"web\"; },\n"
	  "  { snis = [ \"a.org\" ]; backend = \"web\"; }\n);\n",
	  5, "unknown key \"snis\" in routes.[1]" },
	{ "unknown key next to backend", ROUTE("backend2 = 1;"),
	  3, "unknown key \"backend2\" in routes.[0]" },
	/* wrong types */
	{ "listen is a string", "listen = \"0.0.0.0:443\";\n" B1 R1,
	  1, "listen: expected a list of groups" },
	{ "listen is a group", "listen = { address = \"0.0.0.0:443\"; };\n" B1 R1,
	  1, "listen: expected a list of groups" },
	{ "listen holds strings", "listen = [ \"0.0.0.0:443\" ];\n" B1 R1,
	  1, "listen.[0]: expected a group" },
	{ "listen address is an integer", "listen = ( { address = 443; } );\n" B1 R1,
	  1, "listen.[0].address: expected a string, got an integer" },
	{ "backends is a list", L1 "backends = ( { address = \"127.0.0.1:1\"; } );\n" R1,
	  2, "backends: expected a group" },
	{ "backend is a string", L1 "backends = { web = \"127.0.0.1:8443\"; };\n" R1,
	  2, "backends.web: expected a group" },
	{ "routes is a group", L1 B1 "routes = { backend = \"web\"; };\n",
	  3, "routes: expected a list of groups" },
	{ "route is a string", L1 B1 "routes = ( \"web\" );\n", 3, "routes.[0]: expected a group" },
	{ "route backend is an integer", L1 B1 "routes = ( { backend = 1; } );\n",
	  3, "routes.[0].backend: expected a string, got an integer" },
	{ "sni is a string", ROUTE("sni = \"a.org\";"), 3, "routes.[0].sni: expected an array" },
	{ "sni holds an integer", ROUTE("sni = ( \"a.org\", 1 );"),
	  3, "routes.[0].sni.[1]: expected a string, got an integer" },
	{ "alpn is a group", ROUTE("alpn = { h2 = 1; };"),
	  3, "routes.[0].alpn: expected an array" },
	{ "alpn holds a boolean", ROUTE("alpn = [ true ];"),
	  3, "routes.[0].alpn.[0]: expected a string, got a boolean" },
	{ "source holds a list", ROUTE("source = ( ( \"10.0.0.0/8\" ) );"),
	  3, "routes.[0].source.[0]: expected a string, got a list" },
	{ "timeouts is an integer", L1 B1 R1 "timeouts = 5000;\n",
	  4, "timeouts: expected a group" },
	{ "handshake_ms is a string", L1 B1 R1 "timeouts = { handshake_ms = \"5000\"; };\n",
	  4, "timeouts.handshake_ms: expected an integer, got a string" },
	{ "connect_ms is a float", L1 B1 R1 "timeouts = { connect_ms = 3000.0; };\n",
	  4, "timeouts.connect_ms: expected an integer, got a float" },
	{ "workers is a string", L1 B1 R1 "workers = \"2\";\n",
	  4, "workers: expected an integer, got a string" },
	{ "workers is a float exponent", L1 B1 R1 "workers = 1e99;\n",
	  4, "workers: expected an integer, got a float" },
	{ "max_connections is a boolean", L1 B1 R1 "max_connections = true;\n",
	  4, "max_connections: expected an integer, got a boolean" },
	/* references */
	{ "route names a missing backend",
	  L1 B1 "routes = (\n  { backend = \"web\"; },\n  { backend = \"webb\"; }\n);\n",
	  5, "routes.[1].backend: no backend named \"webb\"" },
	{ "backend names are case-sensitive", L1 B1 "routes = ( { backend = \"Web\"; } );\n",
	  3, "no backend named \"Web\"" },
	/* addresses */
	{ "backend without port",
	  L1 "backends = { web = { address = \"127.0.0.1\"; }; };\n" R1,
	  2, "backends.web.address: invalid address \"127.0.0.1\": missing \":port\"" },
	{ "backend host name",
	  L1 "backends = { web = { address = \"localhost:443\"; }; };\n" R1,
	  2, "backends.web.address: invalid address \"localhost:443\": not a numeric IPv4" },
	{ "backend v6 without port",
	  L1 "backends = { web = { address = \"[::1]\"; }; };\n" R1,
	  2, "backends.web.address: invalid address \"[::1]\": missing \":port\"" },
	{ "backend port too big",
	  L1 "backends = { web = { address = \"1.2.3.4:99999\"; }; };\n" R1,
	  2, "backends.web.address: invalid address \"1.2.3.4:99999\": port must be" },
	{ "backend port 0",
	  L1 "backends = { web = { address = \"1.2.3.4:0\"; }; };\n" R1,
	  2, "backends.web.address: invalid address \"1.2.3.4:0\": port must be" },
	{ "backend unbracketed v6",
	  L1 "backends = { web = { address = \"::1:443\"; }; };\n" R1,
	  2, "must be in brackets" },
	{ "backend zone id",
	  L1 "backends = { web = { address = \"[fe80::1%eth0]:1\"; }; };\n" R1,
	  2, "zone ids are not supported" },
	{ "backend with spaces",
	  L1 "backends = { web = { address = \" 1.2.3.4:1\"; }; };\n" R1,
	  2, "contains spaces" },
	{ "backend control byte escaped",
	  L1 "backends = { web = { address = \"1.2.3.4:1\\n\"; }; };\n" R1,
	  2, "invalid address \"1.2.3.4:1\\x0a\"" },
	{ "listener port 0", "listen = ( { address = \"0.0.0.0:0\"; } );\n" B1 R1,
	  1, "listen.[0].address: invalid address \"0.0.0.0:0\"" },
	{ "listener without port", "listen = ( { address = \"[::]\"; } );\n" B1 R1,
	  1, "listen.[0].address: invalid address" },
	{ "duplicate listener",
	  "listen = (\n  { address = \"0.0.0.0:443\"; },\n"
	  "  { address = \"[::]:443\"; },\n  { address = \"0.0.0.0:443\"; }\n);\n" B1 R1,
	  4, "listen.[2].address: duplicate listener 0.0.0.0:443 (also listen.[0], line 2)" },
	{ "duplicate v6 listener, other spelling",
	  "listen = ( { address = \"[::1]:443\"; },\n  { address = \"[0:0::1]:443\"; } );\n" B1 R1,
	  2, "listen.[1].address: duplicate listener" },
	/* empty lists */
	{ "listen empty", "listen = ();\n" B1 R1, 1, "listen: empty list" },
	{ "listen empty array", "listen = [];\n" B1 R1, 1, "listen: empty list" },
	{ "backends empty", L1 "backends = { };\n" R1, 2, "backends: empty group" },
	{ "routes empty", L1 B1 "routes = ( );\n", 3, "routes: empty list" },
	{ "sni empty", ROUTE("sni = [ ];"), 3, "routes.[0].sni: empty list" },
	{ "alpn empty", ROUTE("alpn = ( );"), 3, "routes.[0].alpn: empty list" },
	{ "source empty", ROUTE("source = [ ];"), 3, "routes.[0].source: empty list" },
	/* sni patterns */
	{ "sni \"*\"", ROUTE("sni = [ \"*\" ];"),
	  3, "routes.[0].sni.[0]: invalid host name \"*\"" },
	{ "sni \"*.\"", ROUTE("sni = [ \"*.\" ];"),
	  3, "routes.[0].sni.[0]: invalid host name \"*.\"" },
	{ "sni \"a.*.b\"", ROUTE("sni = [ \"a.org\", \"a.*.b\" ];"),
	  3, "routes.[0].sni.[1]: invalid host name \"a.*.b\": '*' is only allowed" },
	{ "sni \"*foo.org\"", ROUTE("sni = [ \"*foo.org\" ];"),
	  3, "invalid host name \"*foo.org\": '*' is only allowed" },
	{ "sni \"*.*.org\"", ROUTE("sni = [ \"*.*.org\" ];"), 3, "invalid host name \"*.*.org\"" },
	{ "sni \"**.org\"", ROUTE("sni = [ \"**.org\" ];"), 3, "invalid host name \"**.org\"" },
	{ "sni \"*..\"", ROUTE("sni = [ \"*..\" ];"), 3, "nothing after \"*.\"" },
	{ "sni empty string", ROUTE("sni = [ \"\" ];"), 3, "invalid host name \"\": empty name" },
	{ "sni \".\"", ROUTE("sni = [ \".\" ];"), 3, "invalid host name \".\": empty name" },
	{ "sni two trailing dots", ROUTE("sni = [ \"a.org..\" ];"), 3, "empty label" },
	{ "sni leading dot", ROUTE("sni = [ \".example.org\" ];"), 3, "empty label" },
	{ "sni empty label", ROUTE("sni = [ \"a..org\" ];"), 3, "empty label" },
	{ "sni with a space", ROUTE("sni = [ \"exa mple.org\" ];"),
	  3, "only letters, digits, '-', '_' and '.'" },
	{ "sni with a colon", ROUTE("sni = [ \"example.org:443\" ];"), 3, "only letters" },
	{ "sni not ASCII", ROUTE("sni = [ \"b\\xc3\\xbccher.de\" ];"),
	  3, "invalid host name \"b\\xc3\\xbccher.de\"" },
	{ "sni label of 64", ROUTE("sni = [ \"" LABEL64 ".org\" ];"),
	  3, "label longer than 63" },
	{ "sni of 254", ROUTE("sni = [ \"" NAME254 "\" ];"), 3, "longer than 253" },
	/* alpn */
	{ "alpn empty name", ROUTE("alpn = [ \"h2\", \"\" ];"),
	  3, "routes.[0].alpn.[1]: empty protocol name" },
	{ "alpn of 256 bytes", ROUTE("alpn = [ \"" ALPN64 ALPN64 ALPN64 ALPN64 "\" ];"),
	  3, "routes.[0].alpn.[0]: protocol name longer than 255 bytes" },
	/* source prefixes */
	{ "source /33", ROUTE("source = [ \"10.0.0.0/33\" ];"),
	  3, "routes.[0].source.[0]: invalid prefix \"10.0.0.0/33\"" },
	{ "source /129", ROUTE("source = [ \"10.0.0.0/8\", \"::/129\" ];"),
	  3, "routes.[0].source.[1]: invalid prefix \"::/129\"" },
	{ "source bare slash", ROUTE("source = [ \"/\" ];"), 3, "invalid prefix \"/\"" },
	{ "source negative", ROUTE("source = [ \"10.0.0.0/-8\" ];"), 3, "invalid prefix" },
	{ "source host name", ROUTE("source = [ \"example.org/8\" ];"), 3, "invalid prefix" },
	/* ranges */
	{ "handshake_ms 0", L1 B1 R1 "timeouts = { handshake_ms = 0; };\n",
	  4, "timeouts.handshake_ms: 0 is out of range 1..3600000" },
	{ "handshake_ms too big", L1 B1 R1 "timeouts = { handshake_ms = 3600001; };\n",
	  4, "timeouts.handshake_ms: 3600001 is out of range 1..3600000" },
	{ "connect_ms negative", L1 B1 R1 "timeouts = {\n  connect_ms = -1;\n};\n",
	  5, "timeouts.connect_ms: -1 is out of range 1..3600000" },
	{ "workers 65", L1 B1 R1 "workers = 65;\n", 4, "workers: 65 is out of range 0..64" },
	{ "workers -1", L1 B1 R1 "workers = -1;\n", 4, "workers: -1 is out of range 0..64" },
	{ "max_connections 0", L1 B1 R1 "max_connections = 0;\n",
	  4, "max_connections: 0 is out of range 1..1000000" },
	{ "max_connections 1000001", L1 B1 R1 "max_connections = 1000001;\n",
	  4, "max_connections: 1000001 is out of range 1..1000000" },
	{ "max_handshakes 0", L1 B1 R1 "max_handshakes = 0;\n",
	  4, "max_handshakes: 0 is out of range 1..1000000" },
	{ "max_connections_per_source text", L1 B1 R1 "max_connections_per_source = \"4\";\n",
	  4, "max_connections_per_source: expected an integer, got a string" },
	{ "sockmap_after_bytes negative", L1 B1 R1 "sockmap_after_bytes = -1;\n",
	  4, "sockmap_after_bytes: -1 is out of range 0..1073741824" },
	{ "sockmap_after_bytes 1 GiB + 1", L1 B1 R1 "sockmap_after_bytes = 1073741825;\n",
	  4, "sockmap_after_bytes: 1073741825 is out of range 0..1073741824" },
	{ "max_connections 64-bit", L1 B1 R1 "max_connections = 9999999999L;\n",
	  4, "max_connections: 9999999999 is out of range" },
	/* integers libconfig 1.5 would wrap to a valid value */
	{ "workers wraps to 2", L1 B1 R1 "workers = 4294967298;\n",
	  4, "workers: integer 4294967298 is out of range" },
	{ "handshake_ms wraps to 5000",
	  L1 B1 R1 "timeouts = { connect_ms = 10; handshake_ms = 4294972296; };\n",
	  4, "timeouts.handshake_ms: integer 4294972296 is out of range" },
	{ "hex wraps to 2", L1 B1 R1 "workers = 0x100000002;\n",
	  4, "workers: integer 0x100000002 is out of range" },
	{ "negative wraps to 1", L1 B1 R1 "max_connections = -4294967295;\n",
	  4, "max_connections: integer -4294967295 is out of range" },
	{ "huge literal", L1 B1 R1 "workers = 99999999999999999999999999;\n",
	  4, "workers: integer 99999999999999999999999999 is out of range" },
	{ "wrapping literal in an array", ROUTE("alpn = [ 4294967298 ];"),
	  3, "routes.[0].alpn.[0]: integer 4294967298" },
	/* PROXY protocol */
	{ "accept_proxy without trusted",
	  "listen = ( { address = \"0.0.0.0:443\";\n  accept_proxy = true; } );\n" B1 R1,
	  2, "listen.[0].accept_proxy: requires trusted = [" },
	{ "trusted without accept_proxy",
	  "listen = ( { address = \"0.0.0.0:443\";\n  trusted = [ \"10.0.0.1\" ]; } );\n" B1 R1,
	  2, "listen.[0].trusted: only meaningful with accept_proxy = true" },
	{ "trusted with accept_proxy = false",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = false;\n"
	  "  trusted = [ \"10.0.0.1\" ]; } );\n" B1 R1,
	  2, "listen.[0].trusted: only meaningful" },
	{ "accept_proxy is a string",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = \"yes\"; } );\n" B1 R1,
	  1, "listen.[0].accept_proxy: expected a boolean (true or false), got a string" },
	{ "accept_proxy is an integer",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = 1; } );\n" B1 R1,
	  1, "listen.[0].accept_proxy: expected a boolean" },
	{ "trusted empty",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = true;\n  trusted = [ ]; } );\n"
	  B1 R1, 2, "listen.[0].trusted: empty list" },
	{ "trusted is a string",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = true;\n"
	  "  trusted = \"10.0.0.1\"; } );\n" B1 R1,
	  2, "listen.[0].trusted: expected an array of prefixes" },
	{ "trusted bad prefix",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy = true;\n"
	  "  trusted = [ \"10.0.0.1\", \"10.0.0.0/33\" ]; } );\n" B1 R1,
	  2, "listen.[0].trusted.[1]: invalid prefix \"10.0.0.0/33\"" },
	{ "unknown key in a listener lists the PROXY keys",
	  "listen = ( { address = \"0.0.0.0:443\"; accept_proxy_v2 = true; } );\n" B1 R1,
	  1, "unknown key \"accept_proxy_v2\" in listen.[0] "
	  "(known: address, name, accept_proxy, trusted)" },
	{ "proxy_protocol v3",
	  L1 "backends = {\n  web = { address = \"127.0.0.1:1\";\n"
	  "  proxy_protocol = \"v3\"; };\n};\n" R1,
	  4, "backends.web.proxy_protocol: expected \"v1\" or \"v2\", got \"v3\"" },
	{ "proxy_protocol upper case",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; proxy_protocol = \"V2\"; }; };\n" R1,
	  2, "got \"V2\"" },
	{ "proxy_protocol is an integer",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; proxy_protocol = 2; }; };\n" R1,
	  2, "backends.web.proxy_protocol: expected a string, got an integer" },
	{ "proxy_protocol_crc without proxy_protocol",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n  proxy_protocol_crc = true; }; };\n"
	  R1, 3, "backends.web.proxy_protocol_crc: only a v2 header carries a CRC32C" },
	{ "proxy_protocol_crc with v1",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; proxy_protocol = \"v1\";\n"
	  "  proxy_protocol_crc = false; }; };\n" R1,
	  3, "backends.web.proxy_protocol_crc: only a v2 header carries a CRC32C" },
	{ "proxy_protocol_crc is a string",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; proxy_protocol = \"v2\";\n"
	  "  proxy_protocol_crc = \"yes\"; }; };\n" R1,
	  3, "backends.web.proxy_protocol_crc: expected a boolean" },
	/* daemon keys */
	{ "control relative", L1 B1 R1 "control = \"run/c.sock\";\n",
	  4, "control: \"run/c.sock\" is not an absolute path" },
	{ "control too long", L1 B1 R1 "control = \"/" LONG108 "\";\n",
	  4, "control: path longer than 107 bytes" },
	{ "control is an integer", L1 B1 R1 "control = 1;\n",
	  4, "control: expected a string, got an integer" },
	{ "metrics without port", L1 B1 R1 "\nmetrics = \"127.0.0.1\";\n",
	  5, "metrics: invalid address \"127.0.0.1\": missing \":port\"" },
	{ "user empty", L1 B1 R1 "user = \"\";\n", 4, "user: \"\" is not a user name" },
	{ "user with a colon", L1 B1 R1 "user = \"a:b\";\n", 4, "user: \"a:b\" is not a user name" },
	{ "user is an integer", L1 B1 R1 "user = 65534;\n", 4, "user: expected a string" },
	{ "metrics host name", L1 B1 R1 "metrics = \"localhost:9106\";\n",
	  4, "metrics: invalid address \"localhost:9106\"" },
	/* source = [ ... ] on a backend or a server: local addresses to connect from */
	{ "source: a string",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n  source = \"127.0.0.2\"; }; };\n" R1,
	  3, "backends.web.source: expected an array of local addresses [ \"192.0.2.1\", "
	     "\"2001:db8::1\" ], got a string" },
	{ "source: empty",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; source = [ ]; }; };\n" R1,
	  2, "backends.web.source: empty list: expected an array of local addresses" },
	{ "source: not a string",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; source = [ 7 ]; }; };\n" R1,
	  2, "backends.web.source.[0]: expected a string" },
	{ "source: a prefix",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n"
	  "  source = [ \"127.0.0.2\",\n \"192.0.2.0/24\" ]; }; };\n" R1,
	  4, "backends.web.source.[1]: invalid address \"192.0.2.0/24\": expected a bare IPv4 or "
	     "IPv6 address" },
	{ "source: with a port",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n"
	  "  source = [ \"127.0.0.2:80\" ]; }; };\n" R1,
	  3, "backends.web.source.[0]: invalid address \"127.0.0.2:80\"" },
	{ "source: a host name",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n"
	  "  source = [ \"localhost\" ]; }; };\n" R1,
	  3, "backends.web.source.[0]: invalid address \"localhost\"" },
	{ "source: the unspecified address",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; source = [ \"::\" ]; }; };\n" R1,
	  2, "backends.web.source.[0]: \"::\" names no local address" },
	{ "source: an address twice (a mapped one is its IPv4 address)",
	  L1 "backends = { web = { address = \"127.0.0.1:1\";\n"
	  "  source = [ \"127.0.0.2\", \"::ffff:127.0.0.2\" ]; }; };\n" R1,
	  3, "backends.web.source.[1]: duplicate address 127.0.0.2 (also source.[0])" },
	{ "source: none of the server's family",
	  L1 "backends = { web = { address = \"[::1]:1\";\n"
	  "  source = [ \"127.0.0.2\" ]; }; };\n" R1,
	  3, "backends.web.source: no IPv6 address for server [::1]:1: a server is connected from "
	     "an address of its own family" },
	{ "source: none of one server's family, the backend's list",
	  L1 "backends = { web = { servers = ( { address = \"127.0.0.1:1\"; },\n"
	  "  { address = \"[::1]:1\"; } );\n  source = [ \"127.0.0.2\" ]; }; };\n" R1,
	  4, "backends.web.source: no IPv6 address for server [::1]:1" },
	{ "source: a mapped server is IPv4",
	  L1 "backends = { web = { address = \"[::ffff:127.0.0.1]:1\";\n"
	  "  source = [ \"::1\" ]; }; };\n" R1,
	  3, "backends.web.source: no IPv4 address for server [::ffff:127.0.0.1]:1" },
	{ "source and transparent on a backend",
	  L1 "backends = { web = { address = \"192.0.2.1:1\"; transparent = true;\n"
	  "  source = [ \"127.0.0.2\" ]; }; };\n" R1,
	  3, "backends.web.source: server 192.0.2.1:1: transparent connects from the client's "
	     "address, source from listed ones: a server takes one or the other" },
	{ "source on a backend, transparent on a server: at the server's key",
	  L1 "backends = { web = { source = [ \"127.0.0.2\" ];\n"
	  "  servers = ( { address = \"192.0.2.1:1\"; },\n"
	  "  { address = \"192.0.2.2:1\";\n transparent = true; } ); }; };\n" R1,
	  5, "backends.web.servers.[1].transparent: server 192.0.2.2:1: transparent connects" },
	{ "source on a server of a transparent backend: at the server's source",
	  L1 "backends = { web = { transparent = true;\n"
	  "  servers = ( { address = \"192.0.2.1:1\";\n"
	  " source = [ \"127.0.0.2\" ]; } ); }; };\n" R1,
	  4, "backends.web.servers.[0].source: server 192.0.2.1:1: transparent connects" },
	{ "unknown key in a backend lists the PROXY keys",
	  L1 "backends = { web = { address = \"127.0.0.1:1\"; send_proxy = true; }; };\n" R1,
	  2, "(known: address, servers, balance, retries, health, proxy_protocol, "
	     "proxy_protocol_crc, transparent, source)" },
};

static void test_daemon_keys(void)
{
	struct config_error err;
	struct config cfg;

	if (ASSERT_OK(config_parse(L1 B1 R1, "t", &cfg, &err), "daemon keys: defaults")) {
		ASSERT_STREQ(cfg.control, CONFIG_DEFAULT_CONTROL, "default control socket");
		ASSERT_FALSE(cfg.control_explicit, "default control is not explicit");
		ASSERT_TRUE(!cfg.metrics_text, "no metrics by default");
		ASSERT_TRUE(!cfg.user, "no user by default");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "control = \"/tmp/x.sock\";\n"
				   "metrics = \"[::1]:9106\";\nuser = \"sockmux\";\n", "t", &cfg,
				   &err),
		      "daemon keys: set")) {
		ASSERT_STREQ(cfg.control, "/tmp/x.sock", "control path");
		ASSERT_TRUE(cfg.control_explicit, "control explicit");
		ASSERT_STREQ(cfg.metrics_text, "[::1]:9106", "metrics text");
		ASSERT_EQ(cfg.metrics.ss.ss_family, AF_INET6, "metrics address is IPv6");
		ASSERT_STREQ(cfg.user, "sockmux", "user");
		ASSERT_EQ(cfg.user_line, 6, "user line");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "control = \"\";\n", "t", &cfg, &err),
		      "daemon keys: control off")) {
		ASSERT_STREQ(cfg.control, "", "control off");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "max_connections = 1000;\n", "t", &cfg, &err),
		      "limits: defaults")) {
		ASSERT_EQ(cfg.max_per_source, 0, "no max_connections_per_source by default");
		ASSERT_EQ(cfg.sockmap_after, 65536, "sockmap_after_bytes: 64 KiB by default");
		ASSERT_EQ(config_max_handshakes(&cfg, 1000), 250, "max_handshakes: a quarter");
		ASSERT_EQ(config_max_handshakes(&cfg, 3), 1, "max_handshakes: at least 1");
		config_free(&cfg);
	}
	if (ASSERT_OK(config_parse(L1 B1 R1 "max_handshakes = 500;\n"
				   "max_connections_per_source = 8;\n"
				   "sockmap_after_bytes = 0;\n", "t", &cfg, &err),
		      "limits: set")) {
		ASSERT_EQ(cfg.max_per_source, 8, "max_connections_per_source = 8");
		ASSERT_EQ(cfg.sockmap_after, 0, "sockmap_after_bytes = 0: at the hand-off");
		ASSERT_EQ(config_max_handshakes(&cfg, 1000), 500, "max_handshakes = 500");
		ASSERT_EQ(config_max_handshakes(&cfg, 300), 300, "max_handshakes within max_conn.");
		config_free(&cfg);
	}
}

static void test_errors(void)
{
	struct config_error err;
	struct config cfg;
	char name[200];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		ret = config_parse(c->text, "t.cfg", &cfg, &err);
		snprintf(name, sizeof(name), "%s: -EINVAL", c->name);
		if (!ASSERT_EQ(ret, -EINVAL, name)) {
			if (!ret)
				config_free(&cfg);
			continue;
		}
		snprintf(name, sizeof(name), "%s: line", c->name);
		if (!ASSERT_EQ(err.line, c->line, name))
			tap_diag("  msg: %s", err.msg);
		snprintf(name, sizeof(name), "%s: message", c->name);
		if (!ASSERT_TRUE(err.msg[0] && strstr(err.msg, c->msg), name))
			tap_diag("  got \"%s\", expected it to contain \"%s\"", err.msg, c->msg);
		snprintf(name, sizeof(name), "%s: cfg left empty", c->name);
		ASSERT_TRUE(cfg_is_empty(&cfg), name);
	}
}

struct bad_file {
	const char *file;
	int line;
	const char *msg;
};

static void test_error_fixtures(void)
{
	static const struct bad_file files[] = {
		{ "bad_backend.cfg", 7, "routes.[1].backend: no backend named \"webb\"" },
		{ "unknown_key.cfg", 3, "unknown key \"adress\" in listen.[1]" },
		{ "syntax.cfg", 3, "syntax error" },
		{ "bad_sni.cfg", 4, "routes.[0].sni.[1]: invalid host name \"a.*.example.org\"" },
		{ "dup_listener.cfg", 4, "listen.[2].address: duplicate listener 0.0.0.0:443" },
		{ "big_int.cfg", 5, "workers: integer 4294967298 is out of range" },
		{ "include.cfg", 2, "@include is not supported" },
		{ "nul_byte.cfg", 4, "NUL byte" },
	};
	struct config_error err;
	struct config cfg;
	char path[512], name[200];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), CONFIG_FIXTURE("%s"), files[i].file);
		ret = config_load(path, &cfg, &err);
		snprintf(name, sizeof(name), "%s: -EINVAL", files[i].file);
		if (!ASSERT_EQ(ret, -EINVAL, name)) {
			if (!ret)
				config_free(&cfg);
			continue;
		}
		snprintf(name, sizeof(name), "%s: line %d", files[i].file, files[i].line);
		ASSERT_EQ(err.line, files[i].line, name);
		snprintf(name, sizeof(name), "%s: message", files[i].file);
		if (!ASSERT_TRUE(strstr(err.msg, files[i].msg), name))
			tap_diag("  got \"%s\"", err.msg);
	}
}

static void test_load_errors(void)
{
	struct config_error err;
	struct config cfg;
	int ret;

	ret = config_load(CONFIG_FIXTURE("no-such-file.cfg"), &cfg, &err);
	ASSERT_EQ(ret, -ENOENT, "missing file: -ENOENT");
	ASSERT_EQ(err.line, 0, "missing file: line 0");
	if (!ASSERT_TRUE(strstr(err.msg, strerror(ENOENT)), "missing file: strerror in message"))
		tap_diag("  got \"%s\"", err.msg);
	ASSERT_TRUE(cfg_is_empty(&cfg), "missing file: cfg left empty");

	ret = config_load(FIXTURES "/config", &cfg, &err);
	ASSERT_EQ(ret, -EISDIR, "directory: -EISDIR");
	ASSERT_EQ(err.line, 0, "directory: line 0");
	if (!ASSERT_TRUE(strstr(err.msg, strerror(EISDIR)), "directory: strerror in message"))
		tap_diag("  got \"%s\"", err.msg);

	ret = config_parse(NULL, "t", &cfg, &err);
	ASSERT_EQ(ret, -EINVAL, "NULL text: -EINVAL");
	ASSERT_TRUE(err.msg[0], "NULL text: message");
}

/* Write text, then pad with comment lines to exactly size bytes, into a new file at path. */
static int write_padded(char *path, const char *text, size_t size)
{
	static const char pad[] = "# padding padding padding padding padding padding padding\n";
	size_t len = strlen(text);
	FILE *f;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	fputs(text, f);
	for (; len + sizeof(pad) - 1 <= size; len += sizeof(pad) - 1)
		fputs(pad, f);
	for (; len < size; len++)
		fputc('#', f);
	return fclose(f) ? -errno : 0;
}

static void test_file_size(void)
{
	char path[] = "/tmp/sockmux-test-config.XXXXXX";
	struct config_error err;
	struct config cfg;
	int ret;

	if (!ASSERT_OK(write_padded(path, L1 B1 R1, 1024 * 1024), "write a 1 MiB config"))
		return;
	ret = config_load(path, &cfg, &err);
	if (ASSERT_OK(ret, "a 1 MiB file is accepted"))
		config_free(&cfg);
	unlink(path);
	strcpy(path, "/tmp/sockmux-test-config.XXXXXX");
	if (!ASSERT_OK(write_padded(path, L1 B1 R1, 1024 * 1024 + 1), "write a bigger config"))
		return;
	ret = config_load(path, &cfg, &err);
	ASSERT_EQ(ret, -EFBIG, "a file over 1 MiB: -EFBIG");
	ASSERT_EQ(err.line, 0, "a file over 1 MiB: line 0");
	ASSERT_TRUE(strstr(err.msg, "file larger than"), "a file over 1 MiB: message");
	unlink(path);
}

int main(void)
{
	tap_plan_start();
	test_example();
	test_print();
	test_defaults();
	test_wildcard_alpn();
	test_proxy();
	test_valid_edges();
	test_daemon_keys();
	test_errors();
	test_error_fixtures();
	test_load_errors();
	test_file_size();
	return tap_done();
}
