// SPDX-License-Identifier: MIT
/*
 * test_router.c - router_match, router_sni_match and router_explain: XMPP and HTTPS on one
 * domain, wildcards, ALPN lists (malformed ones read only within their length), source
 * prefixes over IPv4, IPv6 and IPv4-mapped addresses, first match wins. TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_file.h"
#include "router.h"
#include "tap.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

/* XMPP (direct TLS) and the web on one domain, a LAN by source, a default. */
static const char xmpp_web[] =
	"listen = ( { address = \"0.0.0.0:443\"; } );\n"			/* 1 */
	"backends = {\n"							/* 2 */
	"  prosody = { address = \"127.0.0.1:5223\"; };\n"			/* 3 */
	"  web = { address = \"[::1]:8443\"; };\n"				/* 4 */
	"  lan = { address = \"127.0.0.1:8080\"; };\n"				/* 5 */
	"  v6 = { address = \"127.0.0.1:8081\"; };\n"				/* 6 */
	"  fallback = { address = \"127.0.0.1:9999\"; };\n"			/* 7 */
	"};\n"									/* 8 */
	"routes = (\n"								/* 9 */
	"  { sni = [ \"example.org\" ]; alpn = [ \"xmpp-client\", \"xmpp-server\" ];\n" /* 10 */
	"    backend = \"prosody\"; },\n"					/* 11 */
	"  { sni = [ \"example.org\", \"*.example.org\" ]; backend = \"web\"; },\n" /* 12 */
	"  { source = [ \"192.0.2.0/24\" ]; backend = \"lan\"; },\n"		/* 13 */
	"  { source = [ \"2001:db8::/32\" ]; backend = \"v6\"; },\n"		/* 14 */
	"  { backend = \"fallback\"; }\n"					/* 15 */
	");\n";

enum { R_PROSODY, R_WEB, R_LAN, R_V6, R_FALLBACK };

/* Wire-format ALPN lists (1-byte length, name), as tls_hello keeps them. */
static const uint8_t alpn_xmpp[] = "\x0bxmpp-client";
static const uint8_t alpn_h2[] = "\x02h2\x08http/1.1";
static const uint8_t alpn_h2_xmpp[] = "\x02h2\x0bxmpp-client";
static const uint8_t alpn_server_client[] = "\x0bxmpp-server\x0bxmpp-client";
static const uint8_t alpn_grease_xmpp[] = "\x02\x0a\x0a\x0bxmpp-client";
static const uint8_t alpn_grease[] = "\x02\x1a\x1a\x02\x2a\x2a";

#define LIST(a) a, sizeof(a) - 1

static bool parse(const char *text, struct config *cfg)
{
	struct config_error err;

	if (config_parse(text, "t.cfg", cfg, &err)) {
		tap_diag("config_parse: %d: %s", err.line, err.msg);
		return false;
	}
	return true;
}

static struct route_input tls(const char *sni, const uint8_t *alpn, size_t alpn_len)
{
	struct route_input in = { .proto = PROTO_TLS, .name = sni, .alpn = alpn, .alpn_len = alpn_len };

	return in;
}

static void check_route(const struct config *cfg, const struct route_input *in, long want,
			const char *want_alpn, const char *name)
{
	struct route_result res;
	char n[200];
	long got;

	got = router_match(cfg, in, &res);
	ASSERT_EQ(got, want, name);
	snprintf(n, sizeof(n), "%s: res.route", name);
	ASSERT_EQ(res.route, want < 0 ? -1 : want, n);
	snprintf(n, sizeof(n), "%s: res.alpn", name);
	if (!want_alpn) {
		ASSERT_TRUE(!res.alpn && !res.alpn_len, n);
		return;
	}
	if (ASSERT_STREQ(res.alpn, want_alpn, n)) {
		snprintf(n, sizeof(n), "%s: res.alpn_len", name);
		ASSERT_EQ(res.alpn_len, strlen(want_alpn), n);
	}
}

static void test_xmpp_and_web(const struct config *cfg)
{
	struct route_input in;

	in = tls("example.org", LIST(alpn_xmpp));
	check_route(cfg, &in, R_PROSODY, "xmpp-client", "example.org + xmpp-client -> prosody");
	in = tls("example.org", LIST(alpn_h2));
	check_route(cfg, &in, R_WEB, NULL, "example.org + h2 -> web");
	in = tls("example.org", LIST(alpn_h2_xmpp));
	check_route(cfg, &in, R_PROSODY, "xmpp-client",
		    "example.org + [h2,xmpp-client] -> prosody");
	in = tls("example.org", LIST(alpn_server_client));
	check_route(cfg, &in, R_PROSODY, "xmpp-client",
		    "res.alpn follows the route's order, not the client's");
	in = tls("example.org", NULL, 0);
	check_route(cfg, &in, R_WEB, NULL, "example.org without alpn -> web");
	in = tls("sub.example.org", LIST(alpn_xmpp));
	check_route(cfg, &in, R_WEB, NULL, "sub.example.org + xmpp-client -> web");
	in = tls("a.b.example.org", NULL, 0);
	check_route(cfg, &in, R_WEB, NULL, "a.b.example.org -> web");
	in = tls("other.org", LIST(alpn_xmpp));
	check_route(cfg, &in, R_FALLBACK, NULL, "other.org -> default");
	in = tls("badexample.org", NULL, 0);
	check_route(cfg, &in, R_FALLBACK, NULL, "badexample.org -> default");
	in = tls("example.org.evil", NULL, 0);
	check_route(cfg, &in, R_FALLBACK, NULL, "example.org.evil -> default");
	in = tls(NULL, LIST(alpn_xmpp));
	check_route(cfg, &in, R_FALLBACK, NULL, "TLS without SNI -> default only");
	in = (struct route_input){ .proto = PROTO_UNKNOWN };
	check_route(cfg, &in, R_FALLBACK, NULL, "not TLS -> default only");
	/* a non-TLS input never meets sni or alpn conditions, whatever its fields say */
	in = (struct route_input){ .proto = PROTO_UNKNOWN, .name = "example.org",
				   .alpn = LIST(alpn_xmpp) };
	check_route(cfg, &in, R_FALLBACK, NULL, "not TLS with stray sni/alpn -> default");
}

static void test_no_default(void)
{
	static const char text[] =
		"listen = ( { address = \"0.0.0.0:443\"; } );\n"
		"backends = { web = { address = \"[::1]:8443\"; }; };\n"
		"routes = ( { sni = [ \"example.org\" ]; backend = \"web\"; } );\n";
	struct route_result res = { .route = 42 };
	struct route_input in;
	struct config cfg;

	if (!ASSERT_TRUE(parse(text, &cfg), "parse config without default route"))
		return;
	in = tls("other.org", NULL, 0);
	check_route(&cfg, &in, -ENOENT, NULL, "no default route -> -ENOENT");
	in = (struct route_input){ .proto = PROTO_UNKNOWN };
	ASSERT_EQ(router_match(&cfg, &in, &res), -ENOENT, "not TLS, no default -> -ENOENT");
	ASSERT_EQ(res.route, -1, "res.route -1 on -ENOENT");
	in = tls("example.org", NULL, 0);
	ASSERT_EQ(router_match(&cfg, &in, NULL), 0, "res may be NULL");
	ASSERT_EQ(router_match(NULL, &in, NULL), -EINVAL, "NULL cfg -> -EINVAL");
	ASSERT_EQ(router_match(&cfg, NULL, NULL), -EINVAL, "NULL input -> -EINVAL");
	config_free(&cfg);
}

static void test_sni_match(void)
{
	struct config_sni_pattern wild = { .name = ".example.org", .wildcard = true };
	struct config_sni_pattern exact = { .name = "example.org", .wildcard = false };
	struct config_sni_pattern tld = { .name = ".org", .wildcard = true };

	ASSERT_TRUE(router_sni_match(&exact, "example.org"), "exact: same name");
	ASSERT_TRUE(router_sni_match(&exact, "EXAMPLE.Org"), "exact: case-insensitive");
	ASSERT_FALSE(router_sni_match(&exact, "www.example.org"), "exact: not a subdomain");
	ASSERT_FALSE(router_sni_match(&exact, "example.org."), "exact: input has no trailing dot");
	ASSERT_FALSE(router_sni_match(&exact, "example.or"), "exact: not a prefix");
	ASSERT_FALSE(router_sni_match(&exact, "example.orgx"), "exact: not longer");
	ASSERT_FALSE(router_sni_match(&exact, ""), "exact: not empty");
	ASSERT_FALSE(router_sni_match(&exact, NULL), "exact: NULL host");
	ASSERT_TRUE(router_sni_match(&wild, "a.example.org"), "wildcard: one label");
	ASSERT_TRUE(router_sni_match(&wild, "a.b.example.org"), "wildcard: two labels");
	ASSERT_TRUE(router_sni_match(&wild, "X.Example.ORG"), "wildcard: case-insensitive");
	ASSERT_FALSE(router_sni_match(&wild, "example.org"), "wildcard: not the suffix itself");
	ASSERT_FALSE(router_sni_match(&wild, ".example.org"), "wildcard: not an empty label");
	ASSERT_FALSE(router_sni_match(&wild, "badexample.org"), "wildcard: label boundary");
	ASSERT_FALSE(router_sni_match(&wild, "a.example.org.evil"), "wildcard: suffix only");
	ASSERT_FALSE(router_sni_match(&wild, "a.example.com"), "wildcard: other domain");
	ASSERT_FALSE(router_sni_match(&wild, "org"), "wildcard: shorter name");
	ASSERT_FALSE(router_sni_match(&wild, NULL), "wildcard: NULL host");
	ASSERT_TRUE(router_sni_match(&tld, "example.org"), "*.org matches example.org");
	ASSERT_FALSE(router_sni_match(&tld, "org"), "*.org does not match org");
	ASSERT_FALSE(router_sni_match(NULL, "example.org"), "NULL pattern");
}

/* A heap copy of exactly len bytes, so that ASan catches any read past alpn_len. */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p)
		memcpy(p, src, len);
	return p;
}

struct alpn_case {
	const char *name;
	const uint8_t *list;
	size_t len;
	long want;
};

static void test_alpn_edges(const struct config *cfg)
{
	static const struct alpn_case cases[] = {
		{ "alpn: empty list", (const uint8_t *)"", 0, R_WEB },
		{ "alpn: length past the end", (const uint8_t *)"\x0bxmpp-clien", 11, R_WEB },
		{ "alpn: length one past the end", (const uint8_t *)"\x0cxmpp-client", 12, R_WEB },
		{ "alpn: valid name, then a truncated one",
		  (const uint8_t *)"\x0bxmpp-client\x05h2", 15, R_WEB },
		{ "alpn: zero-length name first", (const uint8_t *)"\x00\x0bxmpp-client", 13,
		  R_WEB },
		{ "alpn: lone length byte", (const uint8_t *)"\x0b", 1, R_WEB },
		{ "alpn: 255 length in 1 byte", (const uint8_t *)"\xff", 1, R_WEB },
		{ "alpn: prefix of a listed name", (const uint8_t *)"\x04xmpp", 5, R_WEB },
		{ "alpn: listed name is a prefix", (const uint8_t *)"\x0dxmpp-client-2", 14,
		  R_WEB },
		{ "alpn: case differs", (const uint8_t *)"\x0bXMPP-CLIENT", 12, R_WEB },
		{ "alpn: with a NUL byte", (const uint8_t *)"\x0cxmpp-client\x00", 13, R_WEB },
		{ "alpn: GREASE only", LIST(alpn_grease), R_WEB },
		{ "alpn: GREASE then xmpp-client", LIST(alpn_grease_xmpp), R_PROSODY },
		{ "alpn: xmpp-server", (const uint8_t *)"\x0bxmpp-server", 12, R_PROSODY },
		{ "alpn: len shorter than the list", (const uint8_t *)"\x02h2\x0bxmpp-client", 3,
		  R_WEB },
	};
	struct route_input in;
	struct route_result res;
	size_t i;
	uint8_t *copy;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy = exact_copy(cases[i].list, cases[i].len);
		if (!ASSERT_TRUE(copy, "malloc"))
			return;
		in = tls("example.org", copy, cases[i].len);
		ASSERT_EQ(router_match(cfg, &in, &res), cases[i].want, cases[i].name);
		free(copy);
	}
	in = tls("example.org", NULL, 12);
	ASSERT_EQ(router_match(cfg, &in, &res), R_WEB, "alpn: NULL list with a length");
}

static void test_alpn_long_name(void)
{
	char text[1024], name[256];
	uint8_t list[1 + 255 + 3];
	struct route_input in;
	struct route_result res;
	struct config cfg;

	memset(name, 'p', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text),
		 "listen = ( { address = \"0.0.0.0:443\"; } );\n"
		 "backends = { a = { address = \"127.0.0.1:1\"; };\n"
		 "  b = { address = \"127.0.0.1:2\"; }; };\n"
		 "routes = ( { alpn = [ \"h2\", \"%s\" ]; backend = \"a\"; },\n"
		 "  { backend = \"b\"; } );\n",
		 name);
	if (!ASSERT_TRUE(parse(text, &cfg), "parse 255-byte alpn route"))
		return;
	list[0] = 255;
	memset(list + 1, 'p', 255);
	memcpy(list + 256, "\x02h3", 3);
	in = tls(NULL, list, sizeof(list));
	ASSERT_EQ(router_match(&cfg, &in, &res), 0, "255-byte alpn name matches (no sni needed)");
	ASSERT_EQ(res.alpn_len, 255, "255-byte alpn: res.alpn_len");
	list[255] = 'q';
	ASSERT_EQ(router_match(&cfg, &in, &res), 1, "255-byte alpn name, last byte differs");
	config_free(&cfg);
}

static void sa_from(const char *text, struct addr *a)
{
	if (addr_parse(text, a))
		tap_diag("addr_parse(\"%s\") failed", text);
}

static void test_source(const struct config *cfg)
{
	struct route_input in;
	struct addr a;

	sa_from("192.0.2.7:40000", &a);
	in = (struct route_input){ .proto = PROTO_UNKNOWN, .src = (const struct sockaddr *)&a.ss };
	check_route(cfg, &in, R_LAN, NULL, "source 192.0.2.7 -> lan");
	in = tls("other.org", NULL, 0);
	in.src = (const struct sockaddr *)&a.ss;
	check_route(cfg, &in, R_LAN, NULL, "TLS other.org from 192.0.2.7 -> lan");
	in.name = "example.org";
	check_route(cfg, &in, R_WEB, NULL, "earlier sni route wins over source");

	sa_from("[::ffff:192.0.2.200]:1", &a);
	in = (struct route_input){ .src = (const struct sockaddr *)&a.ss };
	check_route(cfg, &in, R_LAN, NULL, "v4-mapped ::ffff:192.0.2.200 -> lan");
	sa_from("192.0.3.1:1", &a);
	check_route(cfg, &in, R_FALLBACK, NULL, "192.0.3.1 -> default");
	sa_from("[2001:db8:1::5]:1", &a);
	check_route(cfg, &in, R_V6, NULL, "2001:db8:1::5 -> v6");
	sa_from("[2001:db9::5]:1", &a);
	check_route(cfg, &in, R_FALLBACK, NULL, "2001:db9::5 -> default");
	sa_from("[::192.0.2.7]:1", &a);
	check_route(cfg, &in, R_FALLBACK, NULL, "v4-compatible ::192.0.2.7 is not v4");
	in.src = NULL;
	check_route(cfg, &in, R_FALLBACK, NULL, "unknown source -> default");
}

static void test_first_match_and_and(void)
{
	static const char text[] =
		"listen = ( { address = \"0.0.0.0:443\"; } );\n"
		"backends = { a = { address = \"127.0.0.1:1\"; };\n"
		"  b = { address = \"127.0.0.1:2\"; };\n"
		"  c = { address = \"127.0.0.1:3\"; }; };\n"
		"routes = (\n"
		"  { sni = [ \"*.example.org\" ]; source = [ \"10.0.0.0/8\" ];\n"
		"    backend = \"a\"; },\n"
		"  { sni = [ \"www.example.org\" ]; backend = \"b\"; },\n"
		"  { sni = [ \"*.example.org\" ]; backend = \"c\"; },\n"
		"  { backend = \"b\"; }\n"
		");\n";
	struct route_input in;
	struct config cfg;
	struct addr a;

	if (!ASSERT_TRUE(parse(text, &cfg), "parse first-match config"))
		return;
	sa_from("10.1.2.3:1", &a);
	in = tls("www.example.org", NULL, 0);
	in.src = (const struct sockaddr *)&a.ss;
	check_route(&cfg, &in, 0, NULL, "sni and source both hold -> #1");
	sa_from("11.1.2.3:1", &a);
	check_route(&cfg, &in, 1, NULL, "source fails -> next match #2");
	in.name = "mail.example.org";
	check_route(&cfg, &in, 2, NULL, "#3 after #2 does not match");
	in.src = NULL;
	in.name = "www.example.org";
	check_route(&cfg, &in, 1, NULL, "unknown source fails #1 -> #2");
	config_free(&cfg);
}

struct explain_case {
	size_t route;
	struct route_input in;
	bool want;
	const char *text;
};

static void test_explain(void)
{
	static struct addr src4, src6;
	struct explain_case cases[] = {
		{ 0, tls("example.org", LIST(alpn_h2)), false,
		  "#1 (line 8): sni \"example.org\" matches \"example.org\"; "
		  "alpn [h2,http/1.1] not in [xmpp-client] -> no match" },
		{ 0, tls("example.org", LIST(alpn_h2_xmpp)), true,
		  "#1 (line 8): sni \"example.org\" matches \"example.org\"; "
		  "alpn [h2,xmpp-client] has \"xmpp-client\" -> match" },
		{ 0, tls(NULL, NULL, 0), false,
		  "#1 (line 8): no sni, wants [example.org]; no alpn, wants [xmpp-client]"
		  " -> no match" },
		{ 0, { .proto = PROTO_UNKNOWN }, false,
		  "#1 (line 8): not TLS, no sni for [example.org]; no alpn, wants [xmpp-client]"
		  " -> no match" },
		{ 0, tls("example.org", (const uint8_t *)"\x0cxmpp-client", 12), false,
		  "#1 (line 8): sni \"example.org\" matches \"example.org\"; "
		  "malformed alpn list, wants [xmpp-client] -> no match" },
		{ 1, tls("a.example.org", NULL, 0), true,
		  "#2 (line 9): sni \"a.example.org\" matches \"*.example.org\" -> match" },
		{ 1, tls("other.org", NULL, 0), false,
		  "#2 (line 9): sni \"other.org\" not in [example.org,*.example.org] -> no match" },
		{ 1, tls("bad\"name\n", NULL, 0), false,
		  "#2 (line 9): sni \"bad\\\"name\\x0a\" not in [example.org,*.example.org]"
		  " -> no match" },
		{ 2, { .src = (const struct sockaddr *)&src4.ss }, true,
		  "#3 (line 10): source 192.0.2.7:5555 in 192.0.2.0/24 -> match" },
		{ 2, { .src = (const struct sockaddr *)&src6.ss }, false,
		  "#3 (line 10): source [2001:db9::1]:443 not in [192.0.2.0/24,2001:db8::/32]"
		  " -> no match" },
		{ 2, { .src = NULL }, false,
		  "#3 (line 10): source unknown, wants [192.0.2.0/24,2001:db8::/32] -> no match" },
		{ 3, { .proto = PROTO_UNKNOWN }, true,
		  "#4 (line 11): no condition (default route) -> match" },
		{ 4, { .proto = PROTO_UNKNOWN }, false, "#5: no such route" },
	};
	struct config_error err;
	struct config cfg;
	char buf[256], small[16], name[64];
	size_t i;
	long got;
	bool ok;

	sa_from("192.0.2.7:5555", &src4);
	sa_from("[2001:db9::1]:443", &src6);
	if (!ASSERT_OK(config_load(FIXTURES "/config/example.cfg", &cfg, &err), "explain: load"))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok = router_explain(&cfg, cases[i].route, &cases[i].in, buf, sizeof(buf));
		snprintf(name, sizeof(name), "explain case %zu: text", i);
		ASSERT_STREQ(buf, cases[i].text, name);
		snprintf(name, sizeof(name), "explain case %zu: result", i);
		ASSERT_EQ(ok, cases[i].want, name);
		if (cases[i].route < cfg.n_routes) {
			snprintf(name, sizeof(name), "explain case %zu agrees with router_match",
				 i);
			got = router_match(&cfg, &cases[i].in, NULL);
			ASSERT_EQ(ok, got == (long)cases[i].route, name);
		}
	}
	ok = router_explain(&cfg, 1, &cases[5].in, small, sizeof(small));
	ASSERT_TRUE(ok, "explain into a small buffer still decides");
	ASSERT_STREQ(small, "#2 (line 9): sn", "explain truncates and terminates");
	ASSERT_TRUE(router_explain(&cfg, 3, &cases[0].in, NULL, 0), "explain with no buffer");
	config_free(&cfg);
}

int main(void)
{
	struct config cfg;

	tap_plan_start();
	if (ASSERT_TRUE(parse(xmpp_web, &cfg), "parse the xmpp+web config")) {
		test_xmpp_and_web(&cfg);
		test_alpn_edges(&cfg);
		test_source(&cfg);
		config_free(&cfg);
	}
	test_no_default();
	test_sni_match();
	test_alpn_long_name();
	test_first_match_and_and();
	test_explain();
	return tap_done();
}
