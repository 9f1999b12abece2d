// SPDX-License-Identifier: MIT
/*
 * test_sniff_socks.c - the socks5 and socks4 sniffers (user/sniff/socks5.c, socks4.c):
 * greetings and requests as clients send them, the byte where each decides, each field made
 * wrong in turn, SOCKS4a names in every shape, and the caps (255 methods, 255-byte USERID and
 * name). Every case is also run on each of its prefixes, and with bytes after it: they must
 * need more or get the same verdict and name.
 */
#include <stdio.h>
#include <string.h>

#include "sniff/sniff.h"
#include "sniff_prefix.h"
#include "tap.h"

extern const struct sniffer socks5_sniffer;
extern const struct sniffer socks4_sniffer;

/*
 * s on the len bytes at p says want, with the name want_name (NULL: none); below at bytes it
 * needs more, from at on it says the same, with up to 8 NULs after the input too (but for
 * want SNIFF_NEED_MORE, which a NUL could end).
 */
static bool check_at(const struct sniffer *s, const char *what, const void *p, size_t len,
		     size_t at, enum sniff_status want, const char *want_name)
{
	static uint8_t b[1024];
	struct sniff_result r;
	enum sniff_status st;
	size_t i, bad_prefix = 0;
	bool ok;

	memcpy(b, p, len);
	memset(b + len, 0, 8);	/* a NUL after it, where one could end a field */
	for (i = 0; i <= len + (want == SNIFF_NEED_MORE ? 0 : 8) && !bad_prefix; i++) {
		memset(&r, 0, sizeof(r));
		st = s->parse(b, i, &r);
		if (i < at ? st != SNIFF_NEED_MORE :
		    st != want || (want == SNIFF_OK && !sniff_same_name(&r, want_name)))
			bad_prefix = i ? i : SIZE_MAX;
	}
	memset(&r, 0, sizeof(r));
	st = s->parse(b, len, &r);
	ok = st == want && !bad_prefix && (want != SNIFF_OK || sniff_same_name(&r, want_name));
	tap_result(ok, "%s: %s", s->name, what);
	if (!ok)
		tap_diag("  got %s, name \"%s\", expected %s, name \"%s\"; wrong prefix: %zu",
			 sniff_st_str(st), r.name ? r.name : "(none)", sniff_st_str(want),
			 want_name ? want_name : "(none)", bad_prefix);
	return ok;
}

#define CHECK_AT(s, what, lit, at, want, name) \
	check_at(s, what, lit, sizeof(lit) - 1, at, want, name)

static void test_socks5(void)
{
	const struct sniffer *s = &socks5_sniffer;
	static uint8_t g[300];

	CHECK_AT(s, "curl's greeting: ok at byte 4", "\x05\x02\x00\x01", 4, SNIFF_OK, NULL);
	CHECK_AT(s, "no authentication only: ok at byte 3", "\x05\x01\x00", 3, SNIFF_OK, NULL);
	CHECK_AT(s, "all three methods: ok", "\x05\x03\x00\x01\x02", 5, SNIFF_OK, NULL);
	CHECK_AT(s, "a method twice: ok", "\x05\x02\x02\x02", 4, SNIFF_OK, NULL);
	CHECK_AT(s, "a request sent with the greeting: ok, not looked at",
		 "\x05\x01\x00\x05\x01\x00\x03\x0b" "example.org\x01\xbb", 3, SNIFF_OK, NULL);
	CHECK_AT(s, "no methods: no at byte 2", "\x05\x00", 2, SNIFF_NO, NULL);
	CHECK_AT(s, "method 3 (CHAP): no at byte 3", "\x05\x01\x03", 3, SNIFF_NO, NULL);
	CHECK_AT(s, "method 0xff: no at byte 4", "\x05\x02\x00\xff", 4, SNIFF_NO, NULL);
	CHECK_AT(s, "method 0x80 (private): no", "\x05\x01\x80", 3, SNIFF_NO, NULL);
	CHECK_AT(s, "version 4: no at byte 1", "\x04\x01\x00", 1, SNIFF_NO, NULL);
	CHECK_AT(s, "an HTTP request: no at byte 1", "GET / HTTP/1.1\r\n", 1, SNIFF_NO, NULL);
	CHECK_AT(s, "two of three methods: need more", "\x05\x03\x00\x01", 5, SNIFF_NEED_MORE,
		 NULL);

	/* the cap: 255 methods, 257 bytes */
	g[0] = 5;
	g[1] = 255;
	for (size_t i = 0; i < 255; i++)
		g[2 + i] = (uint8_t)(i % 3);
	check_at(s, "255 methods: ok at byte 257", g, 257, 257, SNIFF_OK, NULL);
	g[256] = 3;
	check_at(s, "255 methods, the last one 3: no at byte 257", g, 257, 257, SNIFF_NO, NULL);
}

static void test_socks4(void)
{
	const struct sniffer *s = &socks4_sniffer;
	static char req[1024];
	size_t n;

	CHECK_AT(s, "curl's CONNECT: ok at its NUL", "\x04\x01\x1f\x90\x7f\x00\x00\x01\x00", 9,
		 SNIFF_OK, NULL);
	CHECK_AT(s, "BIND: ok", "\x04\x02\x1f\x90\x7f\x00\x00\x01\x00", 9, SNIFF_OK, NULL);
	CHECK_AT(s, "a USERID: ok at its NUL", "\x04\x01\x00\x50\xc0\x00\x02\x01" "alice\x00", 14,
		 SNIFF_OK, NULL);
	CHECK_AT(s, "a USERID with bytes over 0x7f: ok", "\x04\x01\x00\x50\xc0\x00\x02\x01"
		 "\xff\xfe\x00", 11, SNIFF_OK, NULL);
	CHECK_AT(s, "DSTIP 0.0.0.0 is not SOCKS4a: ok at USERID's NUL",
		 "\x04\x01\x00\x50\x00\x00\x00\x00\x00", 9, SNIFF_OK, NULL);
	CHECK_AT(s, "DSTIP 0.0.1.1 is not SOCKS4a", "\x04\x01\x00\x50\x00\x00\x01\x01\x00", 9,
		 SNIFF_OK, NULL);
	CHECK_AT(s, "SOCKS4a: the name", "\x04\x01\x1f\x90\x00\x00\x00\x01\x00"
		 "app1.example.com\x00", 26, SNIFF_OK, "app1.example.com");
	CHECK_AT(s, "SOCKS4a with a USERID: the name", "\x04\x01\x01\xbb\x00\x00\x00\xff"
		 "bob\x00" "a.example\x00", 22, SNIFF_OK, "a.example");
	CHECK_AT(s, "SOCKS4a: a name in capitals with a trailing dot",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00" "App1.Example.COM.\x00", 27, SNIFF_OK,
		 "app1.example.com");
	CHECK_AT(s, "SOCKS4a: an empty name: ok without one",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00", 10, SNIFF_OK, NULL);
	CHECK_AT(s, "SOCKS4a: a name with a space: ok without one",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00" "a example\x00", 19, SNIFF_OK, NULL);
	CHECK_AT(s, "SOCKS4a: an IP address as the name",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00" "192.0.2.1\x00", 19, SNIFF_OK,
		 "192.0.2.1");
	CHECK_AT(s, "SOCKS4a: the name not ended yet: need more",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00" "app1.exa", 18, SNIFF_NEED_MORE, NULL);
	CHECK_AT(s, "SOCKS4a: USERID ended, no name yet: need more",
		 "\x04\x01\x00\x50\x00\x00\x00\x01\x00", 10, SNIFF_NEED_MORE, NULL);
	CHECK_AT(s, "CD 3: no at byte 2", "\x04\x03\x00\x50\x7f\x00\x00\x01\x00", 2, SNIFF_NO,
		 NULL);
	CHECK_AT(s, "CD 0: no at byte 2", "\x04\x00\x00\x50\x7f\x00\x00\x01\x00", 2, SNIFF_NO,
		 NULL);
	CHECK_AT(s, "VN 5: no at byte 1", "\x05\x01\x00\x50\x7f\x00\x00\x01\x00", 1, SNIFF_NO,
		 NULL);
	CHECK_AT(s, "an OpenVPN length 04 00: no at byte 2", "\x04\x00\x50", 2, SNIFF_NO, NULL);
	CHECK_AT(s, "8 bytes, no USERID yet: need more", "\x04\x01\x00\x50\x7f\x00\x00\x01", 9,
		 SNIFF_NEED_MORE, NULL);

	/* the caps: USERID and name of 255 bytes and a NUL */
	memcpy(req, "\x04\x01\x00\x50\x7f\x00\x00\x01", 8);
	memset(req + 8, 'u', 255);
	req[8 + 255] = '\0';
	check_at(s, "a 255-byte USERID: ok", req, 264, 264, SNIFF_OK, NULL);
	req[8 + 255] = 'u';
	check_at(s, "a USERID of 256 bytes without a NUL: no at byte 264", req, 264, 264,
		 SNIFF_NO, NULL);
	/* SOCKS4a: USERID "u", then four labels of 62 bytes (251 bytes with their dots) */
	memcpy(req, "\x04\x01\x00\x50\x00\x00\x00\x01" "u\x00", 10);
	n = 10;
	for (int i = 0; i < 4; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%s%.62d", i ? "." : "", 0);
	memcpy(req + n, ".a", 3);
	check_at(s, "a 253-byte name: the name", req, n + 3, n + 3, SNIFF_OK, req + 10);
	memcpy(req + n, ".abc", 5);
	check_at(s, "a 255-byte name: ok, without a name (over 253)", req, n + 5, n + 5,
		 SNIFF_OK, NULL);
	memcpy(req + n, ".abcd", 5);
	check_at(s, "a name of 256 bytes without a NUL: no at byte 266", req, n + 5, n + 5,
		 SNIFF_NO, NULL);
}

int main(void)
{
	tap_plan_start();
	test_socks5();
	test_socks4();
	return tap_done();
}
