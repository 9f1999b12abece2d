// SPDX-License-Identifier: MIT
/*
 * test_sniff.c - the sniffer table (user/sniff/sniffers.c) on real first bytes, the captures
 * of tests/fixtures/sniff/ and tests/fixtures/hello/: each is claimed by exactly its sniffer,
 * with the name its client asked for; through its sniffer and through sniff(), every prefix
 * needs more up to the byte where the sniffer decides, and from there on gets the same
 * verdict; bytes after a capture change nothing; no other sniffer claims it or any prefix of
 * it. Then what sniff() says of bytes no sniffer knows, of a malformed opener, and which
 * sniffers may still match (out->maybe). Each sniffer's own cases are in test_sniff_*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff/sniff.h"
#include "tap.h"

extern const struct sniffer tls_sniffer, ssh_sniffer, http_sniffer, xmpp_sniffer,
	openvpn_sniffer, socks5_sniffer, socks4_sniffer;

static const struct sniffer *const all[] = {
	&tls_sniffer, &ssh_sniffer, &http_sniffer, &xmpp_sniffer,
	&openvpn_sniffer, &socks5_sniffer, &socks4_sniffer,
};
#define N_SNIFFERS (sizeof(all) / sizeof(all[0]))

struct capture {
	const char *file;	/* under tests/fixtures/ */
	enum sniff_proto proto;
	const char *name;	/* NULL: none */
	size_t decided_at;	/* shortest prefix with the verdict; 0: the whole file */
	bool ech;
};

static const struct capture captures[] = {
	{ "sniff/ssh-openssh.bin", PROTO_SSH, NULL, 8, false },
	{ "sniff/http-curl.bin", PROTO_HTTP, "app1.example.com", 56, false },
	{ "sniff/http10-nohost.bin", PROTO_HTTP, NULL, 0, false },
	{ "sniff/http-curl-ipv6.bin", PROTO_HTTP, "::1", 35, false },
	{ "sniff/xmpp-slixmpp.bin", PROTO_XMPP, "example.org", 0, false },
	{ "sniff/xmpp-s2s-prosody.bin", PROTO_XMPP, "example.net", 0, false },
	{ "sniff/openvpn-client.bin", PROTO_OPENVPN, NULL, 0, false },
	{ "sniff/openvpn-client-tlsauth.bin", PROTO_OPENVPN, NULL, 0, false },
	{ "sniff/openvpn-client-tlscrypt.bin", PROTO_OPENVPN, NULL, 0, false },
	{ "sniff/openvpn-client-tlscryptv2.bin", PROTO_OPENVPN, NULL, 0, false },
	{ "sniff/socks5-curl.bin", PROTO_SOCKS5, NULL, 0, false },
	{ "sniff/socks4-curl.bin", PROTO_SOCKS4, NULL, 0, false },
	{ "sniff/socks4a-curl.bin", PROTO_SOCKS4, "app1.example.com", 0, false },
	{ "hello/openssl-xmpp.bin", PROTO_TLS, "example.org", 0, false },
	{ "hello/openssl-h2.bin", PROTO_TLS, "www.example.org", 0, false },
	{ "hello/openssl-nosni.bin", PROTO_TLS, NULL, 0, false },
	{ "hello/curl.bin", PROTO_TLS, "example.org", 0, false },
	{ "hello/chromium.bin", PROTO_TLS, "chat.example.org", 0, true },
	{ "hello/sslv2.bin", PROTO_TLS, NULL, 0, false },
};

static uint8_t buf[40000];

static size_t load(const char *file, size_t room)
{
	char path[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, file);
	f = fopen(path, "rb");
	if (f) {
		n = fread(buf, 1, room, f);
		fclose(f);
	}
	return n;
}

static bool same_name(const struct sniff_result *r, const char *want)
{
	if (!want)
		return !r->name && !r->name_len;
	return r->name && r->name_len == strlen(want) && !strcmp(r->name, want);
}

static const struct sniffer *sniffer_of(enum sniff_proto proto)
{
	for (size_t i = 0; i < N_SNIFFERS; i++)
		if (all[i]->proto == proto)
			return all[i];
	return NULL;
}

/* Its sniffer and sniff() on every prefix: need more below at, the verdict from at on. */
static void test_prefixes(const struct capture *c, size_t n, size_t at)
{
	const struct sniffer *s = sniffer_of(c->proto);
	size_t i, wrong = 0, wrong_table = 0, first = 0, first_table = 0;
	struct sniff_result r;
	enum sniff_status st;

	for (i = 0; i <= n; i++) {
		memset(&r, 0, sizeof(r));
		st = s->parse(buf, i, &r);
		if (i < at ? st != SNIFF_NEED_MORE : st != SNIFF_OK || !same_name(&r, c->name))
			first = wrong++ ? first : i;
		st = sniff(buf, i, &r);
		if (i < at ? st != SNIFF_NEED_MORE || !(r.maybe & 1u << c->proto) :
			     st != SNIFF_OK || r.proto != c->proto || !same_name(&r, c->name))
			first_table = wrong_table++ ? first_table : i;
	}
	if (!tap_result(wrong == 0, "%s: %s needs more below byte %zu, says the same after",
			c->file, s->name, at))
		tap_diag("  %zu prefixes wrong, the first of %zu bytes", wrong, first);
	if (!tap_result(wrong_table == 0, "%s: so does sniff()", c->file))
		tap_diag("  %zu prefixes wrong, the first of %zu bytes", wrong_table, first_table);
}

/* No other sniffer claims the capture, whole or any prefix of it. */
static void test_others(const struct capture *c, size_t n)
{
	struct sniff_result r;
	enum sniff_status st;
	size_t i, j, claimed;

	for (j = 0; j < N_SNIFFERS; j++) {
		if (all[j]->proto == c->proto)
			continue;
		claimed = 0;
		for (i = 0; i <= n; i++) {
			st = all[j]->parse(buf, i, &r);
			if (st == SNIFF_OK || st == SNIFF_BAD || (i == n && st != SNIFF_NO))
				claimed++;
		}
		tap_result(claimed == 0, "%s: not %s's, nor any prefix", c->file, all[j]->name);
	}
}

static void test_capture(const struct capture *c)
{
	struct sniff_result r;
	size_t n, at;

	n = load(c->file, sizeof(buf) - 64);
	if (!tap_result(n > 0, "%s: loaded", c->file))
		return;
	at = c->decided_at ? c->decided_at : n;
	tap_result(sniff(buf, n, &r) == SNIFF_OK && r.proto == c->proto,
		   "%s: sniff() says %s", c->file, sniff_proto_name(c->proto));
	if (!tap_result(same_name(&r, c->name), "%s: name %s", c->file,
			c->name ? c->name : "none"))
		tap_diag("  got \"%.*s\"", (int)r.name_len, r.name ? r.name : "(null)");
	tap_result(r.ech == c->ech, "%s: ech %d", c->file, c->ech);
	test_prefixes(c, n, at);

	/* bytes after it are never looked at */
	memset(buf + n, 0xff, 32);
	memcpy(buf + n + 32, "\r\n\r\n\0\0\0\0<>'\"", 12);
	tap_result(sniff(buf, n + 44, &r) == SNIFF_OK && r.proto == c->proto &&
		   same_name(&r, c->name), "%s: the same with 44 bytes after it", c->file);
	test_others(c, n);
}

static void test_table(void)
{
	static const char *const names[] = { "unknown", "timeout", "tls", "ssh", "http", "xmpp",
					     "openvpn", "socks5", "socks4" };
	struct sniff_result r;
	int p;

	for (p = 0; p < PROTO__COUNT; p++) {
		if (!ASSERT_STREQ(sniff_proto_name((enum sniff_proto)p), names[p],
				  "sniff_proto_name()"))
			break;
		if (!ASSERT_EQ(sniff_proto_by_name(names[p]), p, "sniff_proto_by_name()"))
			break;
	}
	ASSERT_EQ(p, PROTO__COUNT, "every protocol has its name, and back");
	ASSERT_EQ(sniff_proto_by_name("rdp"), -1, "an unknown protocol name: -1");
	ASSERT_EQ(sizeof(all) / sizeof(all[0]), PROTO__COUNT - 2, "a sniffer per protocol");

	/* as hello.c asks before any byte came, to know which protocols may still come */
	ASSERT_EQ(sniff(NULL, 0, &r), SNIFF_NEED_MORE, "no bytes yet (NULL, 0): need more");
	ASSERT_EQ(r.maybe, (1u << PROTO__COUNT) - (1u << PROTO_TLS), "every sniffer may match");
	ASSERT_EQ(sniff((const uint8_t *)"S", 1, &r), SNIFF_NEED_MORE, "\"S\": need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_SSH | 1u << PROTO_HTTP,
		  "\"S\": ssh, or http (SEARCH, ...)");
	ASSERT_EQ(sniff((const uint8_t *)"P", 1, &r), SNIFF_NEED_MORE, "\"P\": need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_HTTP, "\"P\": only http may match (POST, PUT, PATCH)");
	ASSERT_EQ(sniff((const uint8_t *)"\x04\x01", 2, &r), SNIFF_NEED_MORE, "04 01: need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_SOCKS4, "04 01: socks4 (openvpn leaves 1025 to it)");
	ASSERT_EQ(sniff((const uint8_t *)"\x04\x00", 2, &r), SNIFF_NEED_MORE, "04 00: need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_OPENVPN, "04 00: openvpn may match (length 1024)");
	ASSERT_EQ(sniff((const uint8_t *)"\x16\x03", 2, &r), SNIFF_NEED_MORE, "16 03: need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_TLS, "16 03: only tls may match");
	ASSERT_EQ(sniff((const uint8_t *)"<", 1, &r), SNIFF_NEED_MORE, "\"<\": need more");
	ASSERT_EQ(r.maybe, 1u << PROTO_XMPP, "\"<\": only xmpp may match");

	ASSERT_EQ(sniff((const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, &r), SNIFF_NO,
		  "the HTTP/2 preface: no sniffer knows it");
	ASSERT_EQ(r.proto, PROTO_UNKNOWN, "unknown");
	ASSERT_TRUE(!r.name && !r.alpn && !r.maybe, "nothing found in unknown bytes");
	ASSERT_EQ(sniff((const uint8_t *)"\x03\x00\x00\x13\x0e\xe0", 6, &r), SNIFF_NO,
		  "an RDP (TPKT) opener: no sniffer knows it");

	ASSERT_EQ(sniff((const uint8_t *)"GET / HTTP/2.0\r\n", 16, &r), SNIFF_NO,
		  "GET with another version: not HTTP/1.x, unknown (routes for unknown take it)");
	ASSERT_EQ(r.proto, PROTO_UNKNOWN, "... as unknown");
}

/* A ClientHello that is malformed: bad, with a reason, as TLS. */
static void test_bad_hello(void)
{
	struct sniff_result r;
	size_t n;

	n = load("hello/openssl-xmpp.bin", sizeof(buf));
	if (!ASSERT_TRUE(n > 100, "openssl-xmpp.bin loaded"))
		return;
	ASSERT_TRUE(sniff(buf, n, &r) == SNIFF_OK && r.alpn && r.alpn_len > 0 &&
		    r.alpn == r.u.tls.alpn, "a ClientHello: its ALPN list is kept");
	buf[5] = 2;	/* a ServerHello where the ClientHello should be */
	ASSERT_EQ(sniff(buf, n, &r), SNIFF_BAD, "a malformed hello: bad");
	ASSERT_TRUE(r.error && *r.error, "with a reason");
	ASSERT_EQ(r.proto, PROTO_TLS, "and the protocol it claimed");
}

int main(void)
{
	tap_plan_start();
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		test_capture(&captures[i]);
	test_table();
	test_bad_hello();
	return tap_done();
}
