// SPDX-License-Identifier: MIT
/*
 * test_proxy_proto.c - the PROXY protocol module: CRC32C against a bit-by-bit reference; the
 * v2 header sockmux sends, byte by byte, TLVs included; v1 headers; the IPv4-mapped rule;
 * real headers captured from HAProxy 2.6 (send-proxy, send-proxy-v2, with CRC32C and
 * UNIQUE_ID, a LOCAL health check) and nginx 1.22 (stream proxy_protocol), whole and byte at
 * a time, each with a real ClientHello behind it; and the hostile headers that broke other
 * receivers. Fixtures: tests/fixtures/proxy/. TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"
#include "tap.h"
#include "sniff/tls_hello.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define BUF_MAX 8192

/* a v2 signature; an IPv4 address block, 127.0.0.2:8000 -> 127.0.0.1:443 */
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define V4 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x1f\x40\x01\xbb"
#define X10 "xxxxxxxxxx"

static size_t load(const char *dir, const char *name, uint8_t *buf, size_t size)
{
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", FIXTURES, dir, name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

static struct addr addr(const char *text)
{
	struct addr a;

	if (addr_parse(text, &a))
		memset(&a, 0, sizeof(a));
	return a;
}

static const struct sockaddr *sa(const struct addr *a)
{
	return (const struct sockaddr *)&a->ss;
}

static bool addr_is(const struct addr *a, const char *want, const char *name)
{
	char buf[ADDR_STRLEN];

	if (!a->len)
		return ASSERT_STREQ("(none)", want, name);
	return ASSERT_STREQ(addr_format(sa(a), buf, sizeof(buf)), want, name);
}

/* Bit by bit, straight from RFC 4960 appendix B: the reference for the table-driven one. */
static uint32_t crc32c_bitwise(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= buf[i];
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

static void test_crc32c(void)
{
	static const char check[] = "123456789";
	uint8_t buf[1000];
	size_t i;
	bool same = true;

	/* the CRC-32C catalogue's check value */
	ASSERT_EQ(pp_crc32c((const uint8_t *)check, 9), 0xe3069283, "crc32c(\"123456789\")");
	ASSERT_EQ(pp_crc32c(buf, 0), 0, "crc32c of nothing");
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i <= sizeof(buf); i += 37)
		same &= pp_crc32c(buf, i) == crc32c_bitwise(buf, i);
	ASSERT_TRUE(same, "table-driven crc32c equals the bitwise reference");
}

/* The header sockmux sends: every byte, TLVs and CRC included. */
static void test_v2_encode_bytes(void)
{
	static const uint8_t want[] = {
		/* signature */
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21,			/* version 2, command PROXY */
		0x11,			/* AF_INET, STREAM */
		0x00, 0x34,		/* 12 + (3 + 11) + (3 + 11) + (3 + 2) + (3 + 4) = 52 */
		192, 0, 2, 7,		/* source address */
		198, 51, 100, 1,	/* destination address */
		0xc7, 0x38,		/* source port 51000 */
		0x01, 0xbb,		/* destination port 443 */
		0x01, 0x00, 0x0b,	/* PP2_TYPE_ALPN, 11 bytes */
		'x', 'm', 'p', 'p', '-', 'c', 'l', 'i', 'e', 'n', 't',
		0x02, 0x00, 0x0b,	/* PP2_TYPE_AUTHORITY, 11 bytes */
		'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g',
		0x05, 0x00, 0x02,	/* PP2_TYPE_UNIQUE_ID, 2 bytes: the connection id */
		'4', '2',
		0x03, 0x00, 0x04,	/* PP2_TYPE_CRC32C, 4 bytes, checked below */
		0x00, 0x00, 0x00, 0x00,
	};
	struct addr src = addr("192.0.2.7:51000"), dst = addr("198.51.100.1:443");
	struct pp2_tlvs t = {
		.alpn = (const uint8_t *)"xmpp-client", .alpn_len = 11,
		.authority = "example.org", .authority_len = 11,
		.unique_id = "42", .unique_id_len = 2,
		.crc32c = true,
	};
	uint8_t buf[256], zeroed[256];
	uint32_t crc;
	size_t len = 0, i;
	int err;

	err = pp2_encode(sa(&src), sa(&dst), &t, buf, sizeof(buf), &len);
	if (!ASSERT_OK(err, "v2 encode: TCP4 with ALPN, AUTHORITY, UNIQUE_ID, CRC32C"))
		return;
	if (!ASSERT_EQ(len, sizeof(want), "v2 encode: 68 bytes"))
		return;
	for (i = 0; i < len - 4; i++) {
		if (buf[i] != want[i]) {
			tap_diag("  byte %zu: got 0x%02x, expected 0x%02x", i, buf[i], want[i]);
			break;
		}
	}
	ASSERT_EQ(i, len - 4, "v2 encode: every byte before the CRC value as expected");
	ASSERT_EQ(16 + ((size_t)buf[14] << 8 | buf[15]), len,
		  "v2 encode: declared length is exactly the TLVs' sum");
	/* the CRC32C of the whole header with its own value zeroed, big-endian */
	memcpy(zeroed, buf, len);
	memset(zeroed + len - 4, 0, 4);
	crc = crc32c_bitwise(zeroed, len);
	ASSERT_EQ((uint32_t)buf[len - 4] << 24 | (uint32_t)buf[len - 3] << 16 |
		  (uint32_t)buf[len - 2] << 8 | buf[len - 1], crc,
		  "v2 encode: CRC32C value (big-endian) over the header with it zeroed");
}

static void test_v2_encode_v6(void)
{
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x21,		/* PROXY; AF_INET6, STREAM */
		0x00, 0x24,		/* 36: addresses only */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x1f, 0x40,		/* 8000 */
		0x20, 0xfb,		/* 8443 */
	};
	struct addr src = addr("[2001:db8::7]:8000"), dst = addr("[::1]:8443");
	struct pp2_tlvs none = { 0 };
	uint8_t buf[256];
	size_t len = 0;

	if (!ASSERT_OK(pp2_encode(sa(&src), sa(&dst), &none, buf, sizeof(buf), &len),
		       "v2 encode: TCP6 without TLVs"))
		return;
	ASSERT_TRUE(len == sizeof(want) && !memcmp(buf, want, len), "v2 encode: TCP6 bytes");
	ASSERT_EQ(pp2_encode(sa(&src), sa(&dst), NULL, buf, 51, &len), -ENOSPC,
		  "v2 encode: -ENOSPC one byte short");
}

/* IPv4-mapped addresses are announced as IPv4; the two addresses always share a family. */
static void test_families(void)
{
	struct addr m_src = addr("[::ffff:192.0.2.7]:51000");
	struct addr m_dst = addr("[::ffff:127.0.0.1]:443");
	struct addr v4 = addr("127.0.0.1:443"), v6 = addr("[2001:db8::1]:443");
	struct pp_header h;
	uint8_t buf[256];
	size_t len = 0;

	if (ASSERT_OK(pp1_encode(sa(&m_src), sa(&m_dst), buf, sizeof(buf), &len),
		      "v1 encode: mapped pair")) {
		buf[len] = '\0';
		ASSERT_STREQ((char *)buf, "PROXY TCP4 192.0.2.7 127.0.0.1 51000 443\r\n",
			     "v1 encode: mapped pair is TCP4 in IPv4 form");
	}
	if (ASSERT_OK(pp2_encode(sa(&m_src), sa(&m_dst), NULL, buf, sizeof(buf), &len),
		      "v2 encode: mapped pair")) {
		ASSERT_EQ(buf[13], 0x11, "v2 encode: mapped pair is AF_INET");
		ASSERT_EQ(len, 28, "v2 encode: mapped pair has the 12-byte IPv4 block");
		ASSERT_TRUE(!memcmp(buf + 16, "\xc0\x00\x02\x07\x7f\x00\x00\x01", 8),
			    "v2 encode: mapped pair's addresses in IPv4 form");
	}
	if (ASSERT_OK(pp1_encode(sa(&m_src), sa(&v4), buf, sizeof(buf), &len),
		      "v1 encode: mapped source, IPv4 destination")) {
		buf[len] = '\0';
		ASSERT_STREQ((char *)buf, "PROXY TCP4 192.0.2.7 127.0.0.1 51000 443\r\n",
			     "v1 encode: mapped + IPv4 is TCP4");
	}
	if (ASSERT_OK(pp1_encode(sa(&m_src), sa(&v6), buf, sizeof(buf), &len),
		      "v1 encode: mapped source, IPv6 destination")) {
		buf[len] = '\0';
		ASSERT_STREQ((char *)buf, "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51000 443\r\n",
			     "v1 encode: mapped + IPv6 is TCP6, both in IPv6 form");
	}
	if (ASSERT_OK(pp2_encode(sa(&v4), sa(&v6), NULL, buf, sizeof(buf), &len),
		      "v2 encode: IPv4 source, IPv6 destination")) {
		ASSERT_EQ(buf[13], 0x21, "v2 encode: IPv4 + IPv6 is AF_INET6");
		ASSERT_EQ(pp_parse(buf, len, &h), PP_OK, "v2 encode: IPv4 + IPv6 parses");
		addr_is(&h.src, "[::ffff:127.0.0.1]:443", "v2 encode: IPv4 source in mapped form");
		addr_is(&h.dst, "[2001:db8::1]:443", "v2 encode: IPv6 destination kept");
	}
}

static void test_v1_encode(void)
{
	struct addr src = addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
	struct addr dst = addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	struct addr un = { 0 };
	uint8_t buf[PP1_MAX_LEN];
	size_t len = 0;

	if (ASSERT_OK(pp1_encode(sa(&src), sa(&dst), buf, sizeof(buf), &len),
		      "v1 encode: the longest TCP6 line fits in 107 bytes"))
		ASSERT_EQ(len, 104, "v1 encode: longest TCP6 line is 104 bytes");
	ASSERT_EQ(pp1_encode(sa(&src), sa(&dst), buf, 103, &len), -ENOSPC,
		  "v1 encode: -ENOSPC one byte short");
	un.ss.ss_family = AF_UNIX;
	ASSERT_EQ(pp1_encode(sa(&un), sa(&dst), buf, sizeof(buf), &len), -EAFNOSUPPORT,
		  "v1 encode: AF_UNIX refused");
}

/* Encode, parse back: same addresses and TLVs, and the parser's length is the encoder's. */
static void test_round_trip(void)
{
	static const char *const pairs[][2] = {
		{ "192.0.2.7:1", "198.51.100.1:65535" },
		{ "[2001:db8::7]:51000", "[2001:db8::1]:443" },
		{ "0.0.0.0:1", "255.255.255.255:2" },
	};
	struct pp2_tlvs t = {
		.alpn = (const uint8_t *)"h2", .alpn_len = 2,
		.authority = "www.example.org", .authority_len = 15,
		.unique_id = "18446744073709551615", .unique_id_len = 20,
		.crc32c = true,
	};
	struct pp_header h;
	uint8_t buf[512];
	char name[128];
	size_t i, len = 0;
	bool ok;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct addr s = addr(pairs[i][0]), d = addr(pairs[i][1]);

		ok = !pp1_encode(sa(&s), sa(&d), buf, sizeof(buf), &len) &&
		     pp_parse(buf, len, &h) == PP_OK && h.len == len && h.version == 1;
		snprintf(name, sizeof(name), "v1 round trip %s -> %s", pairs[i][0], pairs[i][1]);
		if (ASSERT_TRUE(ok, name)) {
			addr_is(&h.src, pairs[i][0], "  v1 source back");
			addr_is(&h.dst, pairs[i][1], "  v1 destination back");
		}
		ok = !pp2_encode(sa(&s), sa(&d), &t, buf, sizeof(buf), &len) &&
		     pp_parse(buf, len, &h) == PP_OK && h.len == len && h.version == 2;
		snprintf(name, sizeof(name), "v2 round trip %s -> %s", pairs[i][0], pairs[i][1]);
		if (!ASSERT_TRUE(ok, name))
			continue;
		addr_is(&h.src, pairs[i][0], "  v2 source back");
		addr_is(&h.dst, pairs[i][1], "  v2 destination back");
		ASSERT_TRUE(h.alpn_len == 2 && !memcmp(h.alpn, "h2", 2), "  v2 ALPN back");
		ASSERT_TRUE(h.authority_len == 15 && !memcmp(h.authority, "www.example.org", 15),
			    "  v2 AUTHORITY back");
		ASSERT_TRUE(h.unique_id_len == 20 &&
				    !memcmp(h.unique_id, "18446744073709551615", 20),
			    "  v2 UNIQUE_ID back");
		ASSERT_TRUE(h.crc32c, "  v2 CRC32C present and verified");
	}
}

/* UNIQUE_ID: 128 bytes at most, sent or received. */
static void test_unique_id_limit(void)
{
	static const char hdr[] = SIG "\x21\x11\x00\x8f" V4 "\x05\x00\x80";
	struct addr s = addr("192.0.2.7:1"), d = addr("192.0.2.1:2");
	struct pp2_tlvs t = { .unique_id = (const char *)"", .unique_id_len = 0 };
	uint8_t buf[512], id[PP2_UNIQUE_ID_MAX + 1];
	struct pp_header h;
	size_t len;

	memset(id, 'a', sizeof(id));
	t.unique_id = (const char *)id;
	t.unique_id_len = PP2_UNIQUE_ID_MAX + 1;
	ASSERT_EQ(pp2_encode(sa(&s), sa(&d), &t, buf, sizeof(buf), &len), -EINVAL,
		  "v2 encode: UNIQUE_ID over 128 bytes refused");
	t.unique_id_len = PP2_UNIQUE_ID_MAX;
	ASSERT_OK(pp2_encode(sa(&s), sa(&d), &t, buf, sizeof(buf), &len),
		  "v2 encode: UNIQUE_ID of 128 bytes");
	/* received: 128 bytes fine, 129 refused */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, hdr, sizeof(hdr) - 1);
	ASSERT_EQ(pp_parse(buf, 16 + 143, &h), PP_OK, "v2 UNIQUE_ID of 128 bytes: PP_OK");
	ASSERT_EQ(h.unique_id_len, 128, "v2 UNIQUE_ID of 128 bytes kept");
	buf[15] = 0x90;
	buf[30] = 0x81;
	ASSERT_EQ(pp_parse(buf, 16 + 144, &h), PP_BAD, "v2 UNIQUE_ID of 129 bytes: PP_BAD");
	ASSERT_TRUE(h.error && strstr(h.error, "UNIQUE_ID longer than 128"),
		    "v2 UNIQUE_ID of 129 bytes: reason");
}

struct capture {
	const char *file;
	unsigned int version;
	const char *src, *dst;	/* NULL: no address (LOCAL) */
	const char *unique_id;	/* prefix of the UNIQUE_ID, or NULL */
	bool crc32c;
};

/* Real headers, each followed by the 5 bytes "hello" the test client sent (not LOCAL). */
static const struct capture captures[] = {
	{ "haproxy-v1-tcp4.bin", 1, "127.0.0.2:44454", "127.0.0.1:7001", NULL, false },
	{ "haproxy-v1-tcp6.bin", 1, "[2001:db8::7]:33648", "[::1]:7001", NULL, false },
	{ "haproxy-v1-mapped.bin", 1, "[::ffff:127.0.0.2]:33078", "[::ffff:127.0.0.1]:7004", NULL,
	  false },
	{ "haproxy-v2-tcp4.bin", 2, "127.0.0.2:54258", "127.0.0.1:7002", NULL, false },
	{ "haproxy-v2-tcp6.bin", 2, "[2001:db8::7]:38044", "[::1]:7002", NULL, false },
	{ "haproxy-v2-mapped.bin", 2, "[::ffff:127.0.0.2]:41620", "[::ffff:127.0.0.1]:7005", NULL,
	  false },
	{ "haproxy-v2-crc-uid-tcp4.bin", 2, "127.0.0.2:43382", "127.0.0.1:7003",
	  "7F000002:A976_7F000001:1B5B_", true },
	{ "haproxy-v2-crc-uid-tcp6.bin", 2, "[2001:db8::7]:40462", "[::1]:7003",
	  "20010DB8000000000000000000000007:9E0E_", true },
	{ "haproxy-v2-local.bin", 2, NULL, NULL, NULL, false },
	{ "nginx-v1-tcp4.bin", 1, "127.0.0.2:42164", "127.0.0.1:7007", NULL, false },
	{ "nginx-v1-tcp6.bin", 1, "[2001:db8::7]:40804", "[::1]:7007", NULL, false },
};

static void test_captures(void)
{
	static uint8_t buf[BUF_MAX], hello[BUF_MAX];
	struct tls_hello th;
	struct pp_header h, p;
	size_t i, k, n, hlen, hdr;
	char name[160];
	bool ok;

	hlen = load("hello", "openssl-xmpp.bin", hello, sizeof(hello));
	if (!ASSERT_TRUE(hlen > 0, "load the openssl-xmpp.bin ClientHello"))
		return;
	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		const struct capture *c = &captures[i];

		n = load("proxy", c->file, buf, sizeof(buf));
		snprintf(name, sizeof(name), "%s: loaded", c->file);
		if (!ASSERT_TRUE(n > 0, name))
			continue;
		snprintf(name, sizeof(name), "%s: PP_OK", c->file);
		if (!ASSERT_EQ(pp_parse(buf, n, &h), PP_OK, name)) {
			tap_diag("  error: %s", h.error);
			continue;
		}
		hdr = h.len;
		/* the client sent "hello"; a health check sends nothing */
		snprintf(name, sizeof(name), "%s: header ends where the payload starts", c->file);
		ok = c->src ? hdr + 5 == n && !memcmp(buf + hdr, "hello", 5) : hdr == n;
		ASSERT_TRUE(ok, name);
		snprintf(name, sizeof(name), "%s: version %u", c->file, c->version);
		ASSERT_EQ(h.version, c->version, name);
		snprintf(name, sizeof(name), "%s: %s", c->file, c->src ? "has addresses" : "LOCAL");
		ASSERT_TRUE(c->src ? h.has_addr && !h.local : !h.has_addr && h.local, name);
		if (c->src) {
			snprintf(name, sizeof(name), "%s: source %s", c->file, c->src);
			addr_is(&h.src, c->src, name);
			snprintf(name, sizeof(name), "%s: destination %s", c->file, c->dst);
			addr_is(&h.dst, c->dst, name);
		}
		snprintf(name, sizeof(name), "%s: CRC32C %s", c->file,
			 c->crc32c ? "present and verified" : "absent");
		ASSERT_EQ(h.crc32c, c->crc32c, name);
		if (c->unique_id) {
			snprintf(name, sizeof(name), "%s: UNIQUE_ID", c->file);
			ASSERT_TRUE(h.unique_id && h.unique_id_len >= strlen(c->unique_id) &&
					    !memcmp(h.unique_id, c->unique_id,
						    strlen(c->unique_id)),
				    name);
		}
		/* byte at a time: NEED_MORE up to the last byte of the header */
		ok = true;
		for (k = 0; k < hdr; k++)
			ok &= pp_parse(buf, k, &p) == PP_NEED_MORE && !p.error && !p.len;
		snprintf(name, sizeof(name), "%s: every shorter prefix is PP_NEED_MORE", c->file);
		ASSERT_TRUE(ok, name);
		snprintf(name, sizeof(name), "%s: header alone is PP_OK, same length", c->file);
		ASSERT_TRUE(pp_parse(buf, hdr, &p) == PP_OK && p.len == hdr, name);
		/* a real ClientHello right behind it, as in one segment: left intact */
		memcpy(buf + hdr, hello, hlen);
		ok = pp_parse(buf, hdr + hlen, &p) == PP_OK && p.len == hdr &&
		     tls_hello_parse(buf + p.len, hdr + hlen - p.len, &th) == TLS_HELLO_OK &&
		     th.has_sni && !strcmp(th.sni, "example.org");
		snprintf(name, sizeof(name), "%s + ClientHello: header taken, hello intact",
			 c->file);
		ASSERT_TRUE(ok, name);
	}
}

struct hostile {
	const char *name;
	const char *bytes;
	size_t len;		/* 0: strlen(bytes) */
	enum pp_status want;
	const char *error;	/* part of the reason with PP_BAD; with PP_OK, NULL */
	size_t hdr_len;		/* with PP_OK */
};

static const struct hostile hostiles[] = {
	/* v1 */
	{ "v1 without CRLF within 107 bytes",
	  "PROXY TCP6 1111:2222:3333:4444:5555:6666:7777:8888 1111:2222:3333:4444:5555:6666:7777:"
	  "8888 65535 65535 xxxx\r\n", 0, PP_BAD, "no CRLF within 107 bytes", 0 },
	{ "v1 of exactly 107 bytes is fine", "PROXY UNKNOWN " X10 X10 X10 X10 X10 X10 X10 X10 X10
	  "x\r\n", 0, PP_OK, NULL, 107 },
	{ "v1 bare LF", "PROXY TCP4 127.0.0.2 127.0.0.1 1 2\n", 0, PP_BAD, "bare LF", 0 },
	{ "v1 CR LF split by a byte", "PROXY TCP4 127.0.0.2 127.0.0.1 1 2\rx\n", 0, PP_BAD,
	  "bare LF", 0 },
	{ "v1 TCP4 with IPv6 addresses", "PROXY TCP4 ::1 ::1 1 2\r\n", 0, PP_BAD,
	  "not a numeric IPv4", 0 },
	{ "v1 TCP6 with IPv4 addresses", "PROXY TCP6 127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD,
	  "not a numeric IPv6", 0 },
	{ "v1 TCP4, addresses of two families", "PROXY TCP4 127.0.0.2 ::1 1 2\r\n", 0, PP_BAD,
	  "not a numeric IPv4", 0 },
	{ "v1 port 65536", "PROXY TCP4 127.0.0.2 127.0.0.1 65536 443\r\n", 0, PP_BAD,
	  "port is not a number 0..65535", 0 },
	{ "v1 port 65535 and port 0", "PROXY TCP4 127.0.0.2 127.0.0.1 65535 0\r\n", 0, PP_OK,
	  NULL, 40 },
	{ "v1 port with a sign", "PROXY TCP4 127.0.0.2 127.0.0.1 +80 443\r\n", 0, PP_BAD, "port",
	  0 },
	{ "v1 port of 6 digits", "PROXY TCP4 127.0.0.2 127.0.0.1 000080 443\r\n", 0, PP_BAD,
	  "port", 0 },
	{ "v1 two spaces", "PROXY TCP4  127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD, "single spaces",
	  0 },
	{ "v1 trailing space", "PROXY TCP4 127.0.0.2 127.0.0.1 1 2 \r\n", 0, PP_BAD,
	  "single spaces", 0 },
	{ "v1 tab for a space", "PROXY TCP4\t127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD, "protocol",
	  0 },
	{ "v1 six fields", "PROXY TCP4 127.0.0.2 127.0.0.1 1 2 3\r\n", 0, PP_BAD, "5 fields", 0 },
	{ "v1 four fields", "PROXY TCP4 127.0.0.2 127.0.0.1 1\r\n", 0, PP_BAD, "5 fields", 0 },
	{ "v1 lower-case protocol", "PROXY tcp4 127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD,
	  "protocol", 0 },
	{ "v1 UDP4", "PROXY UDP4 127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD, "protocol", 0 },
	{ "v1 host name", "PROXY TCP4 localhost 127.0.0.1 1 2\r\n", 0, PP_BAD, "IPv4", 0 },
	{ "v1 leading zero in an address", "PROXY TCP4 127.0.0.02 127.0.0.1 1 2\r\n", 0, PP_BAD,
	  "IPv4", 0 },
	{ "v1 NUL inside an address", "PROXY TCP4 127.0.0.2\0xx 127.0.0.1 1 2\r\n", 39, PP_BAD,
	  "IPv4", 0 },
	{ "v1 zone id", "PROXY TCP6 fe80::1%lo ::1 1 2\r\n", 0, PP_BAD, "IPv6", 0 },
	{ "v1 empty line", "PROXY \r\n", 0, PP_BAD, "no protocol", 0 },
	{ "v1 no space after PROXY", "PROXY\r\n", 0, PP_BAD, "not a PROXY v1 or v2 header", 0 },
	{ "v1 UNKNOWN", "PROXY UNKNOWN\r\n", 0, PP_OK, NULL, 15 },
	{ "v1 UNKNOWN with addresses", "PROXY UNKNOWN ::1 ::1 1 2\r\n", 0, PP_OK, NULL, 27 },
	{ "v1 UNKNOWNX", "PROXY UNKNOWNX\r\n", 0, PP_BAD, "protocol", 0 },
	{ "v1 two headers back to back: the second is payload",
	  "PROXY TCP4 127.0.0.2 127.0.0.1 1 2\r\nPROXY TCP4 10.0.0.1 10.0.0.2 3 4\r\n", 0, PP_OK,
	  NULL, 36 },
	{ "v1 then v2: the v2 is payload", "PROXY UNKNOWN\r\n" SIG "\x21\x11\x00\x0c" V4,
	  15 + 28, PP_OK, NULL, 15 },
	/* not a header at all */
	{ "a TLS ClientHello without a header", "\x16\x03\x01\x02\x00\x01", 6, PP_BAD,
	  "not a PROXY v1 or v2 header", 0 },
	{ "HTTP", "GET / HTTP/1.1\r\n", 0, PP_BAD, "not a PROXY", 0 },
	{ "lower-case proxy", "proxy TCP4 127.0.0.2 127.0.0.1 1 2\r\n", 0, PP_BAD, "not a PROXY",
	  0 },
	{ "v2 signature with one byte wrong", "\r\n\r\n\0\r\nQUIT\r", 12, PP_BAD,
	  "not a PROXY", 0 },
	/* v2 */
	{ "v2 TLV running past the header",
	  SIG "\x21\x11\x00\x11" V4 "\x02\x00\x09" "ab", 16 + 17, PP_BAD,
	  "TLV runs past the declared length", 0 },
	{ "v2 TLV header cut by the length", SIG "\x21\x11\x00\x0e" V4 "\x02\x00", 16 + 14,
	  PP_BAD, "TLV header runs past", 0 },
	{ "v2 header shorter than its IPv4 address block", SIG "\x21\x11\x00\x0b" V4, 16 + 12,
	  PP_BAD, "shorter than the family's address block", 0 },
	{ "v2 header shorter than its IPv6 address block", SIG "\x21\x21\x00\x0c" V4, 16 + 12,
	  PP_BAD, "shorter than the family's address block", 0 },
	{ "v2 UNIX shorter than 216", SIG "\x21\x31\x00\x24", 16, PP_BAD, "address block", 0 },
	{ "v2 length over 4096", SIG "\x21\x11\x10\x01", 16, PP_BAD, "length over 4096", 0 },
	{ "v2 version 1", SIG "\x11\x11\x00\x0c" V4, 28, PP_BAD, "version is not 2", 0 },
	{ "v2 version 3", SIG "\x31\x11\x00\x0c" V4, 28, PP_BAD, "version is not 2", 0 },
	{ "v2 command 2", SIG "\x22\x11\x00\x0c" V4, 28, PP_BAD, "command", 0 },
	{ "v2 family 4", SIG "\x21\x41\x00\x0c" V4, 28, PP_BAD, "family", 0 },
	{ "v2 transport 3", SIG "\x21\x13\x00\x0c" V4, 28, PP_BAD, "transport", 0 },
	{ "v2 DGRAM", SIG "\x21\x12\x00\x0c" V4, 28, PP_BAD, "STREAM", 0 },
	{ "v2 CRC32C mismatch", SIG "\x21\x11\x00\x13" V4 "\x03\x00\x04\x00\x00\x00\x00", 35,
	  PP_BAD, "CRC32C mismatch", 0 },
	{ "v2 CRC32C of 3 bytes", SIG "\x21\x11\x00\x12" V4 "\x03\x00\x03\x00\x00\x00", 34,
	  PP_BAD, "not 4 bytes", 0 },
	{ "v2 two AUTHORITY TLVs", SIG "\x21\x11\x00\x14" V4 "\x02\x00\x01" "a" "\x02\x00\x01" "b",
	  36, PP_BAD, "twice", 0 },
	{ "v2 LOCAL, UNSPEC", SIG "\x20\x00\x00\x00", 16, PP_OK, NULL, 16 },
	{ "v2 PROXY, UNSPEC: no address", SIG "\x21\x00\x00\x00", 16, PP_OK, NULL, 16 },
	{ "v2 NOOP and unknown TLVs skipped",
	  SIG "\x21\x11\x00\x17" V4 "\x04\x00\x02" "\0\0" "\xe0\x00\x00" "\x20\x00\x00", 39, PP_OK,
	  NULL, 39 },
	{ "v2 two headers back to back: the second is payload",
	  SIG "\x21\x11\x00\x0c" V4 SIG "\x21\x11\x00\x0c" V4, 56, PP_OK, NULL, 28 },
};

static void test_hostile(void)
{
	static uint8_t buf[BUF_MAX];
	struct pp_header h, p;
	enum pp_status st, pst;
	char name[200];
	size_t i, k, len;
	bool ok;

	for (i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		const struct hostile *c = &hostiles[i];

		len = c->len ? c->len : strlen(c->bytes);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, c->bytes, len < sizeof(buf) ? len : sizeof(buf));
		st = pp_parse(buf, len, &h);
		snprintf(name, sizeof(name), "%s: %s", c->name, pp_status_str(c->want));
		if (!ASSERT_EQ(st, c->want, name)) {
			tap_diag("  error: %s", h.error ? h.error : "(none)");
			continue;
		}
		if (st == PP_BAD) {
			snprintf(name, sizeof(name), "%s: reason names it", c->name);
			if (!ASSERT_TRUE(h.error && strstr(h.error, c->error), name))
				tap_diag("  got \"%s\"", h.error ? h.error : "(null)");
			ASSERT_TRUE(!h.len && !h.has_addr && !h.version,
				    "  nothing but the reason filled in");
		} else {
			snprintf(name, sizeof(name), "%s: %zu header bytes", c->name, c->hdr_len);
			ASSERT_EQ(h.len, c->hdr_len, name);
		}
		/* byte at a time: every prefix is NEED_MORE or the very same answer */
		ok = true;
		for (k = 0; k < len && ok; k++) {
			pst = pp_parse(buf, k, &p);
			ok = pst == PP_NEED_MORE ||
			     (pst == st && (st != PP_BAD || !strcmp(p.error, h.error)) &&
			      (st != PP_OK || p.len == h.len));
		}
		snprintf(name, sizeof(name), "%s: prefixes agree", c->name);
		if (!ASSERT_TRUE(ok, name))
			tap_diag("  prefix of %zu bytes disagrees", k - 1);
	}
}

/* The addresses of a v1 or v2 header as parsed: family kept, ports exact. */
static void test_addresses(void)
{
	struct pp_header h;
	const char *v2 = SIG "\x21\x11\x00\x0c\xc0\x00\x02\x07\xc6\x33\x64\x01\xff\xff\x00\x00";

	if (ASSERT_EQ(pp_parse((const uint8_t *)v2, 28, &h), PP_OK, "v2 TCP4 ports 65535, 0")) {
		addr_is(&h.src, "192.0.2.7:65535", "v2 source");
		addr_is(&h.dst, "198.51.100.1:0", "v2 destination, port 0");
	}
	if (ASSERT_EQ(pp_parse((const uint8_t *)"PROXY TCP6 2001:db8::7 ::ffff:1.2.3.4 1 2\r\n",
			       43, &h),
		      PP_OK, "v1 TCP6 with a mapped destination")) {
		addr_is(&h.src, "[2001:db8::7]:1", "v1 TCP6 source");
		addr_is(&h.dst, "[::ffff:1.2.3.4]:2", "v1 TCP6 mapped destination stays IPv6");
	}
	ASSERT_EQ(pp_parse((const uint8_t *)"", 0, &h), PP_NEED_MORE, "nothing yet: PP_NEED_MORE");
	ASSERT_STREQ(pp_status_str(PP_NEED_MORE), "need-more", "pp_status_str");
}

/* A health check's header: v1 UNKNOWN, v2 LOCAL; sockmux's own parser takes both, addressless. */
static void test_local(void)
{
	uint8_t buf[64];
	struct pp_header h;
	size_t len = 0;

	ASSERT_EQ(pp_encode_local(1, buf, sizeof(buf), &len), 0, "v1 local header");
	ASSERT_TRUE(len == 15 && !memcmp(buf, "PROXY UNKNOWN\r\n", 15), "... is PROXY UNKNOWN");
	ASSERT_TRUE(pp_parse(buf, len, &h) == PP_OK && !h.has_addr && h.len == len,
		    "... parses, with no address");
	ASSERT_EQ(pp_encode_local(2, buf, sizeof(buf), &len), 0, "v2 local header");
	ASSERT_TRUE(len == 16 && buf[12] == 0x20 && buf[13] == 0 && !buf[14] && !buf[15],
		    "... version 2, command LOCAL, UNSPEC, no payload");
	ASSERT_TRUE(pp_parse(buf, len, &h) == PP_OK && h.local && !h.has_addr && h.len == 16,
		    "... parses as LOCAL, with no address");
	ASSERT_EQ(pp_encode_local(2, buf, 15, &len), -ENOSPC, "a buffer too small: -ENOSPC");
	ASSERT_EQ(pp_encode_local(3, buf, sizeof(buf), &len), -EINVAL, "version 3: -EINVAL");
}

int main(void)
{
	tap_plan_start();
	test_local();
	test_crc32c();
	test_v2_encode_bytes();
	test_v2_encode_v6();
	test_families();
	test_v1_encode();
	test_round_trip();
	test_unique_id_limit();
	test_captures();
	test_hostile();
	test_addresses();
	return tap_done();
}
