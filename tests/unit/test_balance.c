// SPDX-License-Identifier: MIT
/*
 * test_balance.c - backends with several servers: the configuration (servers, weight, backup,
 * balance, retries and their errors), the smooth round robin order, and balance_pick() for
 * each rule: tried servers skipped, down ones passed over, backups only while no other is up,
 * source_hash stable and moving only a down server's clients; servers down keeping the
 * others' shares; health = { } and its errors; a server's state handed on by a reload. TAP
 * output.
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

#define HEAD "listen = ( { address = \"0.0.0.0:443\"; } );\n"
#define ROUTE "routes = ( { backend = \"b\"; } );\n"

static bool parse(const char *backends, struct config *cfg)
{
	char text[2048];
	struct config_error err;

	snprintf(text, sizeof(text), HEAD "backends = { b = { %s }; };\n" ROUTE, backends);
	if (config_parse(text, "t.cfg", cfg, &err)) {
		tap_diag("config_parse: %d: %s", err.line, err.msg);
		return false;
	}
	return true;
}

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

static void test_schedule(void)
{
	struct config cfg;
	char order[32] = "";

	if (!ASSERT_TRUE(parse("servers = ( { address = \"127.0.0.1:1\"; weight = 5; },"
			       " { address = \"127.0.0.1:2\"; }, { address = \"127.0.0.1:3\"; } );",
			       &cfg), "5:1:1 parses"))
		return;
	for (size_t i = 0; i < cfg.backends[0].n_schedule[0] && i < sizeof(order) - 1; i++)
		order[i] = (char)('a' + cfg.backends[0].schedule[0][i]);
	/* nginx's smooth weighted round robin gives a a b a c a a for 5:1:1 */
	ASSERT_STREQ(order, "aabacaa", "round robin 5:1:1 is smooth: a a b a c a a");
	ASSERT_EQ(cfg.backends[0].retries, 2, "retries default: every other server");
	ASSERT_EQ(cfg.backends[0].balance, BALANCE_ROUND_ROBIN, "balance default: round_robin");
	config_free(&cfg);
}

static void test_pick(void)
{
	struct sockaddr_in c1 = v4("192.0.2.1");
	const struct sockaddr *cl = (const struct sockaddr *)&c1;
	struct backend_state *st;
	struct config cfg;
	int counts[4] = { 0 }, i, s;

	if (!ASSERT_TRUE(parse("servers = ( { address = \"127.0.0.1:1\"; weight = 2; },"
			       " { address = \"[::1]:2\"; }, { address = \"127.0.0.1:3\"; weight = 0; },"
			       " { address = \"127.0.0.1:4\"; backup = true; } );", &cfg),
			 "a mixed list parses"))
		return;
	st = balance_state_new(&cfg, NULL, NULL);
	for (i = 0; i < 300; i++)
		counts[balance_pick(&cfg.backends[0], st, cl, 0, 1000)]++;
	if (!tap_result(counts[0] == 200 && counts[1] == 100 && !counts[2] && !counts[3],
			"round robin 2:1, weight 0 never, backup idle while others are up"))
		tap_diag("counts %d %d %d %d", counts[0], counts[1], counts[2], counts[3]);
	s = balance_pick(&cfg.backends[0], st, cl, 1, 1000);
	ASSERT_EQ(s, 1, "a tried server is skipped");
	ASSERT_EQ(balance_pick(&cfg.backends[0], st, cl, 3, 1000), 3,
		  "every main server tried: the backup");
	ASSERT_EQ(balance_pick(&cfg.backends[0], st, cl, 0xb, 1000), -1,
		  "every server tried (weight 0 excluded): none");
	balance_failed(&cfg.backends[0], st, 0, 1000);
	for (i = 0; i < 10; i++)
		ASSERT_TRUE(balance_pick(&cfg.backends[0], st, cl, 0, 2000) == 1,
			    "a failed server is passed over while down");
	ASSERT_TRUE(balance_pick(&cfg.backends[0], st, cl, 0,
				 1000 + CONFIG_HEALTH_INTERVAL_MS * 1000000ull) >= 0,
		    "... and picked again once its down time ended");
	balance_failed(&cfg.backends[0], st, 0, 1000);
	balance_failed(&cfg.backends[0], st, 1, 1000);
	ASSERT_EQ(balance_pick(&cfg.backends[0], st, cl, 0, 2000), 3,
		  "both main servers down: the backup");
	balance_failed(&cfg.backends[0], st, 3, 1000);
	s = balance_pick(&cfg.backends[0], st, cl, 0, 2000);
	ASSERT_TRUE(s == 0 || s == 1 || s == 3, "every server down: tried anyway, not refused");
	balance_state_free(&cfg, st);
	config_free(&cfg);
}

static void test_rules(void)
{
	struct backend_state *st;
	struct config cfg;
	int before[50], moved = 0, kept = 0;

	if (!ASSERT_TRUE(parse("balance = \"source_hash\"; servers = ( { address = \"127.0.0.1:1\"; },"
			       " { address = \"127.0.0.1:2\"; }, { address = \"[::1]:3\"; } );", &cfg),
			 "source_hash parses"))
		return;
	st = balance_state_new(&cfg, NULL, NULL);
	for (int i = 0; i < 50; i++) {
		char ip[32];
		struct sockaddr_in c;

		snprintf(ip, sizeof(ip), "198.18.0.%d", i + 1);
		c = v4(ip);
		before[i] = balance_pick(&cfg.backends[0], st, (struct sockaddr *)&c, 0, 10);
		if (balance_pick(&cfg.backends[0], st, (struct sockaddr *)&c, 0, 10) != before[i])
			moved = 100;
	}
	ASSERT_EQ(moved, 0, "source_hash: the same client gets the same server");
	balance_failed(&cfg.backends[0], st, 1, 10);
	for (int i = 0; i < 50; i++) {
		char ip[32];
		struct sockaddr_in c;
		int now;

		snprintf(ip, sizeof(ip), "198.18.0.%d", i + 1);
		c = v4(ip);
		now = balance_pick(&cfg.backends[0], st, (struct sockaddr *)&c, 0, 20);
		if (before[i] != 1 && now != before[i])
			moved++;
		if (before[i] != 1 && now == before[i])
			kept++;
		if (now == 1)
			moved += 100;
	}
	tap_result(moved == 0 && kept > 20, "source_hash: server 2 down moves only its clients "
		   "(%d others kept their server)", kept);
	balance_state_free(&cfg, st);
	config_free(&cfg);

	if (!ASSERT_TRUE(parse("balance = \"least_conn\"; servers = ( { address = \"127.0.0.1:1\";"
			       " weight = 2; }, { address = \"127.0.0.1:2\"; } );", &cfg),
			 "least_conn parses"))
		return;
	st = balance_state_new(&cfg, NULL, NULL);
	int n[2] = { 0 };

	for (int i = 0; i < 30; i++) {
		int s = balance_pick(&cfg.backends[0], st, NULL, 0, 10);

		balance_take(st, s);
		n[s]++;
	}
	ASSERT_TRUE(n[0] == 20 && n[1] == 10, "least_conn: 30 held connections spread 2:1");
	for (int k = 0; k < 2; k++)
		for (; n[k] > 0; n[k]--)
			balance_put(st, k);
	for (int i = 0; i < 300; i++)
		n[balance_pick(&cfg.backends[0], st, NULL, 0, 10)]++;
	tap_result(n[0] == 200 && n[1] == 100, "least_conn: short connections one after another "
		   "(ties) spread 2:1 by the round robin, not all to the first (%d/%d)", n[0], n[1]);
	balance_state_free(&cfg, st);
	config_free(&cfg);
}

static void test_errors(void)
{
	static const struct {
		const char *name, *backend, *msg;
	} cases[] = {
		{ "address and servers", "address = \"127.0.0.1:1\"; servers = ( { address = "
		  "\"127.0.0.1:2\"; } );", "backends.b.servers: a backend has address or servers, "
		  "not both" },
		{ "neither", "balance = \"first\";", "backends.b: missing required key \"address\" "
		  "(or \"servers\")" },
		{ "empty servers", "servers = ( );", "backends.b.servers: empty list" },
		{ "a bad server address", "servers = ( { address = \"127.0.0.1\"; } );",
		  "backends.b.servers.[0].address: invalid address \"127.0.0.1\": missing \":port\"" },
		{ "unknown balance", "address = \"127.0.0.1:1\"; balance = \"random\";",
		  "backends.b.balance: unknown balance \"random\" (known: round_robin, least_conn, "
		  "source_hash, first)" },
		{ "weight out of range", "servers = ( { address = \"127.0.0.1:1\"; weight = 300; } );",
		  "backends.b.servers.[0].weight: 300 is out of range 0..256" },
		{ "an unknown server key", "servers = ( { address = \"127.0.0.1:1\"; wieght = 2; } );",
		  "unknown key \"wieght\" in backends.b.servers.[0] (known: address, weight, backup, "
		  "transparent, source)" },
		{ "a duplicate server", "servers = ( { address = \"127.0.0.1:1\"; },"
		  " { address = \"[::1]:2\"; }, { address = \"127.0.0.1:1\"; } );",
		  "backends.b.servers.[2]: duplicate server 127.0.0.1:1 (also servers.[0], line 2)" },
		{ "every weight 0", "servers = ( { address = \"127.0.0.1:1\"; weight = 0; },"
		  " { address = \"[::1]:2\"; weight = 0; backup = true; } );",
		  "backends.b.servers: every server has weight 0: none would ever be chosen" },
		{ "health not a group", "address = \"127.0.0.1:1\"; health = true;",
		  "backends.b.health: expected a group" },
		{ "an unknown health key", "address = \"127.0.0.1:1\"; health = { fal = 3; };",
		  "unknown key \"fal\" in backends.b.health (known: interval_ms, timeout_ms, rise, "
		  "fall, tls, sni)" },
		{ "interval_ms too short", "address = \"127.0.0.1:1\"; health = { interval_ms = 10; };",
		  "backends.b.health.interval_ms: 10 is out of range 100..3600000" },
		{ "rise 0", "address = \"127.0.0.1:1\"; health = { rise = 0; };",
		  "backends.b.health.rise: 0 is out of range 1..100" },
		{ "sni without tls", "address = \"127.0.0.1:1\"; health = { sni = \"a.example\"; };",
		  "backends.b.health.sni: sni is sent by TLS checks only: add tls = true" },
		{ "a bad sni", "address = \"127.0.0.1:1\"; health = { tls = true; sni = \"a b\"; };",
		  "backends.b.health.sni: invalid server name \"a b\"" },
		{ "a wildcard sni", "address = \"127.0.0.1:1\"; health = { tls = true; "
		  "sni = \"*.example.org\"; };", "a check sends one exact name, not a wildcard" },
		{ "an IP sni", "address = \"127.0.0.1:1\"; health = { tls = true; "
		  "sni = \"192.0.2.1\"; };", "\"192.0.2.1\": an IP address is not a server name (RFC 6066)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		struct config_error err = { 0 };
		struct config cfg;
		int ret;

		snprintf(text, sizeof(text), HEAD "backends = { b = { %s }; };\n" ROUTE,
			 cases[i].backend);
		ret = config_parse(text, "t.cfg", &cfg, &err);
		tap_result(ret == -EINVAL && strstr(err.msg, cases[i].msg) && err.line > 0,
			   "%s: line %d, \"%s\"", cases[i].name, err.line, err.msg);
		if (!ret)
			config_free(&cfg);
	}
}

/* Servers down keep the others' shares by weight: their turns are not handed to one server. */
static void test_down_shares(void)
{
	struct backend_state *st;
	struct config cfg;
	int n[5] = { 0 };

	if (!ASSERT_TRUE(parse("servers = ( { address = \"127.0.0.1:1\"; weight = 2; },"
			       " { address = \"127.0.0.1:2\"; }, { address = \"127.0.0.1:3\"; },"
			       " { address = \"127.0.0.1:4\"; }, { address = \"[::1]:5\"; } );",
			       &cfg), "five servers parse"))
		return;
	st = balance_state_new(&cfg, NULL, NULL);
	balance_failed(&cfg.backends[0], st, 2, 1000);
	balance_failed(&cfg.backends[0], st, 3, 1000);
	atomic_store(&st->servers[1]->check_down, true);	/* no health checks: ignored */
	for (int i = 0; i < 600; i++)
		n[balance_pick(&cfg.backends[0], st, NULL, 0, 2000)]++;
	if (!tap_result(n[0] == 300 && n[1] == 150 && n[4] == 150 && !n[2] && !n[3],
			"two of five down: the others keep their 2:1:1 shares"))
		tap_diag("counts %d %d %d %d %d", n[0], n[1], n[2], n[3], n[4]);
	balance_state_free(&cfg, st);
	config_free(&cfg);
}

/* What health checks say counts only where the backend has them. */
static void test_checked(void)
{
	struct backend_state *st;
	struct config cfg;
	int n[2] = { 0 };

	if (!ASSERT_TRUE(parse("servers = ( { address = \"127.0.0.1:1\"; },"
			       " { address = \"127.0.0.1:2\"; } ); health = { interval_ms = 500; };",
			       &cfg), "health parses"))
		return;
	ASSERT_TRUE(cfg.backends[0].health.on && cfg.backends[0].health.interval_ms == 500 &&
		    cfg.backends[0].health.timeout_ms == 500 && cfg.backends[0].health.rise == 2 &&
		    cfg.backends[0].health.fall == 3 && !cfg.backends[0].health.tls,
		    "health defaults: timeout min(1000, interval), rise 2, fall 3, TCP");
	st = balance_state_new(&cfg, NULL, NULL);
	atomic_store(&st->servers[0]->check_down, true);
	for (int i = 0; i < 10; i++)
		n[balance_pick(&cfg.backends[0], st, NULL, 0, 2000)]++;
	ASSERT_TRUE(n[0] == 0 && n[1] == 10, "a server its checks say is down is passed over");
	balance_failed(&cfg.backends[0], st, 1, 1000);
	ASSERT_EQ(balance_pick(&cfg.backends[0], st, NULL, 0, 1000 + 400 * 1000000ull), 0,
		  "every server down: tried anyway");
	ASSERT_TRUE(balance_is_up(&cfg.backends[0], st, 1, 1000 + 500 * 1000000ull),
		    "a failed connect keeps a server out for the health interval_ms (500)");
	balance_state_free(&cfg, st);
	config_free(&cfg);
}

/* A reload hands a server's state on where the backend name and the address stay. */
static void test_reload_state(void)
{
	struct backend_state *st, *st2;
	struct config cfg, cfg2;

	if (!ASSERT_TRUE(parse("servers = ( { address = \"127.0.0.1:1\"; },"
			       " { address = \"[::1]:2\"; }, { address = \"127.0.0.1:3\"; } );",
			       &cfg), "the first configuration parses"))
		return;
	if (!ASSERT_TRUE(parse("servers = ( { address = \"[::1]:2\"; },"
			       " { address = \"127.0.0.1:4\"; }, { address = \"127.0.0.1:1\"; } );",
			       &cfg2), "the reloaded one parses")) {
		config_free(&cfg);
		return;
	}
	st = balance_state_new(&cfg, NULL, NULL);
	balance_take(st, 1);
	balance_connected(st, 1);
	balance_failed(&cfg.backends[0], st, 0, 1000);
	st2 = balance_state_new(&cfg2, &cfg, st);
	ASSERT_TRUE(st2->servers[0] == st->servers[1] && st2->servers[2] == st->servers[0],
		    "servers that stay keep their state, wherever they are listed");
	ASSERT_TRUE(st2->servers[1] != st->servers[2] && !atomic_load(&st2->servers[1]->live),
		    "a new server starts afresh");
	ASSERT_EQ(atomic_load(&st2->servers[0]->live), 1, "... live connections carried over");
	ASSERT_TRUE(!balance_is_up(&cfg2.backends[0], st2, 2, 2000), "... a down one stays down");
	balance_state_free(&cfg, st);
	balance_put(st2, 0);	/* the old generation's connection ends on the shared state */
	ASSERT_EQ(atomic_load(&st2->servers[0]->live), 0,
		  "a connection of the old generation ends on the state the new one counts");
	balance_state_free(&cfg2, st2);
	config_free(&cfg);
	config_free(&cfg2);
}

int main(void)
{
	tap_plan_start();
	test_schedule();
	test_pick();
	test_rules();
	test_down_shares();
	test_checked();
	test_reload_state();
	test_errors();
	return tap_done();
}
