// SPDX-License-Identifier: MIT
/*
 * fuzz_proxy_proto.c - libFuzzer target for pp_parse() and the encoders.
 *
 * Besides memory safety (run under ASan/UBSan), it checks what the daemon relies on:
 *  - out is consistent with the status: error set exactly on PP_BAD, nothing filled unless
 *    PP_OK;
 *  - with PP_OK: the header length is within the input and the limits (107 bytes for v1,
 *    16 + 4096 for v2), TLV values lie inside the header, both addresses share a family;
 *  - a prefix of the input gives PP_NEED_MORE or the same result, and an OK input parses
 *    the same from exactly its header (the bytes after it are never looked at);
 *  - the parsed addresses and TLVs, encoded again as v1 and as v2 (with a CRC32C), parse
 *    back to the same addresses (in IPv4 form when both were IPv4-mapped) and TLVs.
 * Seeds: tests/fuzz/seeds/proxy_proto/ (real HAProxy and nginx headers, hostile ones).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "fuzz_proxy_proto: invariant broken: %s (input of %zu bytes)\n", what,
		len);
	abort();
}

static bool is_empty(const struct pp_header *h)
{
	return !h->version && !h->len && !h->local && !h->has_addr && !h->src.len &&
	       !h->dst.len && !h->authority && !h->alpn && !h->unique_id && !h->crc32c;
}

static bool inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	return !p || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void check_one(const uint8_t *buf, size_t len, enum pp_status st,
		      const struct pp_header *h)
{
	switch (st) {
	case PP_OK:
		if (h->error)
			fail("error set on ok", len);
		if (!h->len || h->len > len || h->len > PP_MAX_LEN)
			fail("header length", len);
		if (h->version == 1 ? h->len > PP1_MAX_LEN : h->version != 2 || h->len < 16)
			fail("version and length", len);
		if (!inside(h->authority, h->authority_len, buf, h->len) ||
		    !inside(h->alpn, h->alpn_len, buf, h->len) ||
		    !inside(h->unique_id, h->unique_id_len, buf, h->len) ||
		    h->unique_id_len > PP2_UNIQUE_ID_MAX)
			fail("TLV outside the header", len);
		if (h->has_addr && (h->src.ss.ss_family != h->dst.ss.ss_family ||
				    (h->src.ss.ss_family != AF_INET &&
				     h->src.ss.ss_family != AF_INET6)))
			fail("addresses of two families", len);
		if (!h->has_addr && (h->src.len || h->dst.len))
			fail("address filled without has_addr", len);
		if (h->local && h->has_addr)
			fail("LOCAL with an address", len);
		break;
	case PP_NEED_MORE:
		if (h->error || !is_empty(h))
			fail("need-more leaves something in out", len);
		break;
	case PP_BAD:
		if (!h->error || !h->error[0] || !is_empty(h))
			fail("error unset, or something left in out", len);
		break;
	default:
		fail("status out of range", len);
	}
}

static void check_prefix(const uint8_t *buf, size_t n, size_t len, enum pp_status st,
			 const struct pp_header *h)
{
	struct pp_header p;
	enum pp_status pst;

	pst = pp_parse(buf, n, &p);
	check_one(buf, n, pst, &p);
	if (pst == PP_NEED_MORE)
		return;
	if (pst != st)
		fail("prefix gives another status", len);
	if (st == PP_BAD && strcmp(p.error, h->error))
		fail("prefix gives another error", len);
	if (st == PP_OK && (p.len != h->len || p.has_addr != h->has_addr))
		fail("prefix gives another header", len);
}

/* An address as the encoders announce it: IPv4-mapped in IPv4 form when both are. */
static void canonical(const struct pp_header *h, struct addr *s, struct addr *d)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h->src.ss;
	const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *)&h->dst.ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&s->ss, *d4 = (struct sockaddr_in *)&d->ss;

	*s = h->src;
	*d = h->dst;
	if (h->src.ss.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ||
	    !IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr))
		return;
	memset(s, 0, sizeof(*s));
	memset(d, 0, sizeof(*d));
	s4->sin_family = d4->sin_family = AF_INET;
	s4->sin_port = s6->sin6_port;
	d4->sin_port = d6->sin6_port;
	memcpy(&s4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
	memcpy(&d4->sin_addr, d6->sin6_addr.s6_addr + 12, 4);
	s->len = d->len = sizeof(*s4);
}

static bool same_addr(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len);
}

static bool same_value(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

static void check_reencoded(const struct pp_header *h, size_t len)
{
	static uint8_t buf[PP_MAX_LEN + 1024];
	const struct sockaddr *src = (const struct sockaddr *)&h->src.ss;
	const struct sockaddr *dst = (const struct sockaddr *)&h->dst.ss;
	struct pp2_tlvs t = {
		.alpn = h->alpn, .alpn_len = h->alpn_len,
		.authority = (const char *)h->authority, .authority_len = h->authority_len,
		.unique_id = (const char *)h->unique_id, .unique_id_len = h->unique_id_len,
		.crc32c = true,
	};
	struct addr s, d;
	struct pp_header r;
	size_t n, need;

	canonical(h, &s, &d);
	/* without a CRC32C it is no longer than the input; with one, it may not fit */
	need = (s.ss.ss_family == AF_INET ? 12 : 36) + 3 + 4;
	need += h->alpn_len ? 3 + h->alpn_len : 0;
	need += h->authority_len ? 3 + h->authority_len : 0;
	need += h->unique_id_len ? 3 + h->unique_id_len : 0;
	t.crc32c = need <= PP2_MAX_PAYLOAD;
	if (pp1_encode(src, dst, buf, sizeof(buf), &n))
		fail("v1 encode of parsed addresses", len);
	if (pp_parse(buf, n, &r) != PP_OK || r.len != n || !r.has_addr ||
	    !same_addr(&r.src, &s) || !same_addr(&r.dst, &d))
		fail("v1 re-encoded header parses differently", len);
	if (pp2_encode(src, dst, &t, buf, sizeof(buf), &n))
		fail("v2 encode of parsed header", len);
	if (pp_parse(buf, n, &r) != PP_OK || r.len != n || !r.has_addr || r.crc32c != t.crc32c ||
	    !same_addr(&r.src, &s) || !same_addr(&r.dst, &d) ||
	    !same_value(r.alpn, r.alpn_len, h->alpn, h->alpn_len) ||
	    !same_value(r.authority, r.authority_len, h->authority, h->authority_len) ||
	    !same_value(r.unique_id, r.unique_id_len, h->unique_id, h->unique_id_len))
		fail("v2 re-encoded header parses differently", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pp_header h;
	enum pp_status st;

	st = pp_parse(data, len, &h);
	check_one(data, len, st, &h);
	if (len > 0)
		check_prefix(data, len - 1, len, st, &h);
	if (len > 1)
		check_prefix(data, len / 2, len, st, &h);
	if (st != PP_OK)
		return 0;
	check_prefix(data, h.len, len, st, &h);
	check_prefix(data, h.len - 1, len, PP_NEED_MORE, &h);
	if (h.has_addr)
		check_reencoded(&h, len);
	return 0;
}
