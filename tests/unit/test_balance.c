// SPDX-License-Identifier: MIT
/*
 * test_balance.c - backends with several servers: the configuration (servers, weight, backup,
 * balance, retries and their errors), the smooth round robin order, and balance_pick() for
 * each rule: tried servers skipped, down ones passed over, backups only while no other is up,
 * source_hash stable and moving only a down server's clients. TAP output.
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
	st = balance_state_new(&cfg);
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
	balance_failed(st, 0, 1000);
	for (i = 0; i < 10; i++)
		ASSERT_TRUE(balance_pick(&cfg.backends[0], st, cl, 0, 2000) == 1,
			    "a failed server is passed over while down");
	ASSERT_TRUE(balance_pick(&cfg.backends[0], st, cl, 0,
				 1000 + BALANCE_DOWN_MS * 1000000ull) >= 0,
		    "... and picked again once its down time ended");
	balance_failed(st, 0, 1000);
	balance_failed(st, 1, 1000);
	ASSERT_EQ(balance_pick(&cfg.backends[0], st, cl, 0, 2000), 3,
		  "both main servers down: the backup");
	balance_failed(st, 3, 1000);
	s = balance_pick(&cfg.backends[0], st, cl, 0, 2000);
	ASSERT_TRUE(s == 0 || s == 1 || s == 3, "every server down: tried anyway, not refused");
	free(st);
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
	st = balance_state_new(&cfg);
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
	balance_failed(st, 1, 10);
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
	free(st);
	config_free(&cfg);

	if (!ASSERT_TRUE(parse("balance = \"least_conn\"; servers = ( { address = \"127.0.0.1:1\";"
			       " weight = 2; }, { address = \"127.0.0.1:2\"; } );", &cfg),
			 "least_conn parses"))
		return;
	st = balance_state_new(&cfg);
	int n[2] = { 0 };

	for (int i = 0; i < 30; i++) {
		int s = balance_pick(&cfg.backends[0], st, NULL, 0, 10);

		balance_take(st, s);
		n[s]++;
	}
	ASSERT_TRUE(n[0] == 20 && n[1] == 10, "least_conn: 30 held connections spread 2:1");
	free(st);
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
		  "transparent)" },
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

int main(void)
{
	tap_plan_start();
	test_schedule();
	test_pick();
	test_rules();
	test_errors();
	return tap_done();
}
