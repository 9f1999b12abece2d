// SPDX-License-Identifier: MIT
/*
 * test_transparent.c - transparent backends' pure parts: the `transparent` key (backend
 * default, server override, errors, what check prints), the family of a client or server
 * (IPv4-mapped is IPv4), unmapping, the servers a client of each family may not use and
 * balance_pick() never choosing them, and the local-address test. TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "config.h"
#include "config_file.h"
#include "tap.h"
#include "transparent.h"

#define HEAD "listen = ( { address = \"0.0.0.0:443\"; } );\n"
#define ROUTE "routes = ( { backend = \"b\"; } );\n"

static int parse(const char *backend, struct config *cfg, struct config_error *err)
{
	char text[2048];

	snprintf(text, sizeof(text), HEAD "backends = { b = { %s }; };\n" ROUTE, backend);
	memset(err, 0, sizeof(*err));
	return config_parse(text, "t.cfg", cfg, err);
}

/* "1.2.3.4", "::1", "::ffff:1.2.3.4" with port into *out */
static struct addr sa(const char *ip, int port)
{
	struct addr a = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;

	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		a.len = sizeof(*s4);
	} else {
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		a.len = sizeof(*s6);
	}
	return a;
}

#define SA(a) ((const struct sockaddr *)&(a).ss)

static void test_config(void)
{
	struct config_error err;
	struct config cfg;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (ASSERT_OK(parse("address = \"192.0.2.1:80\"; transparent = true;", &cfg, &err),
		      "transparent = true on a one-address backend parses")) {
		ASSERT_TRUE(cfg.backends[0].servers[0].transparent, "its server is transparent");
		ASSERT_EQ(config_transparent_servers(&cfg), (size_t)1, "one transparent server");
		config_free(&cfg);
	}
	if (ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; }, { address = "
			    "\"[2001:db8::1]:80\"; transparent = false; } ); transparent = true;",
			    &cfg, &err), "a server's transparent overrides the backend's")) {
		ASSERT_TRUE(cfg.backends[0].servers[0].transparent, "server 0 takes the default");
		ASSERT_FALSE(cfg.backends[0].servers[1].transparent, "server 1 says false");
		f = open_memstream(&out, &len);
		config_print(&cfg, f);
		fclose(f);
		ASSERT_TRUE(strstr(out, " transparent=1,0 (line") != NULL,
			    "check prints transparent=1,0 for mixed servers");
		free(out);
		config_free(&cfg);
	}
	if (ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; transparent = true; } );",
			    &cfg, &err), "transparent on a server alone")) {
		ASSERT_FALSE(cfg.backends[0].transparent, "the backend's default stays false");
		ASSERT_TRUE(cfg.backends[0].servers[0].transparent, "the server is transparent");
		config_free(&cfg);
	}
	if (ASSERT_OK(parse("address = \"192.0.2.1:80\";", &cfg, &err), "no key: not transparent")) {
		ASSERT_EQ(config_transparent_servers(&cfg), (size_t)0, "no transparent server");
		config_free(&cfg);
	}
}

static void test_config_errors(void)
{
	static const struct {
		const char *name, *backend, *msg;
	} cases[] = {
		{ "a string", "address = \"192.0.2.1:80\"; transparent = \"yes\";",
		  "backends.b.transparent: expected a boolean (true or false), got a string" },
		{ "a server's integer", "servers = ( { address = \"192.0.2.1:80\"; transparent = 1; "
		  "} );", "backends.b.servers.[0].transparent: expected a boolean" },
		{ "on 127.0.0.1", "address = \"127.0.0.1:80\"; transparent = true;",
		  "backends.b.address: transparent: a loopback address cannot be reached" },
		{ "on ::1", "servers = ( { address = \"[::1]:80\"; } ); transparent = true;",
		  "backends.b.servers.[0].address: transparent: a loopback address" },
		{ "on ::ffff:127.0.0.2", "address = \"[::ffff:127.0.0.2]:80\"; transparent = true;",
		  "backends.b.address: transparent: a loopback address" },
		{ "on 0.0.0.0", "address = \"0.0.0.0:80\"; transparent = true;",
		  "backends.b.address: transparent: 0.0.0.0 or :: names no server to connect to" },
		{ "on ::", "servers = ( { address = \"[::]:80\"; } ); transparent = true;",
		  "backends.b.servers.[0].address: transparent: 0.0.0.0 or :: names no server" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_error err;
		struct config cfg;
		int ret = parse(cases[i].backend, &cfg, &err);

		tap_result(ret == -EINVAL && strstr(err.msg, cases[i].msg) && err.line > 0,
			   "error, %s: line %d, \"%s\"", cases[i].name, err.line, err.msg);
		if (!ret)
			config_free(&cfg);
	}
}

static void test_family(void)
{
	struct addr v4 = sa("192.0.2.7", 5000), v6 = sa("2001:db8::7", 5000);
	struct addr mapped = sa("::ffff:192.0.2.7", 5000), out;

	ASSERT_EQ(transparent_family(SA(v4)), AF_INET, "an IPv4 client is IPv4");
	ASSERT_EQ(transparent_family(SA(v6)), AF_INET6, "an IPv6 client is IPv6");
	ASSERT_EQ(transparent_family(SA(mapped)), AF_INET, "::ffff:192.0.2.7 is IPv4");
	transparent_unmap(SA(mapped), &out);
	ASSERT_TRUE(out.ss.ss_family == AF_INET && out.len == sizeof(struct sockaddr_in) &&
		    addr_equal(&out, &v4), "unmapped: 192.0.2.7:5000 over AF_INET");
	transparent_unmap(SA(v6), &out);
	ASSERT_TRUE(addr_equal(&out, &v6), "an IPv6 address stays as it is");
}

/* A backend of servers 0: v4, 1: v6, 2: mapped v4, 3: v6 not transparent. */
static void test_exclude(void)
{
	struct config_error err;
	struct backend_state *st;
	struct addr c4 = sa("192.0.2.7", 1), c6 = sa("2001:db8::7", 1);
	struct config cfg;
	bool ok4 = true, ok6 = true;

	if (!ASSERT_OK(parse("servers = ( { address = \"192.0.2.1:80\"; }, { address = "
			     "\"[2001:db8::1]:80\"; }, { address = \"[::ffff:192.0.2.3]:80\"; }, "
			     "{ address = \"[2001:db8::4]:80\"; transparent = false; } ); "
			     "transparent = true; balance = \"source_hash\";", &cfg, &err),
		       "a backend of both families parses"))
		return;
	ASSERT_TRUE(transparent_any(&cfg.backends[0]), "it has transparent servers");
	ASSERT_EQ(transparent_exclude(&cfg.backends[0], AF_INET), (uint64_t)0x2,
		  "an IPv4 client may not use the IPv6 transparent server (mask 0x2)");
	ASSERT_EQ(transparent_exclude(&cfg.backends[0], AF_INET6), (uint64_t)0x5,
		  "an IPv6 client may not use the IPv4 ones, mapped included (mask 0x5)");
	st = balance_state_new(&cfg, NULL, NULL);
	for (int i = 0; st && i < 200; i++) {
		struct addr a = c4, b = c6;
		int p;

		((struct sockaddr_in *)&a.ss)->sin_addr.s_addr = htonl(0xc0000200u + (uint32_t)i);
		((struct sockaddr_in6 *)&b.ss)->sin6_addr.s6_addr[15] = (uint8_t)i;
		p = balance_pick(&cfg.backends[0], st, SA(a),
				 transparent_exclude(&cfg.backends[0], AF_INET), 0);
		ok4 = ok4 && (p == 0 || p == 2 || p == 3);
		p = balance_pick(&cfg.backends[0], st, SA(b),
				 transparent_exclude(&cfg.backends[0], AF_INET6), 0);
		ok6 = ok6 && (p == 1 || p == 3);
	}
	ASSERT_TRUE(st && ok4, "200 IPv4 clients: balance_pick() never gives the IPv6 server");
	ASSERT_TRUE(st && ok6, "200 IPv6 clients: never an IPv4 transparent server");
	balance_state_free(&cfg, st);
	config_free(&cfg);
}

static bool is_local(const struct local_addrs *la, const char *ip)
{
	struct addr a = sa(ip, 4000);

	return transparent_is_local(la, SA(a));
}

static void test_local(void)
{
	struct local_addrs la = { 0 };
	struct addr a = sa("198.51.100.1", 0), b = sa("2001:db8::1", 0);

	ASSERT_TRUE(is_local(NULL, "127.0.0.1"), "127.0.0.1 is local");
	ASSERT_TRUE(is_local(NULL, "127.3.2.1"), "127.3.2.1 is local");
	ASSERT_TRUE(is_local(NULL, "::1"), "::1 is local");
	ASSERT_TRUE(is_local(NULL, "::ffff:127.0.0.1"),
		    "::ffff:127.0.0.1 is local");
	ASSERT_FALSE(is_local(NULL, "198.51.100.1"),
		     "198.51.100.1 is not, with no host address known");
	ASSERT_OK(local_addrs_add(&la, SA(a)), "add 198.51.100.1");
	ASSERT_OK(local_addrs_add(&la, SA(b)), "add 2001:db8::1");
	ASSERT_OK(local_addrs_add(&la, SA(a)), "add 198.51.100.1 again");
	ASSERT_EQ(la.n, (size_t)2, "kept once each");
	ASSERT_TRUE(is_local(&la, "198.51.100.1"),
		    "198.51.100.1 is now local, whatever the port");
	ASSERT_TRUE(is_local(&la, "::ffff:198.51.100.1"),
		    "... and as ::ffff:198.51.100.1");
	ASSERT_TRUE(is_local(&la, "2001:db8::1"), "2001:db8::1 is local");
	ASSERT_FALSE(is_local(&la, "198.51.100.2"),
		     "198.51.100.2 is not");
	ASSERT_FALSE(is_local(&la, "2001:db8::2"), "2001:db8::2 is not");
	local_addrs_free(&la);
	ASSERT_OK(local_addrs_load(&la), "the host's addresses are read");
	ASSERT_TRUE(la.n >= 1, "at least one (lo's)");
	local_addrs_free(&la);
}

int main(void)
{
	tap_plan_start();
	test_config();
	test_config_errors();
	test_family();
	test_exclude();
	test_local();
	return tap_done();
}
