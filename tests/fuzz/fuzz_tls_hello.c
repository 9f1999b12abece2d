// SPDX-License-Identifier: MIT
/*
 * fuzz_tls_hello.c - libFuzzer target for tls_hello_parse().
 *
 * Besides memory safety (run under ASan/UBSan), it checks what callers rely on:
 *  - out is consistent with the status: error set exactly on BAD/NOT_TLS, nothing else
 *    filled unless OK;
 *  - with OK: sni is NUL-terminated, sni_len == strlen(sni) <= TLS_SNI_MAX, only
 *    [a-z0-9._-]; alpn_len <= TLS_ALPN_MAX and walks to exactly alpn_count names;
 *    raw_len <= len; hello_len <= TLS_HELLO_MAX_LEN;
 *  - a prefix of the input gives NEED_MORE or the same result (so the daemon may call again
 *    as bytes arrive), and an OK input parses the same from exactly raw_len bytes;
 *  - an OK TLS hello re-framed into records of another size parses the same.
 * Seeds: tests/fuzz/seeds/tls_hello/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff/tls_hello.h"

#define RAW_CAP (6 * TLS_HELLO_MAX_LEN + 16)

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "fuzz_tls_hello: invariant broken: %s (input of %zu bytes)\n", what, len);
	abort();
}

static bool sni_ok(const struct tls_hello *h)
{
	size_t i;

	if (!h->has_sni)
		return h->sni_len == 0 && h->sni[0] == '\0';
	if (h->sni_len == 0 || h->sni_len > TLS_SNI_MAX || h->sni[h->sni_len] != '\0' ||
	    strlen(h->sni) != h->sni_len)
		return false;
	for (i = 0; i < h->sni_len; i++) {
		char c = h->sni[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static bool alpn_ok(const struct tls_hello *h)
{
	const uint8_t *name;
	size_t pos = 0, name_len;
	unsigned int n = 0;

	if (h->alpn_len > TLS_ALPN_MAX || h->has_alpn != (h->alpn_len > 0))
		return false;
	while (tls_hello_alpn_next(h, &pos, &name, &name_len)) {
		if (name_len == 0 || name < h->alpn || name + name_len > h->alpn + h->alpn_len)
			return false;
		n++;
	}
	return n == h->alpn_count && pos == h->alpn_len;
}

static bool is_empty(const struct tls_hello *h)
{
	return !h->sslv2 && !h->has_sni && !h->sni_len && !h->sni[0] && !h->has_alpn &&
	       !h->alpn_len && !h->alpn_count && !h->has_ech && !h->hello_len && !h->raw_len;
}

static bool same(const struct tls_hello *a, const struct tls_hello *b)
{
	return a->sslv2 == b->sslv2 && a->client_version == b->client_version &&
	       a->has_sni == b->has_sni && a->sni_len == b->sni_len && !strcmp(a->sni, b->sni) &&
	       a->has_alpn == b->has_alpn && a->alpn_len == b->alpn_len &&
	       !memcmp(a->alpn, b->alpn, a->alpn_len) && a->alpn_count == b->alpn_count &&
	       a->has_ech == b->has_ech && a->hello_len == b->hello_len;
}

static void check_one(const uint8_t *data, size_t len, enum tls_hello_status st,
		      const struct tls_hello *h)
{
	switch (st) {
	case TLS_HELLO_OK:
		if (h->error)
			fail("error set on ok", len);
		if (!sni_ok(h))
			fail("sni", len);
		if (!alpn_ok(h))
			fail("alpn", len);
		if (h->raw_len > len || h->raw_len == 0 || h->hello_len > TLS_HELLO_MAX_LEN ||
		    h->hello_len > h->raw_len)
			fail("raw_len/hello_len", len);
		if (h->sslv2 && (h->has_sni || h->has_alpn || h->has_ech))
			fail("sslv2 with sni, alpn or ech", len);
		break;
	case TLS_HELLO_NEED_MORE:
		if (h->error || !is_empty(h))
			fail("need-more leaves something in out", len);
		break;
	case TLS_HELLO_NOT_TLS:
	case TLS_HELLO_BAD:
		if (!h->error || !h->error[0] || !is_empty(h))
			fail("error unset, or something left in out", len);
		break;
	default:
		fail("status out of range", len);
	}
}

/* A prefix gives NEED_MORE or the very same result. */
static void check_prefix(const uint8_t *data, size_t n, size_t len, enum tls_hello_status st,
			 const struct tls_hello *h)
{
	static struct tls_hello p;
	enum tls_hello_status pst;

	pst = tls_hello_parse(data, n, &p);
	check_one(data, n, pst, &p);
	if (pst == TLS_HELLO_NEED_MORE)
		return;
	if (pst != st)
		fail("prefix gives another status", len);
	if (st != TLS_HELLO_OK && strcmp(p.error, h->error))
		fail("prefix gives another error", len);
	if (st == TLS_HELLO_OK && (!same(&p, h) || p.raw_len != h->raw_len))
		fail("prefix gives another hello", len);
}

/* Handshake bytes of an OK TLS hello, from its (valid) records. */
static void unframe(const uint8_t *data, size_t hello_len, uint8_t *hs)
{
	size_t pos = 0, n = 0, rec_len, c;

	while (n < hello_len) {
		rec_len = (size_t)data[pos + 3] << 8 | data[pos + 4];
		c = rec_len < hello_len - n ? rec_len : hello_len - n;
		memcpy(hs + n, data + pos + 5, c);
		n += c;
		pos += 5 + rec_len;
	}
}

static void check_reframed(const uint8_t *data, size_t len, const struct tls_hello *h)
{
	static uint8_t hs[TLS_HELLO_MAX_LEN], raw[RAW_CAP];
	static struct tls_hello r;
	enum tls_hello_status st;
	size_t rec = 1 + len % 97, n = 0, off, c;

	unframe(data, h->hello_len, hs);
	for (off = 0; off < h->hello_len; off += c) {
		c = h->hello_len - off < rec ? h->hello_len - off : rec;
		raw[n++] = 22;
		raw[n++] = 3;
		raw[n++] = 1;
		raw[n++] = (uint8_t)(c >> 8);
		raw[n++] = (uint8_t)c;
		memcpy(raw + n, hs + off, c);
		n += c;
	}
	st = tls_hello_parse(raw, n, &r);
	check_one(raw, n, st, &r);
	if (n > TLS_HELLO_MAX_RAW) {
		if (st != TLS_HELLO_BAD)
			fail("re-framed over TLS_HELLO_MAX_RAW is not bad", len);
		return;
	}
	if (st != TLS_HELLO_OK || !same(&r, h) || r.raw_len != n)
		fail("re-framed hello parses differently", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct tls_hello h;
	enum tls_hello_status st;

	st = tls_hello_parse(data, len, &h);
	check_one(data, len, st, &h);
	if (len > 0)
		check_prefix(data, len - 1, len, st, &h);
	if (len > 1)
		check_prefix(data, len / 2, len, st, &h);
	if (st != TLS_HELLO_OK)
		return 0;
	check_prefix(data, h.raw_len, len, st, &h);
	if (h.raw_len > 0)
		check_prefix(data, h.raw_len - 1, len, TLS_HELLO_NEED_MORE, &h);
	if (!h.sslv2)
		check_reframed(data, len, &h);
	return 0;
}
