// SPDX-License-Identifier: MIT
/*
 * test_sniff_http.c - the http sniffer (user/sniff/http.c) on hostile and odd requests: what
 * is not HTTP/1.x at its first wrong byte, what is malformed once it began like a request, the
 * Host header in every shape (case of its name, port, IPv6 and IPv4 literals, trailing dot,
 * NUL, folding, OWS, a second Host), malformed header lines, and the 8 KiB cap. Every case is
 * also run on each of its prefixes: they must need more or get the same verdict and name.
 */
#include <stdio.h>
#include <string.h>

#include "sniff/sniff.h"
#include "sniff_prefix.h"
#include "tap.h"

extern const struct sniffer http_sniffer;

#define CAP 8192

static bool check_at(const char *what, const void *p, size_t len, size_t at,
		     enum sniff_status want, const char *want_name)
{
	return sniff_check_prefixes(&http_sniffer, what, p, len, at, want, want_name);
}

/* check_at() on a string literal, NULs included */
#define CHECK_AT(what, lit, at, want, name) check_at(what, lit, sizeof(lit) - 1, at, want, name)

static bool check(const char *what, const char *s, enum sniff_status want, const char *name)
{
	return check_at(what, s, strlen(s), 0, want, name);
}

/* A request with these header lines (CR LF each) after its request line, and a blank line. */
static bool check_host(const char *what, const char *headers, const char *name)
{
	static char req[2 * CAP];

	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n%s\r\n", headers);
	return check(what, req, SNIFF_OK, name);
}

static void test_request_line(void)
{
	static const char *const methods[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
	};
	char req[128], what[128];

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\nHost: a.example\r\n\r\n", methods[i]);
		snprintf(what, sizeof(what), "%s: ok", methods[i]);
		check(what, req, SNIFF_OK, "a.example");
	}
	check("HTTP/1.0: ok", "GET / HTTP/1.0\r\n\r\n", SNIFF_OK, NULL);
	check("HTTP/1.9: ok (any digit)", "GET / HTTP/1.9\r\n\r\n", SNIFF_OK, NULL);
	check("CONNECT with an authority-form target",
	      "CONNECT app1.example.com:443 HTTP/1.1\r\nHost: app1.example.com:443\r\n\r\n",
	      SNIFF_OK, "app1.example.com");
	check("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", SNIFF_OK,
	      "a.example");
	check("absolute-form target: its authority is the name, not Host's (RFC 9112 3.2.2)",
	      "GET http://Other.Example:8080/x HTTP/1.1\r\nHost: a.example\r\n\r\n", SNIFF_OK,
	      "other.example");
	check("absolute-form https target, decided at the request line",
	      "GET https://b.example?q HTTP/1.1\r\n", SNIFF_OK, "b.example");
	check("absolute-form with userinfo: no name", "GET http://u@c.example/ HTTP/1.1\r\n",
	      SNIFF_OK, NULL);
	check("a target with bytes over 0x7f: ok", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", SNIFF_OK,
	      NULL);

	/* not HTTP/1.x, as soon as the first bytes cannot begin "METHOD SP" */
	CHECK_AT("the HTTP/2 preface: no at its version, byte 12",
		 "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 12, SNIFF_NO, NULL);
	CHECK_AT("a lowercase method: no at byte 1", "get / HTTP/1.1\r\n\r\n", 1, SNIFF_NO,
		 NULL);
	CHECK_AT("a digit in the method (an SSH banner): no at it", "SSH-2.0-x\r\n", 5, SNIFF_NO,
		 NULL);
	check("GETX, an unknown token: a method", "GETX / HTTP/1.1\r\nHost: a.example\r\n\r\n",
	      SNIFF_OK, "a.example");
	check("GE, a token: a method", "GE / HTTP/1.1\r\n\r\n", SNIFF_OK, NULL);
	CHECK_AT("a method over 32 characters: no at byte 33",
		 "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH / HTTP/1.1\r\n", 33, SNIFF_NO, NULL);
	CHECK_AT("a method then TAB: no at byte 4", "GET\t/ HTTP/1.1\r\n", 4, SNIFF_NO,
		 NULL);
	check("PROPFIND (WebDAV) by Host", "PROPFIND / HTTP/1.1\r\nHost: dav.example\r\n\r\n",
	      SNIFF_OK, "dav.example");
	check("REPORT (CalDAV) by Host", "REPORT /cal HTTP/1.1\r\nHost: cal.example\r\n\r\n",
	      SNIFF_OK, "cal.example");
	check("an SSH banner: no", "SSH-2.0-OpenSSH_9.2\r\n", SNIFF_NO, NULL);
	check("an empty line first: no", "\r\nGET / HTTP/1.1\r\n\r\n", SNIFF_NO, NULL);
	check("P, PO, POS: need more", "POS", SNIFF_NEED_MORE, NULL);
	check("GET and SP: need more", "GET ", SNIFF_NEED_MORE, NULL);

	/* began like a request, then not HTTP/1.x: not mine (a route for unknown takes it) */
	CHECK_AT("two SPs (an empty target): no at byte 5", "GET  / HTTP/1.1\r\n\r\n", 5,
		 SNIFF_NO, NULL);
	CHECK_AT("HTTP/0.9 (no version): no at the CR", "GET /\r\n\r\n", 6, SNIFF_NO, NULL);
	check("HTTP/2.0: no", "GET / HTTP/2.0\r\n\r\n", SNIFF_NO, NULL);
	check("http/1.1 in lowercase: no", "GET / http/1.1\r\n\r\n", SNIFF_NO, NULL);
	check("HTTP/1.x: no", "GET / HTTP/1.x\r\n\r\n", SNIFF_NO, NULL);
	check("HTTP/1.10: no", "GET / HTTP/1.10\r\n\r\n", SNIFF_NO, NULL);
	check("a bare LF after the version: http, as servers take it (its headers unread)",
	      "GET / HTTP/1.1\nHost: a.example\n\n", SNIFF_OK, NULL);
	check("CR CR: no", "GET / HTTP/1.1\r\r\n", SNIFF_NO, NULL);
	check("SP before the CR LF: no", "GET / HTTP/1.1 \r\n\r\n", SNIFF_NO, NULL);
	CHECK_AT("a NUL in the target: no", "GET /a\0b HTTP/1.1\r\n\r\n", 7, SNIFF_NO,
		 NULL);
	check("DEL in the target: no", "GET /a\x7f HTTP/1.1\r\n\r\n", SNIFF_NO, NULL);
	check("a TAB in the target: no", "GET /a\tb HTTP/1.1\r\n\r\n", SNIFF_NO, NULL);
}

static void test_host(void)
{
	static char name[300], hdr[400];

	check_host("Host: the name, port removed", "Host: app1.example.com:8080\r\n",
		   "app1.example.com");
	check_host("host: in lowercase", "host: a.example\r\n", "a.example");
	check_host("HOST: in capitals", "HOST: a.example\r\n", "a.example");
	check_host("hOsT: in mixed case", "hOsT: a.example\r\n", "a.example");
	check_host("a name in capitals with a trailing dot", "Host: App1.Example.COM.\r\n",
		   "app1.example.com");
	check_host("trailing dot and port", "Host: a.example.:443\r\n", "a.example");
	check_host("OWS around the value", "Host: \t a.example \t\r\n", "a.example");
	check_host("no OWS at all", "Host:a.example\r\n", "a.example");
	check_host("an empty port", "Host: a.example:\r\n", "a.example");
	check_host("port 65535", "Host: a.example:65535\r\n", "a.example");
	check_host("port 65536: no name", "Host: a.example:65536\r\n", NULL);
	check_host("port of 6 digits: no name", "Host: a.example:000080\r\n", NULL);
	check_host("port with a letter: no name", "Host: a.example:80a\r\n", NULL);
	check_host("two ports: no name", "Host: a.example:80:80\r\n", NULL);
	check_host("IPv4 literal", "Host: 192.0.2.1:80\r\n", "192.0.2.1");
	check_host("IPv6 literal with port", "Host: [2001:DB8::1]:443\r\n", "2001:db8::1");
	check_host("IPv6 literal without port", "Host: [::1]\r\n", "::1");
	check_host("IPv6 literal, long form", "Host: [2001:0db8:0000:0000:0000:0000:0000:0001]\r\n",
		   "2001:db8::1");
	check_host("IPv4-mapped IPv6 literal", "Host: [::ffff:192.0.2.1]\r\n",
		   "::ffff:192.0.2.1");
	check_host("IPv6 with a zone id: no name", "Host: [fe80::1%25eth0]\r\n", NULL);
	check_host("IPv6 without ]: no name", "Host: [::1\r\n", NULL);
	check_host("[]: no name", "Host: []\r\n", NULL);
	check_host("IPvFuture: no name", "Host: [v1.x]\r\n", NULL);
	check_host("IPv6 literal then junk: no name", "Host: [::1]x\r\n", NULL);
	check_host("IPv6 without brackets: no name", "Host: ::1\r\n", NULL);
	check_host("an empty Host: no name", "Host:\r\n", NULL);
	check_host("a Host of spaces: no name", "Host:    \r\n", NULL);
	check_host("only a port: no name", "Host: :80\r\n", NULL);
	check_host("a space inside: no name", "Host: a example\r\n", NULL);
	check_host("percent-encoded: no name", "Host: a%2eexample\r\n", NULL);
	check_host("UTF-8: no name", "Host: \xc3\xa9xample.org\r\n", NULL);
	check_host("an empty label: no name", "Host: a..example\r\n", NULL);
	check_host("only a dot: no name", "Host: .\r\n", NULL);
	check_host("userinfo: no name", "Host: user@a.example\r\n", NULL);
	CHECK_AT("a NUL in Host: ok without a name",
		 "GET / HTTP/1.1\r\nHost: a.exa\0mple.evil\r\n\r\n", 0, SNIFF_OK, NULL);
	check_host("a second Host: the first one", "Host: a.example\r\nHost: b.example\r\n",
		   "a.example");
	check_host("Host after other headers",
		   "User-Agent: x\r\nAccept: */*\r\nHost: a.example\r\n", "a.example");
	check_host("X-Host is not Host", "X-Host: x.example\r\nHost: a.example\r\n", "a.example");
	check_host("Hosts is not Host", "Hosts: x.example\r\n", NULL);

	memset(name, 'a', 253);
	memcpy(name + 60, ".", 1);
	memcpy(name + 120, ".", 1);
	memcpy(name + 180, ".", 1);
	memcpy(name + 240, ".", 1);
	name[253] = '\0';
	snprintf(hdr, sizeof(hdr), "Host: %s\r\n", name);
	check_host("a 253-byte name", hdr, name);
	snprintf(hdr, sizeof(hdr), "Host: %sa\r\n", name);
	check_host("a 254-byte name: no name", hdr, NULL);
}

static void test_headers(void)
{
	CHECK_AT("the verdict on Host waits for the next line's first byte",
		 "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 34, SNIFF_OK, "a.example");
	check("a Host line and nothing after it: need more",
	      "GET / HTTP/1.1\r\nHost: a.example\r\n", SNIFF_NEED_MORE, NULL);
	check("a Host line without its CR LF: need more", "GET / HTTP/1.1\r\nHost: a.example",
	      SNIFF_NEED_MORE, NULL);
	check_host("Host folded onto the next line: no name",
		   "Host: a.example\r\n b.example\r\n", NULL);
	check_host("Host folded with a TAB: no name", "Host: a.example\r\n\tb.example\r\n", NULL);
	check_host("another header folded before Host: skipped",
		   "X-A: 1\r\n 2\r\nHost: a.example\r\n", "a.example");
	check_host("a whitespace line right after the request line: skipped",
		   " junk\r\nHost: a.example\r\n", "a.example");
	check_host("a bare LF before Host: nothing after it trusted",
		   "X-A: 1\nHost: evil.example\r\n", NULL);
	check_host("a bare LF ending Host: no name", "Host: a.example\nX: y\r\n", NULL);
	check_host("a bare CR before Host: nothing after it trusted",
		   "X-A: 1\rHost: evil.example\r\n", NULL);
	CHECK_AT("a NUL in another header: nothing after it trusted",
		 "GET / HTTP/1.1\r\nX-A: a\0b\r\nHost: evil.example\r\n\r\n", 0, SNIFF_OK, NULL);
	check_host("space before the colon: not Host, nothing after it trusted",
		   "Host : a.example\r\nHost: b.example\r\n", NULL);
	check_host("a line without a colon: nothing after it trusted",
		   "Junk\r\nHost: a.example\r\n", NULL);
	check_host("a field name with a bad byte: nothing after it trusted",
		   "X(A): 1\r\nHost: a.example\r\n", NULL);
	check_host("a field value over 0x7f: fine", "X-A: \xc3\xa9\r\nHost: a.example\r\n",
		   "a.example");
	check("no header at all: ok, no name", "GET / HTTP/1.1\r\n\r\n", SNIFF_OK, NULL);
	check("headers without end: need more", "GET / HTTP/1.1\r\nAccept: */*\r\n",
	      SNIFF_NEED_MORE, NULL);
	check("a blank line of a bare LF: ok, no name", "GET / HTTP/1.1\r\n\nHost: a.example\r\n",
	      SNIFF_OK, NULL);
}

/* HTTP_SNIFF_MAX: 8 KiB, no byte past it looked at. */
static void test_cap(void)
{
	static char req[3 * CAP];
	size_t n;

	/* a request line that does not end within the cap */
	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'a', CAP + 100 - n);
	check_at("a request line over 8192 bytes: no at byte 8192", req, CAP + 100, CAP,
		 SNIFF_NO, NULL);
	memcpy(req + CAP - 11, " HTTP/1.1\r\n", 11);
	check_at("a request line ending at byte 8192: ok at its end, no name", req, CAP + 100,
		 CAP, SNIFF_OK, NULL);

	/* headers that neither end nor name a Host within the cap */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
	while (n < CAP + 200)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-Pad: %080d\r\n", 0);
	n += (size_t)snprintf(req + n, sizeof(req) - n, "Host: a.example\r\n\r\n");
	check_at("headers past 8192 bytes, Host after: ok at byte 8192, no name", req, n, CAP,
		 SNIFF_OK, NULL);

	/* Host just within it */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
	while (n < CAP - 200)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-Pad: %080d\r\n", 0);
	n += (size_t)snprintf(req + n, sizeof(req) - n, "Host: a.example\r\n\r\n");
	check("Host before byte 8192: its name", req, SNIFF_OK, "a.example");

	/* a Host line whose CR LF ends at byte 8192 exactly: the name, no byte after it read */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Pad: ");
	memset(req + n, 'p', CAP - n - 19);
	memcpy(req + CAP - 19, "\r\nHost: a.example\r\n", 19);
	memcpy(req + CAP, " folded\r\n\r\n", 11);
	check_at("a Host line ending at byte 8192: its name, the byte after it unread", req,
		 CAP + 11, CAP, SNIFF_OK, "a.example");
}

int main(void)
{
	tap_plan_start();
	test_request_line();
	test_host();
	test_headers();
	test_cap();
	return tap_done();
}
