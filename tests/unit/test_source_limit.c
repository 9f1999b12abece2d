// SPDX-License-Identifier: MIT
/*
 * test_source_limit.c - max_connections_per_source: counts per IPv4 address and per IPv6 /64,
 * refusals at the limit, and a table that empties itself exactly (checked against a plain
 * model through many random takes and puts, which exercises the backward-shift deletion).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "source_limit.h"
#include "tap.h"

static struct sockaddr_storage v4(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	in->sin_family = AF_INET;
	inet_pton(AF_INET, text, &in->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;

	in->sin6_family = AF_INET6;
	inet_pton(AF_INET6, text, &in->sin6_addr);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static unsigned int used_slots(const struct source_limit *s)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i <= s->mask; i++)
		n += s->slot[i].count != 0;
	return n;
}

static void test_limits(void)
{
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct sockaddr_storage m = v6("::ffff:192.0.2.1");
	struct sockaddr_storage p1 = v6("2001:db8:1:2::1"), p2 = v6("2001:db8:1:2:ffff::9");
	struct sockaddr_storage q = v6("2001:db8:1:3::1");
	struct source_limit s;

	if (!ASSERT_OK(source_limit_init(&s, 2, 100), "init, limit 2"))
		return;
	ASSERT_TRUE(source_limit_take(&s, SA(a)), "first connection from a");
	ASSERT_TRUE(source_limit_take(&s, SA(a)), "second from a");
	ASSERT_FALSE(source_limit_take(&s, SA(a)), "third from a refused");
	ASSERT_FALSE(source_limit_take(&s, SA(m)), "a as an IPv4-mapped address counts as a");
	ASSERT_TRUE(source_limit_take(&s, SA(b)), "another address is not affected");
	source_limit_put(&s, SA(a));
	ASSERT_TRUE(source_limit_take(&s, SA(m)), "after one ended, a may connect again");
	ASSERT_TRUE(source_limit_take(&s, SA(p1)), "IPv6: first in 2001:db8:1:2::/64");
	ASSERT_TRUE(source_limit_take(&s, SA(p2)), "IPv6: second in the same /64");
	ASSERT_FALSE(source_limit_take(&s, SA(p1)), "IPv6: the /64 holds its limit");
	ASSERT_TRUE(source_limit_take(&s, SA(q)), "IPv6: the next /64 is another source");
	source_limit_put(&s, SA(a));
	source_limit_put(&s, SA(a));
	source_limit_put(&s, SA(b));
	source_limit_put(&s, SA(p1));
	source_limit_put(&s, SA(p2));
	source_limit_put(&s, SA(q));
	ASSERT_EQ(used_slots(&s), 0, "every count back to 0: the table is empty");
	source_limit_fini(&s);

	if (ASSERT_OK(source_limit_init(&s, 0, 100), "no limit")) {
		for (int i = 0; i < 1000; i++)
			if (!source_limit_take(&s, SA(a)))
				break;
		ASSERT_TRUE(source_limit_take(&s, SA(a)), "no limit: nothing is refused");
		ASSERT_TRUE(!s.slot, "no limit: no table");
		source_limit_fini(&s);
	}
}

/* Random takes and puts over 3000 sources in a table sized for 4096: same as a plain model. */
static void test_model(void)
{
	enum { SOURCES = 3000, STEPS = 200000, LIMIT = 3 };
	static unsigned int model[SOURCES];
	struct source_limit s;
	unsigned int bad = 0, live = 0;

	if (!ASSERT_OK(source_limit_init(&s, LIMIT, 4096), "model: init"))
		return;
	srandom(7);
	for (int step = 0; step < STEPS; step++) {
		unsigned int i = (unsigned int)random() % SOURCES;
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		bool put = (random() & 1) && model[i];

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(0xc6120000u + i);	/* 198.18.x.y */
		if (put) {
			source_limit_put(&s, SA(ss));
			model[i]--;
			live--;
			continue;
		}
		if (source_limit_take(&s, SA(ss)) != (model[i] < LIMIT))
			bad++;
		else if (model[i] < LIMIT) {
			model[i]++;
			live++;
		}
	}
	ASSERT_EQ(bad, 0, "model: every take allowed or refused as the model says");
	for (unsigned int i = 0; i < SOURCES; i++) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(0xc6120000u + i);
		while (model[i]--)
			source_limit_put(&s, SA(ss));
	}
	ASSERT_EQ(used_slots(&s), 0, "model: empty after every connection ended");
	ASSERT_TRUE(live > 0, "model: the run held connections");
	source_limit_fini(&s);
}

int main(void)
{
	tap_plan_start();
	test_limits();
	test_model();
	return tap_done();
}
