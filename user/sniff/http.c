// SPDX-License-Identifier: MIT
/*
 * http.c - the HTTP sniffer: an HTTP/1.x request (RFC 9112 3 and 5), its Host header as the
 * name the client asked for.
 *
 * The request line is a method (upper-case letters, '-' and '_', up to 32: GET, PROPFIND, ...),
 * SP, a request-target, SP, "HTTP/1." and a digit, CR LF (or a bare LF, which servers
 * accept). Anything else is not HTTP/1.x: SNIFF_NO, at the first byte that shows it ("PRI *
 * HTTP/2.0", the HTTP/2 preface, another version, a control byte in the target, no end of the
 * line within HTTP_SNIFF_MAX bytes), so that such bytes still reach a route for unknown ones.
 * An absolute-form target (http://authority/...) names its authority, which wins over Host.
 *
 * Then the header lines, up to the first Host field (case-insensitive name) or the blank line
 * that ends them. The verdict on a Host line waits for the first byte of the next line: a
 * Host folded onto it (obs-fold) names nothing. The name is the Host value without OWS and
 * port, by hostname.h's rule (lowercased, one trailing dot dropped), or for an IPv6 literal
 * the address between the brackets, as inet_ntop() writes it. A request without Host, with an
 * empty one, or with one that is no host name or IP literal is still HTTP: SNIFF_OK without a
 * name. So is one whose headers hold a malformed line (a bare CR or LF, a control byte, a name
 * that is not a token or has space before its colon) before any Host: nothing after it is
 * trusted. Only the first Host is read (a second one makes the request bad for the backend).
 *
 * Cap: HTTP_SNIFF_MAX bytes. A request line that does not end within them is SNIFF_NO;
 * headers that neither end nor hold a Host within them are SNIFF_OK without a name. No byte at
 * or past the cap is ever looked at, nor any after the verdict.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "sniff/sniff.h"

#define HTTP_SNIFF_MAX 8192

/*
 * A method is a token (RFC 9110 9.1); every one in use (GET, PROPFIND, REPORT, MKCOL,
 * VERSION-CONTROL, ...) is upper-case letters, '-' and '_', which also keeps other
 * protocols' first words out ("SSH-2.0-" fails at its digit).
 */
#define HTTP_METHOD_MAX 32

static bool http_method_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* "METHOD SP": SNIFF_OK with *pos after the SP, or whether it may still come. */
static enum sniff_status http_method(const uint8_t *buf, size_t len, size_t *pos)
{
	for (size_t i = 0; i < len && i <= HTTP_METHOD_MAX; i++) {
		if (buf[i] == ' ' && i > 0) {
			*pos = i + 1;
			return SNIFF_OK;
		}
		if (!http_method_char(buf[i]))
			return SNIFF_NO;
	}
	return len > HTTP_METHOD_MAX ? SNIFF_NO : SNIFF_NEED_MORE;
}

/*
 * After "METHOD SP": request-target SP "HTTP/1." DIGIT CRLF (or a bare LF, as servers accept);
 * *pos ends after the LF, *target and *target_len give the request-target. Anything else is
 * not an HTTP/1.x request line: SNIFF_NO (its bytes still reach a route for unknown ones).
 */
static enum sniff_status http_request_line(const uint8_t *buf, size_t len, size_t *pos,
					   const uint8_t **target, size_t *target_len)
{
	static const char version[] = "HTTP/1.";
	size_t i = *pos, start = *pos, k;

	for (;; i++) {
		if (i >= HTTP_SNIFF_MAX)
			return SNIFF_NO;
		if (i >= len)
			return SNIFF_NEED_MORE;
		if (buf[i] == ' ')
			break;
		if (buf[i] < ' ' || buf[i] == 0x7f)
			return SNIFF_NO;
	}
	if (i == start)
		return SNIFF_NO;
	*target = buf + start;
	*target_len = i - start;
	for (i++, k = 0; k < sizeof(version) + 2; i++, k++) {
		if (i >= HTTP_SNIFF_MAX)
			return SNIFF_NO;
		if (i >= len)
			return SNIFF_NEED_MORE;
		if (k < sizeof(version) - 1 && buf[i] != version[k])
			return SNIFF_NO;
		if (k == sizeof(version) - 1 && (buf[i] < '0' || buf[i] > '9'))
			return SNIFF_NO;
		if (k == sizeof(version) && buf[i] == '\n') {
			i++;		/* a bare LF */
			break;
		}
		if (k == sizeof(version) && buf[i] != '\r')
			return SNIFF_NO;
		if (k == sizeof(version) + 1 && buf[i] != '\n')
			return SNIFF_NO;
	}
	*pos = i;
	return SNIFF_OK;
}

static bool http_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool http_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* ":" followed by 0 to 5 digits, at most 65535 (RFC 3986 port), or nothing at all. */
static bool http_port_ok(const uint8_t *p, size_t n)
{
	unsigned long v = 0;

	if (n == 0)
		return true;
	if (p[0] != ':' || n > 6)
		return false;
	for (size_t i = 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535;
}

/* "[v6]" with an optional port: the address as inet_ntop() writes it. */
static void http_ipv6_host(const uint8_t *v, size_t n, struct sniff_result *out)
{
	const uint8_t *close = memchr(v, ']', n);
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t alen;

	if (!close || !http_port_ok(close + 1, n - (size_t)(close + 1 - v)))
		return;
	alen = (size_t)(close - v) - 1;
	if (alen == 0 || alen >= sizeof(text))
		return;
	memcpy(text, v + 1, alen);
	text[alen] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1 ||
	    !inet_ntop(AF_INET6, &a, out->u.host, sizeof(out->u.host)))
		return;
	out->name = out->u.host;
	out->name_len = strlen(out->u.host);
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2): the name, if it is one. */
static void http_host(const uint8_t *v, size_t n, struct sniff_result *out)
{
	const uint8_t *colon;
	size_t host_len;

	if (n == 0)
		return;
	if (v[0] == '[') {
		http_ipv6_host(v, n, out);
		return;
	}
	colon = memchr(v, ':', n);
	host_len = colon ? (size_t)(colon - v) : n;
	if (http_port_ok(v + host_len, n - host_len))
		sniff_set_name(out, (const char *)v, host_len);
}

/*
 * A field line at [pos, lf) (lf: its LF). SNIFF_NO when it is malformed, SNIFF_OK with
 * *value / *value_len when it is a Host field, else SNIFF_NEED_MORE (go on to the next line).
 */
static enum sniff_status http_field(const uint8_t *buf, size_t pos, size_t lf,
				    const uint8_t **value, size_t *value_len)
{
	size_t i, colon, end;

	if (lf == pos || buf[lf - 1] != '\r')
		return SNIFF_NO;	/* a bare LF */
	end = lf - 1;
	for (i = pos; i < end; i++)
		if ((buf[i] < ' ' && buf[i] != '\t') || buf[i] == 0x7f)
			return SNIFF_NO;	/* a bare CR, NUL or other control byte */
	if (http_ows(buf[pos]))
		return SNIFF_NEED_MORE;	/* obs-fold of a field that is not Host: skipped */
	for (colon = pos; colon < end && buf[colon] != ':'; colon++)
		if (!http_tchar(buf[colon]))
			return SNIFF_NO;
	if (colon == pos || colon == end)
		return SNIFF_NO;
	if (colon - pos != 4 || strncasecmp((const char *)buf + pos, "host", 4))
		return SNIFF_NEED_MORE;
	for (i = colon + 1; i < end && http_ows(buf[i]); i++)
		;
	while (end > i && http_ows(buf[end - 1]))
		end--;
	*value = buf + i;
	*value_len = end - i;
	return SNIFF_OK;
}

/* Header lines from pos: the first Host, if any, before their end or the cap. */
static enum sniff_status http_headers(const uint8_t *buf, size_t len, size_t pos,
				      struct sniff_result *out)
{
	size_t end = len < HTTP_SNIFF_MAX ? len : HTTP_SNIFF_MAX;
	const uint8_t *lf, *value;
	enum sniff_status st;
	size_t value_len;

	for (;;) {
		lf = pos < end ? memchr(buf + pos, '\n', end - pos) : NULL;
		if (!lf)
			return end == HTTP_SNIFF_MAX ? SNIFF_OK : SNIFF_NEED_MORE;
		if ((size_t)(lf - buf) == pos + 1 && buf[pos] == '\r')
			return SNIFF_OK;	/* the blank line: no Host */
		st = http_field(buf, pos, (size_t)(lf - buf), &value, &value_len);
		if (st == SNIFF_NO)
			return SNIFF_OK;	/* malformed: nothing after it is trusted */
		pos = (size_t)(lf - buf) + 1;
		if (st == SNIFF_NEED_MORE)
			continue;
		/* a Host line: folded onto the next one, it names nothing */
		if (pos >= end && end < HTTP_SNIFF_MAX)
			return SNIFF_NEED_MORE;
		if (pos >= end || !http_ows(buf[pos]))
			http_host(value, value_len, out);
		return SNIFF_OK;
	}
}

/*
 * An absolute-form request-target ("http://authority/path", RFC 9112 3.2.2): its authority
 * is the name asked for, whatever Host says. False for any other form.
 */
static bool http_absolute_form(const uint8_t *t, size_t n, struct sniff_result *out)
{
	size_t skip, end;

	if (n > 7 && !strncasecmp((const char *)t, "http://", 7))
		skip = 7;
	else if (n > 8 && !strncasecmp((const char *)t, "https://", 8))
		skip = 8;
	else
		return false;
	for (end = skip; end < n && t[end] != '/' && t[end] != '?' && t[end] != '#'; end++)
		;
	/* userinfo@ is not a host name: http_host() then finds none */
	http_host(t + skip, end - skip, out);
	return true;
}

static enum sniff_status http_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	const uint8_t *target = NULL;
	size_t pos, target_len = 0;
	enum sniff_status st;

	if (len == 0)
		return SNIFF_NEED_MORE;
	st = http_method(buf, len, &pos);
	if (st == SNIFF_OK)
		st = http_request_line(buf, len, &pos, &target, &target_len);
	if (st != SNIFF_OK)
		return st;
	if (http_absolute_form(target, target_len, out))
		return SNIFF_OK;
	return http_headers(buf, len, pos, out);
}

const struct sniffer http_sniffer = {
	.name = "http",
	.proto = PROTO_HTTP,
	.parse = http_parse,
};
