// SPDX-License-Identifier: MIT
/*
 * test_addr.c - addr_parse / addr_format round trips and rejections, cidr_parse, cidr_format
 * and cidr_match, IPv4-mapped IPv6 addresses included. TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "escape.h"
#include "tap.h"

static const struct sockaddr *sa_of(const struct addr *a)
{
	return (const struct sockaddr *)&a->ss;
}

/* text parses, and formats back as want (NULL: as text itself). */
static void check_round_trip(const char *text, const char *want)
{
	char buf[ADDR_STRLEN], name[160];
	struct addr a;

	snprintf(name, sizeof(name), "addr_parse(\"%s\")", text);
	if (!ASSERT_OK(addr_parse(text, &a), name))
		return;
	snprintf(name, sizeof(name), "addr_format(\"%s\")", text);
	ASSERT_STREQ(addr_format(sa_of(&a), buf, sizeof(buf)), want ? want : text, name);
}

/* text made printable for a TAP test name */
static const char *show(const char *text, char *buf, size_t size)
{
	return escape_bytes((const uint8_t *)text, strlen(text), buf, size);
}

static void check_reject(const char *text)
{
	char name[160], q[100];
	struct addr a;

	snprintf(name, sizeof(name), "addr_parse rejects \"%s\"", show(text, q, sizeof(q)));
	ASSERT_EQ(addr_parse(text, &a), -EINVAL, name);
}

static void test_addr_parse_fields(void)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	struct addr a;

	if (ASSERT_OK(addr_parse("192.0.2.1:443", &a), "parse v4")) {
		sin = (const struct sockaddr_in *)&a.ss;
		ASSERT_EQ(sin->sin_family, AF_INET, "v4 family");
		ASSERT_EQ(ntohs(sin->sin_port), 443, "v4 port in network order");
		ASSERT_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000201, "v4 address");
		ASSERT_EQ(a.len, sizeof(struct sockaddr_in), "v4 len");
	}
	if (ASSERT_OK(addr_parse("[2001:db8::1]:8443", &a), "parse v6")) {
		sin6 = (const struct sockaddr_in6 *)&a.ss;
		ASSERT_EQ(sin6->sin6_family, AF_INET6, "v6 family");
		ASSERT_EQ(ntohs(sin6->sin6_port), 8443, "v6 port in network order");
		ASSERT_EQ(sin6->sin6_addr.s6_addr[0], 0x20, "v6 address first byte");
		ASSERT_EQ(sin6->sin6_addr.s6_addr[15], 0x01, "v6 address last byte");
		ASSERT_EQ(sin6->sin6_scope_id, 0, "v6 no scope id");
		ASSERT_EQ(a.len, sizeof(struct sockaddr_in6), "v6 len");
		ASSERT_FALSE(addr_is_v4mapped(sa_of(&a)), "2001:db8::1 is not v4-mapped");
	}
	if (ASSERT_OK(addr_parse("[::ffff:1.2.3.4]:80", &a), "parse v4-mapped")) {
		ASSERT_EQ(a.ss.ss_family, AF_INET6, "v4-mapped stays AF_INET6");
		ASSERT_TRUE(addr_is_v4mapped(sa_of(&a)), "addr_is_v4mapped");
	}
	if (ASSERT_OK(addr_parse("1.2.3.4:1", &a), "parse v4 again"))
		ASSERT_FALSE(addr_is_v4mapped(sa_of(&a)), "AF_INET is not v4-mapped");
	ASSERT_FALSE(addr_is_v4mapped(NULL), "NULL is not v4-mapped");
	ASSERT_EQ(addr_parse(NULL, &a), -EINVAL, "addr_parse(NULL)");
}

static void test_addr_round_trips(void)
{
	check_round_trip("1.2.3.4:443", NULL);
	check_round_trip("0.0.0.0:443", NULL);
	check_round_trip("255.255.255.255:65535", NULL);
	check_round_trip("127.0.0.1:1", NULL);
	check_round_trip("[2001:db8::1]:443", NULL);
	check_round_trip("[::]:443", NULL);
	check_round_trip("[::1]:8443", NULL);
	check_round_trip("[::ffff:1.2.3.4]:443", NULL);
	check_round_trip("[fe80::1]:5222", NULL);
	/* accepted, printed in canonical form */
	check_round_trip("[2001:DB8:0:0:0:0:0:1]:443", "[2001:db8::1]:443");
	check_round_trip("[::FFFF:102:304]:443", "[::ffff:1.2.3.4]:443");
	check_round_trip("1.2.3.4:0443", "1.2.3.4:443");
}

static void test_addr_rejects(void)
{
	static const char *const bad[] = {
		"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:00000", "1.2.3.4:65536",
		"1.2.3.4:99999", "1.2.3.4:100000", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:http",
		"1.2.3.4:0x50", "localhost:443", "example.org:443", "1.2.3:443", "1.2.3.4.5:443",
		"256.1.1.1:443", "01.2.3.4:443", "2001:db8::1:443", "::1:443", "::1", "[::1]",
		"[::1]:", "[::1]443", "[::1:443", "::1]:443", "[::1]:0", "[::1]:65536",
		"[::1]:443:1", "[]:443", "[1.2.3.4]:443", "[fe80::1%eth0]:1", "[example.org]:443",
		" 1.2.3.4:443", "1.2.3.4:443 ", "1.2.3.4 :443", "1.2.3.4: 443", "1.2.3.4:443x",
		"1.2.3.4:443\n", "[ ::1]:443", "[::1] :443", ":443", "1.2.3.4::443",
		"[2001:db8:0:0:0:0:0:0:1]:443",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000]:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_reject(bad[i]);
}

static void test_addr_parse_host(void)
{
	char buf[ADDR_STRLEN];
	struct addr a;

	if (ASSERT_OK(addr_parse_host("127.0.0.1", &a), "addr_parse_host v4"))
		ASSERT_STREQ(addr_format(sa_of(&a), buf, sizeof(buf)), "127.0.0.1:0",
			     "addr_parse_host v4 has port 0");
	if (ASSERT_OK(addr_parse_host("::1", &a), "addr_parse_host v6"))
		ASSERT_STREQ(addr_format(sa_of(&a), buf, sizeof(buf)), "[::1]:0",
			     "addr_parse_host v6 has port 0");
	ASSERT_EQ(addr_parse_host("[::1]", &a), -EINVAL, "addr_parse_host rejects brackets");
	ASSERT_EQ(addr_parse_host("1.2.3.4:5", &a), -EINVAL, "addr_parse_host rejects a port");
	ASSERT_EQ(addr_parse_host("localhost", &a), -EINVAL, "addr_parse_host rejects names");
	ASSERT_EQ(addr_parse_host("", &a), -EINVAL, "addr_parse_host rejects empty");
}

static void test_addr_format_edges(void)
{
	struct sockaddr_un_like {
		sa_family_t family;
		char pad[14];
	} odd = { .family = AF_UNIX };
	char small[8], buf[ADDR_STRLEN];
	struct sockaddr_in6 sin6;
	struct addr a, b;

	ASSERT_STREQ(addr_format(NULL, buf, sizeof(buf)), "(none)", "addr_format(NULL)");
	ASSERT_STREQ(addr_format((const struct sockaddr *)&odd, buf, sizeof(buf)), "(family 1)",
		     "addr_format of an unknown family");
	if (ASSERT_OK(addr_parse("[2001:db8::1]:443", &a), "parse for truncation")) {
		addr_format(sa_of(&a), small, sizeof(small));
		ASSERT_STREQ(small, "[2001:d", "addr_format truncates and terminates");
	}
	/* the longest form fits in ADDR_STRLEN */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &sin6.sin6_addr);
	addr_format((const struct sockaddr *)&sin6, buf, sizeof(buf));
	ASSERT_STREQ(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		     "longest address fits ADDR_STRLEN");
	addr_from_sockaddr((const struct sockaddr *)&sin6, sizeof(sin6), &b);
	ASSERT_EQ(b.len, sizeof(sin6), "addr_from_sockaddr len");
	ASSERT_TRUE(!memcmp(&b.ss, &sin6, sizeof(sin6)), "addr_from_sockaddr copies");
}

/* cidr_parse(text) gives family, prefix, and formats as want. */
static void check_cidr(const char *text, int family, unsigned int prefix, const char *want)
{
	char buf[ADDR_STRLEN + 4], name[160];
	struct cidr c;

	snprintf(name, sizeof(name), "cidr_parse(\"%s\")", text);
	if (!ASSERT_OK(cidr_parse(text, &c), name))
		return;
	snprintf(name, sizeof(name), "cidr \"%s\" family", text);
	ASSERT_EQ(c.family, family, name);
	snprintf(name, sizeof(name), "cidr \"%s\" prefix", text);
	ASSERT_EQ(c.prefix, prefix, name);
	snprintf(name, sizeof(name), "cidr_format(\"%s\")", text);
	ASSERT_STREQ(cidr_format(&c, buf, sizeof(buf)), want, name);
}

static void test_cidr_parse(void)
{
	static const char *const bad[] = {
		"", "/", "/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8",
		"1.2.3.4/8 ", " 1.2.3.4/8", "1.2.3.4/abc", "1.2.3.4/0008", "1.2.3.4/24/8",
		"::/129", "2001:db8::/1000", "example.org/8", "localhost", "[::1]/128", "[::1]",
		"fe80::1%eth0/64", "1.2.3/24", "1.2.3.4:80", "1.2.3.4/8x", "1.2.3.4/4294967304",
	};
	char name[160], q[100];
	struct cidr c;
	size_t i;

	check_cidr("192.0.2.0/24", AF_INET, 24, "192.0.2.0/24");
	check_cidr("2001:db8::/32", AF_INET6, 32, "2001:db8::/32");
	check_cidr("127.0.0.1", AF_INET, 32, "127.0.0.1/32");
	check_cidr("::1", AF_INET6, 128, "::1/128");
	check_cidr("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
	check_cidr("::/0", AF_INET6, 0, "::/0");
	check_cidr("1.2.3.4/32", AF_INET, 32, "1.2.3.4/32");
	check_cidr("2001:db8::1/128", AF_INET6, 128, "2001:db8::1/128");
	check_cidr("::ffff:0:0/96", AF_INET6, 96, "::ffff:0.0.0.0/96");
	check_cidr("10.0.0.0/08", AF_INET, 8, "10.0.0.0/8");
	/* host bits are allowed and cleared */
	check_cidr("192.0.2.77/24", AF_INET, 24, "192.0.2.0/24");
	check_cidr("10.255.2.3/9", AF_INET, 9, "10.128.0.0/9");
	check_cidr("255.255.255.255/1", AF_INET, 1, "128.0.0.0/1");
	check_cidr("8.8.8.8/0", AF_INET, 0, "0.0.0.0/0");
	check_cidr("2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::/33");
	check_cidr("ffff::1/0", AF_INET6, 0, "::/0");
	check_cidr("2001:db8::ff/127", AF_INET6, 127, "2001:db8::fe/127");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "cidr_parse rejects \"%s\"",
			 show(bad[i], q, sizeof(q)));
		ASSERT_EQ(cidr_parse(bad[i], &c), -EINVAL, name);
	}
	ASSERT_EQ(cidr_parse(NULL, &c), -EINVAL, "cidr_parse(NULL)");
}

/* Whether addr (host:port as addr_parse takes it) lies in the prefix. */
static bool in_prefix(const char *prefix, const char *addr)
{
	struct cidr c;
	struct addr a;

	if (cidr_parse(prefix, &c) || addr_parse(addr, &a))
		return false;
	return cidr_match(&c, sa_of(&a));
}

struct match_case {
	const char *prefix;
	const char *addr;
	bool want;
};

static void test_cidr_match(void)
{
	static const struct match_case cases[] = {
		{ "192.0.2.0/24", "192.0.2.7:1", true },
		{ "192.0.2.0/24", "192.0.2.0:1", true },
		{ "192.0.2.0/24", "192.0.2.255:1", true },
		{ "192.0.2.0/24", "192.0.1.255:1", false },
		{ "192.0.2.0/24", "192.0.3.0:1", false },
		{ "192.0.2.0/24", "[::ffff:192.0.2.7]:1", true },
		{ "192.0.2.0/24", "[::ffff:192.0.3.7]:1", false },
		{ "192.0.2.0/24", "[::192.0.2.7]:1", false },	/* v4-compatible, not mapped */
		{ "192.0.2.0/24", "[2001:db8::c000:207]:1", false },
		{ "192.0.2.0/24", "[64:ff9b::192.0.2.7]:1", false },
		{ "10.0.0.0/9", "10.127.255.255:1", true },
		{ "10.0.0.0/9", "10.128.0.0:1", false },
		{ "10.0.0.0/31", "10.0.0.1:1", true },
		{ "10.0.0.0/31", "10.0.0.2:1", false },
		{ "0.0.0.0/0", "1.2.3.4:1", true },
		{ "0.0.0.0/0", "255.255.255.255:1", true },
		{ "0.0.0.0/0", "[::ffff:1.2.3.4]:1", true },
		{ "0.0.0.0/0", "[::1]:1", false },
		{ "0.0.0.0/0", "[::]:1", false },
		{ "1.2.3.4", "1.2.3.4:1", true },
		{ "1.2.3.4/32", "1.2.3.5:1", false },
		{ "1.2.3.4/32", "[::ffff:1.2.3.4]:1", true },
		{ "2001:db8::/32", "[2001:db8::1]:1", true },
		{ "2001:db8::/32", "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:1", true },
		{ "2001:db8::/32", "[2001:db9::]:1", false },
		{ "2001:db8::/32", "[2001:db7:ffff::]:1", false },
		{ "2001:db8::/32", "1.2.3.4:1", false },
		{ "2001:db8:8000::/33", "[2001:db8:7fff::]:1", false },
		{ "2001:db8:8000::/33", "[2001:db8:8000::]:1", true },
		{ "::/0", "[2001:db8::1]:1", true },
		{ "::/0", "[::ffff:1.2.3.4]:1", true },
		/* an IPv6 prefix matches AF_INET6 only */
		{ "::/0", "1.2.3.4:1", false },
		{ "::ffff:0:0/96", "[::ffff:1.2.3.4]:1", true },
		{ "::ffff:0:0/96", "1.2.3.4:1", false },
		{ "::ffff:0:0/96", "[::1]:1", false },
		{ "::ffff:192.0.2.0/120", "[::ffff:192.0.2.9]:1", true },
		{ "::ffff:192.0.2.0/120", "192.0.2.9:1", false },
		{ "::1", "[::1]:1", true },
		{ "::1/128", "[::2]:1", false },
		{ "::1/128", "[::]:1", false },
		{ "::1/128", "127.0.0.1:1", false },
		{ "2001:db8::fe/127", "[2001:db8::ff]:1", true },
		{ "2001:db8::fe/127", "[2001:db8::100]:1", false },
	};
	struct cidr c;
	char name[200];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "%s %s %s", cases[i].addr,
			 cases[i].want ? "in" : "not in", cases[i].prefix);
		ASSERT_EQ(in_prefix(cases[i].prefix, cases[i].addr), cases[i].want, name);
	}
	if (ASSERT_OK(cidr_parse("0.0.0.0/0", &c), "parse /0 for NULL"))
		ASSERT_FALSE(cidr_match(&c, NULL), "NULL address never matches");
}

int main(void)
{
	tap_plan_start();
	test_addr_parse_fields();
	test_addr_round_trips();
	test_addr_rejects();
	test_addr_parse_host();
	test_addr_format_edges();
	test_cidr_parse();
	test_cidr_match();
	return tap_done();
}
