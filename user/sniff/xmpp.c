// SPDX-License-Identifier: MIT
/*
 * xmpp.c - the XMPP sniffer: the XML stream header a client or a server opens with (RFC 6120
 * 4.2, 4.7, 11), its `to` attribute as the name asked for.
 *
 * Recognised: an optional XML declaration (`<?xml version='1.x'` with optional encoding,
 * UTF-8 only, and standalone, at byte 0), whitespace, then the start tag of the stream
 * element, `<P:stream ...>` with any prefix P that the tag binds to
 * http://etherx.jabber.org/streams (`xmlns:P='...'`) and a default namespace (`xmlns`) of
 * jabber:client or jabber:server. Attribute values are quoted with ' or ", whitespace may
 * stand wherever XML allows it, and references (&amp; &lt; &gt; &apos; &quot; &#N; &#xN;) are
 * decoded. The verdict comes at the tag's `>`: SNIFF_OK, with the name from `to` by
 * hostname.h's rule (none when absent or not a host name), or SNIFF_NO as soon as the bytes
 * cannot be such a header: not XML, not well-formed where it matters (an unknown entity, `<`
 * in a value, a duplicate xmlns, xmlns:P or to), another namespace, an empty-element
 * `<stream:stream/>`, a comment or processing instruction (RFC 6120 11.1 forbids them).
 * Never SNIFF_BAD.
 *
 * Cap: XMPP_SNIFF_MAX bytes. A header that has not ended within them is SNIFF_NO; no byte
 * at or past the cap is looked at, nor any after the `>`.
 */
#include <string.h>
#include <strings.h>

#include "sniff/sniff.h"

#define XMPP_SNIFF_MAX 4096
#define XMPP_STREAMS_NS "http://etherx.jabber.org/streams"
#define XMPP_VALUE_MAX 256	/* enough for a host name and every namespace compared */

/* A cursor over the bytes peeked so far, at most XMPP_SNIFF_MAX of them. */
struct xml_reader {
	const uint8_t *buf;
	size_t len;
	bool capped;		/* len was cut to the cap: running out is the end */
	size_t pos;
};

struct xml_attr {
	size_t name;		/* offset of the name in buf */
	size_t name_len;
	char value[XMPP_VALUE_MAX];	/* decoded; a non-ASCII character is one byte 0xff */
	size_t value_len;
	bool too_long;		/* value[] holds only its start */
};

/* The stream tag's attributes that matter, and its prefix. */
struct xmpp_tag {
	size_t prefix;
	size_t prefix_len;
	bool has_default_ns, has_streams_ns, has_to, to_too_long;
	char to[XMPP_VALUE_MAX];
	size_t to_len;
};

/* SNIFF_OK when the byte at pos is there; past the cap, SNIFF_NO. */
static enum sniff_status xr_need(const struct xml_reader *rd)
{
	if (rd->pos < rd->len)
		return SNIFF_OK;
	return rd->capped ? SNIFF_NO : SNIFF_NEED_MORE;
}

static bool xml_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool xml_name_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       c >= 0x80;
}

static bool xml_name_char(uint8_t c)
{
	return xml_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Skips whitespace; SNIFF_OK with the next byte there, *n the whitespace bytes skipped. */
static enum sniff_status xr_space(struct xml_reader *rd, size_t *n)
{
	enum sniff_status st;
	size_t start = rd->pos;

	while ((st = xr_need(rd)) == SNIFF_OK && xml_space(rd->buf[rd->pos]))
		rd->pos++;
	*n = rd->pos - start;
	return st;
}

static enum sniff_status xr_literal(struct xml_reader *rd, const char *s)
{
	enum sniff_status st;

	for (; *s; s++, rd->pos++) {
		st = xr_need(rd);
		if (st != SNIFF_OK)
			return st;
		if (rd->buf[rd->pos] != (uint8_t)*s)
			return SNIFF_NO;
	}
	return SNIFF_OK;
}

/* A Name; SNIFF_OK with the byte after it there. */
static enum sniff_status xr_name(struct xml_reader *rd, size_t *start, size_t *len)
{
	enum sniff_status st;

	*start = rd->pos;
	st = xr_need(rd);
	if (st != SNIFF_OK)
		return st;
	if (!xml_name_start(rd->buf[rd->pos]))
		return SNIFF_NO;
	while ((st = xr_need(rd)) == SNIFF_OK && xml_name_char(rd->buf[rd->pos]))
		rd->pos++;
	*len = rd->pos - *start;
	return st;
}

static void attr_put(struct xml_attr *a, uint8_t c)
{
	if (a->value_len < sizeof(a->value))
		a->value[a->value_len++] = (char)c;
	else
		a->too_long = true;
}

/* A legal XML Char (XML 1.0 2.2) as a character reference may name it. */
static bool xml_char_ok(unsigned long c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* "&#N;" or "&#xN;" after the '#': the character. */
static enum sniff_status xr_char_ref(struct xml_reader *rd, unsigned long *c)
{
	enum sniff_status st;
	unsigned int base = 10, digits = 0, d;
	uint8_t b;

	*c = 0;
	st = xr_need(rd);
	if (st == SNIFF_OK && rd->buf[rd->pos] == 'x') {
		base = 16;
		rd->pos++;
	}
	while ((st = xr_need(rd)) == SNIFF_OK && rd->buf[rd->pos] != ';') {
		b = rd->buf[rd->pos++];
		if (b >= '0' && b <= '9')
			d = b - '0';
		else if (base == 16 && ((b | 0x20) >= 'a' && (b | 0x20) <= 'f'))
			d = (b | 0x20) - 'a' + 10;
		else
			return SNIFF_NO;
		if (++digits > 8)
			return SNIFF_NO;
		*c = *c * base + d;
	}
	if (st != SNIFF_OK)
		return st;
	rd->pos++;
	return digits && xml_char_ok(*c) ? SNIFF_OK : SNIFF_NO;
}

/* A reference after its '&' (XML 1.0 4.1, 4.6): the character it stands for. */
static enum sniff_status xr_reference(struct xml_reader *rd, unsigned long *c)
{
	static const struct {
		const char *name;
		char c;
	} predefined[] = {
		{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "apos", '\'' }, { "quot", '"' },
	};
	enum sniff_status st;
	size_t start, len;

	st = xr_need(rd);
	if (st != SNIFF_OK)
		return st;
	if (rd->buf[rd->pos] == '#') {
		rd->pos++;
		return xr_char_ref(rd, c);
	}
	st = xr_name(rd, &start, &len);
	if (st != SNIFF_OK)
		return st;
	if (rd->buf[rd->pos] != ';')
		return SNIFF_NO;
	rd->pos++;
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		if (strlen(predefined[i].name) == len &&
		    !memcmp(rd->buf + start, predefined[i].name, len)) {
			*c = (unsigned char)predefined[i].c;
			return SNIFF_OK;
		}
	}
	return SNIFF_NO;	/* no DTD may declare others (RFC 6120 11.1) */
}

/* A quoted attribute value, decoded into a->value; references only where allowed. */
static enum sniff_status xr_value(struct xml_reader *rd, struct xml_attr *a, bool references)
{
	enum sniff_status st;
	unsigned long c;
	uint8_t quote, b;

	st = xr_need(rd);
	if (st != SNIFF_OK)
		return st;
	quote = rd->buf[rd->pos++];
	if (quote != '\'' && quote != '"')
		return SNIFF_NO;
	for (;;) {
		st = xr_need(rd);
		if (st != SNIFF_OK)
			return st;
		b = rd->buf[rd->pos++];
		if (b == quote)
			return SNIFF_OK;
		if (b == '<' || (b == '&' && !references) || (b < 0x20 && !xml_space(b)))
			return SNIFF_NO;
		if (b != '&') {
			/* attribute-value normalization: whitespace is a space */
			attr_put(a, xml_space(b) ? ' ' : b);
			continue;
		}
		st = xr_reference(rd, &c);
		if (st != SNIFF_OK)
			return st;
		attr_put(a, c < 0x80 ? (uint8_t)c : 0xff);
	}
}

/* Name S? '=' S? value: an attribute, or a pseudo-attribute of the XML declaration. */
static enum sniff_status xr_attr(struct xml_reader *rd, struct xml_attr *a, bool references)
{
	enum sniff_status st;
	size_t n;

	memset(a, 0, sizeof(*a));
	st = xr_name(rd, &a->name, &a->name_len);
	if (st == SNIFF_OK)
		st = xr_space(rd, &n);
	if (st != SNIFF_OK)
		return st;
	if (rd->buf[rd->pos] != '=')
		return SNIFF_NO;
	rd->pos++;
	st = xr_space(rd, &n);
	if (st != SNIFF_OK)
		return st;
	return xr_value(rd, a, references);
}

static bool attr_is(const struct xml_reader *rd, const struct xml_attr *a, const char *name)
{
	return a->name_len == strlen(name) && !memcmp(rd->buf + a->name, name, a->name_len);
}

static bool value_is(const struct xml_attr *a, const char *v)
{
	return !a->too_long && a->value_len == strlen(v) && !memcmp(a->value, v, a->value_len);
}

/* VersionNum: "1." [0-9]+ */
static bool version_ok(const struct xml_attr *a)
{
	if (a->too_long || a->value_len < 3 || memcmp(a->value, "1.", 2))
		return false;
	for (size_t i = 2; i < a->value_len; i++)
		if (a->value[i] < '0' || a->value[i] > '9')
			return false;
	return true;
}

/* After "<?xml": S version [S encoding] [S standalone] S? "?>" (XML 1.0 2.8). */
static enum sniff_status xr_declaration(struct xml_reader *rd)
{
	enum sniff_status st;
	struct xml_attr a;
	int last = 0;		/* read so far: 0 nothing, 1 version, 2 encoding, 3 standalone */
	size_t n;

	for (;;) {
		st = xr_space(rd, &n);
		if (st != SNIFF_OK)
			return st;
		if (rd->buf[rd->pos] == '?' && last > 0)
			return xr_literal(rd, "?>");
		if (n == 0)
			return SNIFF_NO;
		st = xr_attr(rd, &a, false);
		if (st != SNIFF_OK)
			return st;
		if (last == 0 && attr_is(rd, &a, "version") && version_ok(&a))
			last = 1;
		else if (last == 1 && attr_is(rd, &a, "encoding") && a.value_len == 5 &&
			 !strncasecmp(a.value, "utf-8", 5))
			last = 2;
		else if ((last == 1 || last == 2) && attr_is(rd, &a, "standalone") &&
			 (value_is(&a, "yes") || value_is(&a, "no")))
			last = 3;
		else
			return SNIFF_NO;
	}
}

/* "<" P ":stream", P a prefix: its place in buf, and the byte after the name there. */
static enum sniff_status xr_stream_name(struct xml_reader *rd, struct xmpp_tag *tag)
{
	static const char local[] = "stream";
	enum sniff_status st;
	size_t start, k = 0;
	uint8_t b;

	st = xr_literal(rd, "<");
	if (st != SNIFF_OK)
		return st;
	start = rd->pos;
	while ((st = xr_need(rd)) == SNIFF_OK) {
		b = rd->buf[rd->pos];
		if (!tag->prefix_len) {
			if (b == ':' && rd->pos > start) {
				tag->prefix = start;
				tag->prefix_len = rd->pos - start;
			} else if (!(rd->pos == start ? xml_name_start(b) : xml_name_char(b)) ||
				   b == ':') {
				return SNIFF_NO;
			}
		} else if (k < sizeof(local) - 1) {
			if (b != (uint8_t)local[k++])
				return SNIFF_NO;
		} else {
			return xml_name_char(b) ? SNIFF_NO : SNIFF_OK;
		}
		rd->pos++;
	}
	return st;
}

/* One attribute of the stream tag: namespaces checked, `to` kept. */
static enum sniff_status xmpp_attr(const struct xml_reader *rd, const struct xml_attr *a,
				   struct xmpp_tag *tag)
{
	const size_t pfx = sizeof("xmlns:") - 1;

	if (attr_is(rd, a, "xmlns")) {
		if (tag->has_default_ns ||
		    !(value_is(a, "jabber:client") || value_is(a, "jabber:server")))
			return SNIFF_NO;
		tag->has_default_ns = true;
	} else if (a->name_len == pfx + tag->prefix_len &&
		   !memcmp(rd->buf + a->name, "xmlns:", pfx) &&
		   !memcmp(rd->buf + a->name + pfx, rd->buf + tag->prefix, tag->prefix_len)) {
		if (tag->has_streams_ns || !value_is(a, XMPP_STREAMS_NS))
			return SNIFF_NO;
		tag->has_streams_ns = true;
	} else if (attr_is(rd, a, "to")) {
		if (tag->has_to)
			return SNIFF_NO;
		tag->has_to = true;
		tag->to_too_long = a->too_long;
		tag->to_len = a->value_len;
		memcpy(tag->to, a->value, a->value_len);
	}
	return SNIFF_OK;
}

/* After the element name: attributes up to the `>` of the start tag. */
static enum sniff_status xr_stream_attrs(struct xml_reader *rd, struct xmpp_tag *tag)
{
	enum sniff_status st;
	struct xml_attr a;
	size_t n;

	for (;;) {
		st = xr_space(rd, &n);
		if (st != SNIFF_OK)
			return st;
		if (rd->buf[rd->pos] == '>')
			break;
		if (n == 0)
			return SNIFF_NO;	/* '/' of an empty element, or no space between */
		st = xr_attr(rd, &a, true);
		if (st == SNIFF_OK)
			st = xmpp_attr(rd, &a, tag);
		if (st != SNIFF_OK)
			return st;
	}
	return tag->has_default_ns && tag->has_streams_ns ? SNIFF_OK : SNIFF_NO;
}

static enum sniff_status xmpp_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	struct xml_reader rd = {
		.buf = buf,
		.len = len < XMPP_SNIFF_MAX ? len : XMPP_SNIFF_MAX,
		.capped = len >= XMPP_SNIFF_MAX,
	};
	struct xmpp_tag tag;
	enum sniff_status st;
	size_t n;

	memset(&tag, 0, sizeof(tag));
	st = xr_need(&rd);
	/* a UTF-8 byte order mark, which XML allows first (Prosody takes it) */
	if (st == SNIFF_OK && buf[0] == 0xef) {
		st = xr_literal(&rd, "\xef\xbb\xbf");
		if (st == SNIFF_OK)
			st = xr_need(&rd);
	}
	/* the declaration, if any, comes first; whitespace may come before the tag */
	if (st == SNIFF_OK && buf[rd.pos] == '<' && (len < rd.pos + 2 || buf[rd.pos + 1] == '?')) {
		st = xr_literal(&rd, "<?xml");
		if (st == SNIFF_OK)
			st = xr_declaration(&rd);
	}
	if (st == SNIFF_OK)
		st = xr_space(&rd, &n);
	if (st == SNIFF_OK)
		st = xr_stream_name(&rd, &tag);
	if (st == SNIFF_OK)
		st = xr_stream_attrs(&rd, &tag);
	if (st != SNIFF_OK)
		return st;
	if (tag.has_to && !tag.to_too_long)
		sniff_set_name(out, tag.to, tag.to_len);
	return SNIFF_OK;
}

const struct sniffer xmpp_sniffer = {
	.name = "xmpp",
	.proto = PROTO_XMPP,
	.parse = xmpp_parse,
};
