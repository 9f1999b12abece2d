// SPDX-License-Identifier: MIT
/*
 * test_route_decide.c - routes by listener, protocol, host and regex, and the decision made as
 * soon as no earlier route can still match (issue 12): while the sniffers wait for more
 * bytes, a condition on them is "not known yet" and the router answers -EAGAIN; a route that
 * needs no byte is taken at once; a silent client is protocol "timeout". Also the new keys'
 * errors in the configuration and `sockmux check`'s lines. TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "config_file.h"
#include "router.h"
#include "tap.h"

static const char conf[] =
	"listen = (\n"								/* 1 */
	"  { address = \"0.0.0.0:443\"; name = \"public\"; },\n"		/* 2 */
	"  { address = \"[::]:443\"; name = \"public\"; },\n"		/* 3 */
	"  { address = \"0.0.0.0:80\"; name = \"http\"; },\n"		/* 4 */
	"  { address = \"0.0.0.0:5222\"; name = \"c2s\"; },\n"		/* 5 */
	"  { address = \"0.0.0.0:8443\"; }\n"					/* 6 */
	");\n"									/* 7 */
	"timeouts = { handshake_ms = 5000; connect_ms = 3000; probe_ms = 2000; };\n" /* 8 */
	"backends = {\n"							/* 9 */
	"  home_c2s = { address = \"192.0.2.10:5222\"; };\n"			/* 10 */
	"  smtp = { address = \"127.0.0.1:25\"; };\n"			/* 11 */
	"  socks = { address = \"127.0.0.1:1080\"; };\n"			/* 12 */
	"  prosody = { address = \"127.0.0.1:5223\"; };\n"			/* 13 */
	"  app1 = { address = \"127.0.0.1:8001\"; };\n"			/* 14 */
	"  web = { address = \"127.0.0.1:8000\"; };\n"			/* 15 */
	"};\n"									/* 16 */
	"routes = (\n"								/* 17 */
	"  { listener = [ \"c2s\" ]; backend = \"home_c2s\"; },\n"		/* 18 */
	"  { protocol = [ \"timeout\" ]; listener = [ \"public\" ]; backend = \"smtp\"; },\n"
	"  { regex = \"^\\\\x05[\\\\x01-\\\\x05]\"; backend = \"socks\"; },\n"	/* 20 */
	"  { sni = [ \"example.org\" ]; alpn = [ \"xmpp-client\" ]; backend = \"prosody\"; },\n"
	"  { host = [ \"app1.example.com\", \"*.app1.example.com\" ]; backend = \"app1\"; },\n"
	"  { backend = \"web\"; }\n"						/* 23 */
	");\n";

enum { R_C2S, R_SMTP, R_SOCKS, R_PROSODY, R_APP1, R_WEB };

static const uint8_t alpn_xmpp[] = "\x0bxmpp-client";

static bool parse(const char *text, struct config *cfg, struct config_error *err)
{
	if (config_parse(text, "t.cfg", cfg, err)) {
		tap_diag("config_parse: %d: %s", err->line, err->msg);
		return false;
	}
	return true;
}

/* Nothing known yet: no byte, every sniffer may still claim what comes. */
static struct route_input silent_so_far(const char *listener, pcre2_match_data *md)
{
	return (struct route_input){
		.pending = true,
		.maybe = 1u << PROTO_TLS | 1u << PROTO_SSH | 1u << PROTO_HTTP | 1u << PROTO_XMPP |
			 1u << PROTO_SOCKS5,
		.listener = listener,
		.md = md,
	};
}

static void test_before_any_byte(const struct config *cfg, pcre2_match_data *md)
{
	struct route_input in = silent_so_far("c2s", md);

	ASSERT_EQ(router_match(cfg, &in, NULL), R_C2S,
		  "listener c2s: routed before any byte (nothing before it can match)");
	in = silent_so_far("public", md);
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "listener public, no byte yet: undecided (timeout, regex, TLS still possible)");
	in = silent_so_far("http", md);
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "listener http, no byte yet: undecided (the regex may still match)");
	in = silent_so_far(NULL, md);
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "an unnamed listener, no byte yet: undecided");
	in = (struct route_input){ .proto = PROTO_TIMEOUT, .listener = "public", .md = md };
	ASSERT_EQ(router_match(cfg, &in, NULL), R_SMTP, "public, silent for probe_ms: timeout");
	in.listener = "http";
	ASSERT_EQ(router_match(cfg, &in, NULL), R_WEB,
		  "http, silent for probe_ms: not the public timeout route; the default");
}

static void test_first_bytes(const struct config *cfg, pcre2_match_data *md)
{
	static const uint8_t socks[] = "\x05\x01\x00", tls_start[] = "\x16\x03\x01\x02\x00";
	struct route_input in = silent_so_far("public", md);

	in.data = socks;
	in.len = 1;
	in.maybe = 1u << PROTO_SOCKS5;
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "one byte 0x05: the regex matches partly, undecided");
	in.len = 3;
	ASSERT_EQ(router_match(cfg, &in, NULL), R_SOCKS,
		  "0x05 0x01 0x00: the regex matches, socks (even while a sniffer waits)");
	in.pending = false;
	in.proto = PROTO_UNKNOWN;
	ASSERT_EQ(router_match(cfg, &in, NULL), R_SOCKS, "... and once sniffed as unknown");

	in = silent_so_far("public", md);
	in.data = tls_start;
	in.len = sizeof(tls_start) - 1;
	in.maybe = 1u << PROTO_TLS;
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "the start of a ClientHello: the regex is out, sni/alpn not known yet");
	in.maybe = 0;
	ASSERT_EQ(router_match(cfg, &in, NULL), -EAGAIN,
		  "no sniffer waits any more, but host is not known until sniffed");
}

static void test_decided(const struct config *cfg, pcre2_match_data *md)
{
	static const uint8_t hello[] = "\x16\x03\x01";
	struct route_input in = {
		.proto = PROTO_TLS, .name = "example.org", .alpn = alpn_xmpp,
		.alpn_len = sizeof(alpn_xmpp) - 1, .listener = "public",
		.data = hello, .len = 3, .md = md,
	};
	struct route_result res;

	ASSERT_EQ(router_match(cfg, &in, &res), R_PROSODY, "TLS example.org + xmpp-client");
	ASSERT_STREQ(res.alpn, "xmpp-client", "the matched ALPN entry is given back");
	in.alpn = NULL;
	in.alpn_len = 0;
	ASSERT_EQ(router_match(cfg, &in, NULL), R_WEB, "TLS example.org without ALPN: web");
	in.name = "app1.example.com";
	ASSERT_EQ(router_match(cfg, &in, NULL), R_APP1, "TLS SNI app1.example.com: host matches");
	in.proto = PROTO_HTTP;
	in.name = "eu.app1.example.com";
	ASSERT_EQ(router_match(cfg, &in, NULL), R_APP1,
		  "HTTP Host eu.app1.example.com: host (any protocol's name) matches *.suffix");
	in.name = "app2.example.com";
	ASSERT_EQ(router_match(cfg, &in, NULL), R_WEB, "HTTP Host app2.example.com: default");
	in.name = NULL;
	ASSERT_EQ(router_match(cfg, &in, NULL), R_WEB, "HTTP without Host: default");
	in.proto = PROTO_SSH;
	in.name = "example.org";
	ASSERT_EQ(router_match(cfg, &in, NULL), R_WEB,
		  "a name on another protocol never satisfies sni (TLS only)");
}

/* A pattern that backtracks exponentially hits the match limit: no match, quickly. */
static void test_regex_bounded(pcre2_match_data *md)
{
	static const char text[] =
		"listen = ( { address = \"0.0.0.0:443\"; } );\n"
		"backends = { a = { address = \"127.0.0.1:1\"; }; b = { address = \"127.0.0.1:2\"; }; };\n"
		"routes = ( { regex = \"^(a+)+$\"; backend = \"a\"; }, { backend = \"b\"; } );\n";
	static const uint8_t evil[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
	struct config_error err;
	struct timespec t0, t1;
	struct route_input in = { .proto = PROTO_UNKNOWN, .data = evil,
				  .len = sizeof(evil) - 1, .md = md };
	struct config cfg;
	long r, ms;

	if (!ASSERT_TRUE(parse(text, &cfg, &err), "a catastrophic regex parses"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = router_match(&cfg, &in, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ASSERT_EQ(r, 1, "(a+)+$ on 42 a's and a b: the limit stops it, the next route wins");
	tap_result(ms < 500, "... within 500 ms (took %ld ms)", ms);
	config_free(&cfg);
}

static void test_errors(void)
{
	static const struct {
		const char *name, *text;
		int line;
		const char *msg;
	} cases[] = {
		{ "a route names a listener nobody has",
		  "listen = ( { address = \"0.0.0.0:443\"; name = \"public\"; } );\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { listener = [ \"pubilc\" ]; backend = \"a\"; } );\n",
		  3, "routes.[0].listener.[0]: no listener named \"pubilc\"" },
		{ "an unknown protocol lists the known ones",
		  "listen = ( { address = \"0.0.0.0:443\"; } );\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { protocol = [ \"gopher\" ]; backend = \"a\"; } );\n",
		  3, "routes.[0].protocol.[0]: unknown protocol \"gopher\" (known: unknown, timeout, tls" },
		{ "a regex PCRE2 refuses, with its reason",
		  "listen = ( { address = \"0.0.0.0:443\"; } );\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { regex = \"^(abc\"; backend = \"a\"; } );\n",
		  3, "routes.[0].regex: invalid regex: missing closing parenthesis at offset 5" },
		{ "timeout needs probe_ms below handshake_ms",
		  "listen = ( { address = \"0.0.0.0:443\"; } );\n"
		  "timeouts = { handshake_ms = 1000; probe_ms = 1000; };\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { protocol = [ \"timeout\" ]; backend = \"a\"; } );\n",
		  4, "routes.[0].protocol: protocol \"timeout\" needs timeouts.probe_ms (1000) below "
		     "timeouts.handshake_ms (1000)" },
		{ "an empty listener name",
		  "listen = ( { address = \"0.0.0.0:443\"; name = \"\"; } );\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { backend = \"a\"; } );\n",
		  1, "listen.[0].name: a listener name is 1 to 64 characters" },
		{ "an unknown route key lists the new ones",
		  "listen = ( { address = \"0.0.0.0:443\"; } );\n"
		  "backends = { a = { address = \"127.0.0.1:1\"; }; };\n"
		  "routes = ( { hostname = [ \"a\" ]; backend = \"a\"; } );\n",
		  3, "unknown key \"hostname\" in routes.[0] (known: listener, protocol, sni, host, "
		     "alpn, regex, source, backend)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_error err = { 0 };
		struct config cfg;
		int ret = config_parse(cases[i].text, "t.cfg", &cfg, &err);

		ASSERT_TRUE(ret == -EINVAL, cases[i].name);
		tap_result(err.line == cases[i].line && strstr(err.msg, cases[i].msg),
			   "%s: line %d, \"%s\"", cases[i].name, err.line, err.msg);
		if (!ret)
			config_free(&cfg);
	}
}

static void test_check_lines(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!ASSERT_TRUE(f, "open_memstream"))
		return;
	config_print(cfg, f);
	fclose(f);
	ASSERT_TRUE(strstr(out, "0.0.0.0:5222 name=c2s (line 5)"), "check: a listener's name");
	ASSERT_TRUE(strstr(out, "probe_ms=2000"), "check: probe_ms when a route uses timeout");
	ASSERT_TRUE(strstr(out, "#1 listener=c2s -> home_c2s"), "check: listener condition");
	ASSERT_TRUE(strstr(out, "#2 listener=public protocol=timeout -> smtp"),
		    "check: protocol condition");
	ASSERT_TRUE(strstr(out, "#3 regex=\"^\\\\x05[\\\\x01-\\\\x05]\" -> socks"),
		    "check: regex condition, as written");
	ASSERT_TRUE(strstr(out, "#5 host=app1.example.com,*.app1.example.com -> app1"),
		    "check: host condition");
	if (!strstr(out, "#5 host="))
		tap_diag("%s", out);
	free(out);
}

int main(void)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	struct config_error err;
	struct config cfg;

	tap_plan_start();
	if (ASSERT_TRUE(parse(conf, &cfg, &err), "the issue's configuration parses")) {
		test_before_any_byte(&cfg, md);
		test_first_bytes(&cfg, md);
		test_decided(&cfg, md);
		test_check_lines(&cfg);
		config_free(&cfg);
	}
	test_regex_bounded(md);
	test_errors();
	pcre2_match_data_free(md);
	return tap_done();
}
