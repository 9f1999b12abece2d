// SPDX-License-Identifier: MIT
/*
 * test_hostile.c - hostile inputs replayed from peers' security fixes (HAProxy, Netty, traefik,
 * sniproxy, go-proxyproto, caddy-proxyprotocol), fed to the real parsers (user/tls_hello.c,
 * user/proxy_proto.c) and, for host names, on through the router (user/router.c).
 *
 * Each case is one TAP line that asserts the exact status and reason and, on the same line,
 * that the parser read an exact-size heap copy of the input (so ASan reports a read of even
 * one byte past it), allocated nothing (so a buffer sized from a claimed length is caught
 * even when the allocation succeeds), left out empty unless OK, and that every prefix of the
 * input gives NEED_MORE or the very same answer (so a caller fed the bytes one at a time gets
 * the same verdict, and a NEED_MORE cannot outlive the byte that makes the input BAD). The
 * comment on each case says what a vulnerable parser did and why the assert catches it; the
 * control cases (honest inputs at the same limits) fail a parser that rejects everything.
 * alarm() turns a hang into a failure.
 *
 * Every input is also a seed in tests/fuzz/seeds/{tls_hello,proxy_proto}/, and a TAP line
 * checks that the file holds the same bytes; SMX_UPDATE_CORPUS=1 (re)writes those files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "proxy_proto.h"
#include "router.h"
#include "tap.h"
#include "sniff/tls_hello.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif
#define CORPUS FIXTURES "/../fuzz/seeds"

#define BUF_CAP (64 * 1024)
/* inputs up to this size have every prefix checked; longer ones a few */
#define PREFIX_ALL_MAX 8192
/* seconds before a hang (a parser looping on a zero length, say) kills the run */
#define HANG_SECONDS 120

/* a string literal as (bytes, length), embedded NULs included */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* --- allocation counter ------------------------------------------------------------------ */

/*
 * Counts allocations made while armed. The parsers allocate nothing by design, so any count
 * is a failure, whatever the size. Under ASan the sanitizer's allocator hooks count; in the
 * plain build malloc, calloc and realloc are interposed and handed on to glibc's own.
 */
static bool alloc_armed;
static size_t alloc_calls;
static size_t alloc_bytes;

static void alloc_note(size_t n)
{
	if (!alloc_armed)
		return;
	alloc_calls++;
	alloc_bytes += n;
}

#ifdef __SANITIZE_ADDRESS__
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
	alloc_note(n);
}

static void on_free(const volatile void *p)
{
}

static bool alloc_counter_start(void)
{
	return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	alloc_note(n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	alloc_note(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	alloc_note(n);
	return __libc_realloc(p, n);
}

static bool alloc_counter_start(void)
{
	return true;
}
#endif

static void alloc_arm(void)
{
	alloc_calls = 0;
	alloc_bytes = 0;
	alloc_armed = true;
}

static size_t alloc_disarm(void)
{
	alloc_armed = false;
	return alloc_calls;
}

/* The counter sees a 16 MiB malloc: without this, "allocated nothing" could be vacuous. */
static void test_alloc_counter(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void *p;

	if (!ASSERT_TRUE(alloc_counter_start(), "allocation counter installed"))
		return;
	alloc_arm();
	p = alloc(16 << 20);
	alloc_disarm();
	free(p);
	ASSERT_TRUE(p && alloc_calls == 1 && alloc_bytes == 16 << 20,
		    "allocation counter sees a 16 MiB malloc");
}

/* --- exact-size parsing ------------------------------------------------------------------ */

/* A heap copy of exactly len bytes (ASan flags buf[len]); made before the counter is armed. */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	if (!c) {
		tap_diag("out of memory");
		abort();
	}
	if (len)
		memcpy(c, p, len);
	return c;
}

static enum tls_hello_status hello_parse_exact(const uint8_t *p, size_t len, struct tls_hello *h,
					       size_t *allocs)
{
	uint8_t *c = exact_copy(p, len);
	enum tls_hello_status st;

	alloc_arm();
	st = tls_hello_parse(c, len, h);
	*allocs = alloc_disarm();
	free(c);
	return st;
}

static enum pp_status pp_parse_exact(const uint8_t *p, size_t len, struct pp_header *h,
				     size_t *allocs)
{
	uint8_t *c = exact_copy(p, len);
	enum pp_status st;

	alloc_arm();
	st = pp_parse(c, len, h);
	*allocs = alloc_disarm();
	free(c);
	/* pointers into the copy are gone: keep only their presence */
	h->authority = h->authority ? p : NULL;
	h->alpn = h->alpn ? p : NULL;
	h->unique_id = h->unique_id ? p : NULL;
	return st;
}

static bool same_reason(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Prefix lengths to check: all below len when it is small, else a few. */
static bool prefix_next(size_t len, size_t *k)
{
	static const size_t few[] = { 0, 1, 5, 6, 9, 16, 107, 108, 4111, 4112 };
	size_t i;

	if (len <= PREFIX_ALL_MAX)
		return ++*k < len;
	for (i = 0; i < sizeof(few) / sizeof(few[0]); i++)
		if (few[i] > *k && few[i] < len) {
			*k = few[i];
			return true;
		}
	if (*k < len / 2) {
		*k = len / 2;
		return true;
	}
	if (*k < len - 1) {
		*k = len - 1;
		return true;
	}
	return false;
}

/* --- the fuzz corpus ---------------------------------------------------------------------- */

/* The seed dir/file holds exactly these bytes; with SMX_UPDATE_CORPUS=1, write it first. */
static bool check_corpus(const char *dir, const char *file, const uint8_t *p, size_t len)
{
	static uint8_t got[BUF_CAP + 1];
	char path[512], name[256];
	bool found = false;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", CORPUS, dir, file);
	snprintf(name, sizeof(name), "corpus %s/%s holds these %zu bytes", dir, file, len);
	if (getenv("SMX_UPDATE_CORPUS")) {
		f = fopen(path, "wb");
		if (f) {
			if (fwrite(p, 1, len, f) != len)
				tap_diag("short write to %s", path);
			fclose(f);
		}
	}
	f = fopen(path, "rb");
	if (f) {
		found = true;
		n = fread(got, 1, sizeof(got), f);
		fclose(f);
	}
	return ASSERT_TRUE(found && n == len && !memcmp(got, p, len), name);
}

/* --- checks ------------------------------------------------------------------------------ */

static bool hello_empty(const struct tls_hello *h)
{
	return !h->sslv2 && !h->record_version && !h->client_version && !h->has_sni &&
	       !h->sni_len && !h->sni[0] && !h->has_alpn && !h->alpn_len && !h->alpn_count &&
	       !h->hello_len && !h->raw_len;
}

/*
 * One TAP line: tls_hello_parse() on the len bytes at p gives want (with want_err as the
 * reason unless NULL), allocates nothing, leaves *h empty but for the reason unless OK, and
 * every prefix gives NEED_MORE or the same status and reason. The input is then checked
 * against its seed tls_hello/file (none when file is NULL).
 */
static bool check_hello(const char *name, const char *file, const uint8_t *p, size_t len,
			enum tls_hello_status want, const char *want_err, struct tls_hello *h)
{
	static struct tls_hello ph;
	enum tls_hello_status st, pst = TLS_HELLO_NEED_MORE;
	const char *why = NULL;
	size_t allocs, k = 0;
	bool ok;

	st = hello_parse_exact(p, len, h, &allocs);
	if (st != want)
		why = "status";
	else if (want_err && !same_reason(h->error, want_err))
		why = "reason";
	else if (st != TLS_HELLO_OK &&
		 ((st == TLS_HELLO_NEED_MORE) == !!h->error || !hello_empty(h)))
		why = "out holds more than the reason";
	else if (allocs)
		why = "the parse allocated";
	if (!why && len > 0) {
		k = 0;
		do {
			pst = hello_parse_exact(p, k, &ph, &allocs);
			if (allocs)
				why = "a prefix allocated";
			else if (pst == TLS_HELLO_NEED_MORE)
				continue;
			else if (pst != st || !same_reason(ph.error, h->error))
				why = "a prefix disagrees";
			else if (st == TLS_HELLO_OK && (k < h->raw_len || ph.raw_len != h->raw_len))
				why = "a prefix disagrees";
		} while (!why && prefix_next(len, &k));
	}
	ok = tap_result(!why, "%s", name);
	if (!ok) {
		tap_diag("  %s: got %s (%s), expected %s (%s)", why, tls_hello_status_str(st),
			 h->error ? h->error : "-", tls_hello_status_str(want),
			 want_err ? want_err : "-");
		if (strstr(why, "allocated"))
			tap_diag("  %zu allocation(s), %zu bytes", alloc_calls, alloc_bytes);
		if (!strcmp(why, "a prefix disagrees") || !strcmp(why, "a prefix allocated"))
			tap_diag("  prefix of %zu bytes: %s (%s)", k, tls_hello_status_str(pst),
				 ph.error ? ph.error : "-");
	}
	if (file)
		check_corpus("tls_hello", file, p, len);
	return ok;
}

static bool pp_empty(const struct pp_header *h)
{
	return !h->version && !h->len && !h->local && !h->has_addr && !h->src.len &&
	       !h->dst.len && !h->authority && !h->alpn && !h->unique_id && !h->crc32c;
}

/* check_hello() for pp_parse(); the seed is proxy_proto/file. */
static bool check_pp(const char *name, const char *file, const uint8_t *p, size_t len,
		     enum pp_status want, const char *want_err, struct pp_header *h)
{
	static struct pp_header ph;
	enum pp_status st, pst = PP_NEED_MORE;
	const char *why = NULL;
	size_t allocs, k = 0;
	bool ok;

	st = pp_parse_exact(p, len, h, &allocs);
	if (st != want)
		why = "status";
	else if (want_err && !same_reason(h->error, want_err))
		why = "reason";
	else if (st != PP_OK && ((st == PP_NEED_MORE) == !!h->error || !pp_empty(h)))
		why = "out holds more than the reason";
	else if (allocs)
		why = "the parse allocated";
	if (!why && len > 0) {
		k = 0;
		do {
			pst = pp_parse_exact(p, k, &ph, &allocs);
			if (allocs)
				why = "a prefix allocated";
			else if (pst == PP_NEED_MORE)
				continue;
			else if (pst != st || !same_reason(ph.error, h->error) ||
				 (st == PP_OK && ph.len != h->len))
				why = "a prefix disagrees";
		} while (!why && prefix_next(len, &k));
	}
	ok = tap_result(!why, "%s", name);
	if (!ok) {
		tap_diag("  %s: got %s (%s), expected %s (%s)", why, pp_status_str(st),
			 h->error ? h->error : "-", pp_status_str(want), want_err ? want_err : "-");
		if (strstr(why, "allocated"))
			tap_diag("  %zu allocation(s), %zu bytes", alloc_calls, alloc_bytes);
		if (!strcmp(why, "a prefix disagrees") || !strcmp(why, "a prefix allocated"))
			tap_diag("  prefix of %zu bytes: %s (%s)", k, pp_status_str(pst),
				 ph.error ? ph.error : "-");
	}
	if (file)
		check_corpus("proxy_proto", file, p, len);
	return ok;
}

/* --- ClientHello builder ------------------------------------------------------------------ */

struct buf {
	uint8_t d[BUF_CAP];
	size_t n;
};

static struct buf exts;		/* an extensions block under construction */
static struct buf hs;		/* the handshake message carrying it */
static struct buf raw;		/* the records carrying hs */

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > BUF_CAP) {
		tap_diag("test builder overflow");
		abort();
	}
	if (n)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned int v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void put16(struct buf *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put24(struct buf *b, unsigned int v)
{
	put8(b, v >> 16);
	put16(b, v);
}

static void patch16(struct buf *b, size_t off, unsigned int v)
{
	b->d[off] = (uint8_t)(v >> 8);
	b->d[off + 1] = (uint8_t)v;
}

/* server_name "example.org" and ALPN "h2", as bytes on the wire */
#define SNI_EXAMPLE "\x00\x00\x00\x10\x00\x0e\x00\x00\x0b" "example.org"
#define ALPN_H2 "\x00\x10\x00\x05\x00\x03\x02" "h2"

/* Offset in hs of the extensions block length (type, length, fixed body fields). */
#define HS_EXT_LEN_OFF (4 + 41)

/* A server_name extension holding one host_name of len bytes; every length honest. */
static void ext_sni(const char *name, size_t len)
{
	put16(&exts, 0);
	put16(&exts, len + 5);
	put16(&exts, len + 3);
	put8(&exts, 0);
	put16(&exts, len);
	put(&exts, name, len);
}

/*
 * The ClientHello carrying exts as its extensions block: legacy_version 1.2, a fixed random,
 * no session id, TLS_AES_128_GCM_SHA256, null compression (41 bytes), then the block. Every
 * length here is honest, so the only lie is the one the case wrote into exts.
 */
static void make_hs(void)
{
	unsigned int i;

	hs.n = 0;
	put8(&hs, 1);
	put24(&hs, 41 + 2 + exts.n);
	put16(&hs, 0x0303);
	for (i = 0; i < 32; i++)
		put8(&hs, i * 7);
	put8(&hs, 0);
	put16(&hs, 2);
	put16(&hs, 0x1301);
	put8(&hs, 1);
	put8(&hs, 0);
	put16(&hs, exts.n);
	put(&hs, exts.d, exts.n);
}

/* Carry hs in handshake records of at most rec bytes each. */
static void frame(size_t rec)
{
	size_t off, n;

	raw.n = 0;
	for (off = 0; off < hs.n; off += n) {
		n = hs.n - off < rec ? hs.n - off : rec;
		put8(&raw, 22);
		put16(&raw, 0x0301);
		put16(&raw, n);
		put(&raw, hs.d + off, n);
	}
}

/* exts <- the given bytes; then the hello in one record */
static void hello_of(const uint8_t *e, size_t len)
{
	exts.n = 0;
	put(&exts, e, len);
	make_hs();
	frame(16384);
}

static bool hello_is(const struct tls_hello *h, const char *sni, const char *alpn_wire,
		     size_t alpn_len)
{
	return h->has_sni && !strcmp(h->sni, sni) && h->sni_len == strlen(sni) && h->has_alpn &&
	       h->alpn_len == alpn_len && !memcmp(h->alpn, alpn_wire, alpn_len) &&
	       h->hello_len == hs.n;
}

/* --- 1. HAProxy req.ssl_sni: lengths that point past the hello --------------------------- */

static void test_sni_length_ffff(void)
{
	struct tls_hello h;

	/*
	 * The whole ClientHello is 65 bytes; its one server_name entry says its host name is
	 * 0xffff bytes long, while the list, extension, block, handshake and record lengths
	 * honestly hold the 4 bytes "abcd". HAProxy's fetch trusted that inner length and read
	 * the name past the end of the buffer. The exact-size copy makes any such read an ASan
	 * report, and the assert wants BAD for this very reason, before a byte of the name is
	 * used (a parser clamping the length to what it has would give OK "abcd" and fail).
	 */
	hello_of(LIT("\x00\x00\x00\x09\x00\x07\x00\xff\xff" "abcd"));
	ASSERT_EQ(raw.n, 65, "1a: the hostile ClientHello is 65 bytes");
	check_hello("1a: host_name length 0xffff in a 65-byte hello: bad",
		    "sni-name-len-ffff-65-bytes", raw.d, raw.n, TLS_HELLO_BAD,
		    "server_name length past list", &h);

	/* the same lie one level up: the extension itself claims 0xffff bytes */
	hello_of(LIT("\x00\x00\xff\xff\x00\x07\x00\x00\x04" "abcd"));
	check_hello("1b: server_name extension length 0xffff in a 65-byte hello: bad",
		    "sni-ext-len-ffff-65-bytes", raw.d, raw.n, TLS_HELLO_BAD,
		    "extension length past block", &h);

	/* control: the honest 65-byte hello is OK, so 1a's BAD is about the length alone */
	hello_of(LIT("\x00\x00\x00\x09\x00\x07\x00\x00\x04" "abcd"));
	if (check_hello("1c: control: the same hello with length 4: ok, sni \"abcd\"", NULL,
			raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_STREQ(h.sni, "abcd", "1c: sni is \"abcd\"");
}

static void test_key_share_truncated(void)
{
	struct tls_hello h;

	/*
	 * key_share (51) of 2 bytes: just a client_shares length, 0x0024, claiming 36 bytes of
	 * KeyShareEntry that are not there; then server_name and ALPN. sockmux does not read
	 * key_share (the TLS server judges it), so the extension's own length is the only
	 * bound and the right outcome is OK with the SNI and ALPN that follow. A parser that
	 * descended into key_share and trusted 0x0024 would swallow the next extensions (no
	 * SNI, or BAD), or read past the buffer when key_share is last (1f: ASan).
	 */
	hello_of(LIT("\x00\x33\x00\x02\x00\x24" SNI_EXAMPLE ALPN_H2));
	if (check_hello("1d: key_share of 2 bytes (shares length only): ok",
			"key-share-len2", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(hello_is(&h, "example.org", "\x02h2", 3) && h.raw_len == raw.n,
			    "1d: sni and alpn after it read exactly");

	/* 3 bytes: the shares length and the first byte of a NamedGroup */
	hello_of(LIT("\x00\x33\x00\x03\x00\x24\x00" SNI_EXAMPLE ALPN_H2));
	if (check_hello("1e: key_share of 3 bytes (a truncated entry): ok", "key-share-len3",
			raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(hello_is(&h, "example.org", "\x02h2", 3) && h.raw_len == raw.n,
			    "1e: sni and alpn after it read exactly");

	/* last in the hello: trusting 0x0024 would read 34 bytes past the end of the input */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2 "\x00\x33\x00\x02\x00\x24"));
	if (check_hello("1f: key_share of 2 bytes, last extension: ok", "key-share-len2-last",
			raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(hello_is(&h, "example.org", "\x02h2", 3) && h.raw_len == raw.n,
			    "1f: the hello ends at the input's last byte");

	/* a key_share whose own length runs one byte past the block is still caught */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2 "\x00\x33\x00\x03\x00\x24"));
	check_hello("1g: key_share length 3 with 2 bytes left: bad", "key-share-len3-past-block",
		    raw.d, raw.n, TLS_HELLO_BAD, "extension length past block", &h);
}

/* --- 2. Netty: a 24-bit handshake length of 0xffffff ------------------------------------- */

static void test_handshake_length_ffffff(void)
{
	static const uint8_t one_rec[] = { 22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff };
	static const uint8_t byte_recs[] = { 22, 3, 1, 0, 1, 1,	   22, 3, 1, 0, 1, 0xff,
					     22, 3, 1, 0, 1, 0xff, 22, 3, 1, 0, 1, 0xff };
	static const uint8_t max_ok[] = { 22, 3, 1, 0x40, 0x00, 1, 0x00, 0x3f, 0xfc };
	struct tls_hello h;
	size_t i;

	/*
	 * Netty sized a buffer from this length: 16 MiB per connection for 9 bytes sent. The
	 * right outcome is BAD as soon as the top length byte (0xff) is read: no length over
	 * TLS_HELLO_MAX_LEN (16384) is ever accepted, so there is nothing to wait for. The
	 * check wants BAD on these 9 bytes, NEED_MORE on every shorter prefix but never after
	 * the 7th byte (the prefix rule plus 1b below), and zero allocations during the parse:
	 * a parser that allocated 16 MiB (or any buffer) fails even if the malloc succeeded,
	 * and one that waited for the bytes gives NEED_MORE.
	 */
	check_hello("2a: handshake length 0xffffff: bad, nothing allocated", "hs-len-ffffff",
		    one_rec, sizeof(one_rec), TLS_HELLO_BAD, "handshake length over 16384", &h);
	check_hello("2b: same, BAD from the first length byte (7 bytes)", NULL, one_rec, 7,
		    TLS_HELLO_BAD, "handshake length over 16384", &h);
	/* the length spread over 1-byte records (legal framing) is read across them */
	check_hello("2c: handshake length 0xffffff in 1-byte records: bad",
		    "hs-len-ffffff-1-byte-records", byte_recs, sizeof(byte_recs), TLS_HELLO_BAD,
		    "handshake length over 16384", &h);
	/* control: the largest accepted length is an honest wait, not BAD */
	check_hello("2d: control: handshake length 16380 (the limit): need-more", NULL, max_ok,
		    sizeof(max_ok), TLS_HELLO_NEED_MORE, NULL, &h);

	/*
	 * And NEED_MORE is bounded in raw bytes too: that largest hello, in 1-byte records (6
	 * raw bytes per hello byte), is BAD once it would need the byte at TLS_HELLO_MAX_RAW,
	 * so a caller whose buffer of that size is full never waits. The hello is valid so far
	 * (a long cipher_suites list) so that only the size can make it BAD.
	 */
	hs.n = 0;
	put8(&hs, 1);
	put24(&hs, TLS_HELLO_MAX_LEN - 4);
	put16(&hs, 0x0303);
	for (i = 0; i < 32; i++)
		put8(&hs, i);
	put8(&hs, 0);
	put16(&hs, 0x2000);
	for (i = 0; i < 0x1000; i++)
		put16(&hs, 0x1301);
	frame(1);
	check_hello("2e: a hello needing more than TLS_HELLO_MAX_RAW raw bytes: bad", NULL,
		    raw.d, TLS_HELLO_MAX_RAW, TLS_HELLO_BAD, "hello over raw size limit", &h);
	check_hello("2f: control: one record short of it: need-more", NULL, raw.d,
		    TLS_HELLO_MAX_RAW - 6, TLS_HELLO_NEED_MORE, NULL, &h);
}

/* --- 3. traefik: a record length over the TLS maximum ------------------------------------ */

static void test_record_length_ffff(void)
{
	static const uint8_t hdr_ffff[] = { 22, 3, 1, 0xff, 0xff };
	static const uint8_t hdr_4001[] = { 22, 3, 1, 0x40, 0x01 };
	static const uint8_t hdr_4000[] = { 22, 3, 1, 0x40, 0x00 };
	struct tls_hello h;
	size_t rec2;

	/*
	 * TLSPlaintext.length is at most 2^14 (RFC 8446 5.1); a ClientHello is plaintext. A
	 * parser that trusted 0xffff waited for 64 KiB per connection (or buffered it). The
	 * assert wants BAD from the 5-byte header alone: NEED_MORE (waiting) fails it.
	 */
	check_hello("3a: record length 0xffff: bad from the header", "record-len-ffff", hdr_ffff,
		    sizeof(hdr_ffff), TLS_HELLO_BAD, "record length over 16384", &h);
	check_hello("3b: record length 16385: bad", NULL, hdr_4001, sizeof(hdr_4001),
		    TLS_HELLO_BAD, "record length over 16384", &h);
	check_hello("3c: control: record length 16384: need-more", NULL, hdr_4000,
		    sizeof(hdr_4000), TLS_HELLO_NEED_MORE, NULL, &h);

	/* a complete, valid hello inside a record claiming 0xffff: the header still decides */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2));
	patch16(&raw, 3, 0xffff);
	check_hello("3d: a whole hello in a record claiming 0xffff: bad",
		    "record-len-ffff-whole-hello", raw.d, raw.n, TLS_HELLO_BAD,
		    "record length over 16384", &h);

	/* the second record of a split hello claims 0xffff */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2));
	frame(40);
	rec2 = 5 + 40;
	patch16(&raw, rec2 + 3, 0xffff);
	check_hello("3e: second record length 0xffff: bad", "record-len-ffff-second", raw.d,
		    raw.n, TLS_HELLO_BAD, "record length over 16384", &h);
}

/* --- 4. sniproxy CVE-2023-25076: a bracketed host name ----------------------------------- */

static void test_bracketed_sni(void)
{
	char name[62];
	struct tls_hello h;

	/*
	 * sniproxy took "[" + 60 x "A" + "]" for an IPv6 literal when it built a backend
	 * address from the name, and overflowed a buffer. tls_hello.c keeps only host names
	 * of [a-z0-9._-] (after lowercasing), so the hello is BAD ("sni has invalid byte") and
	 * the name never reaches the router or a backend address. A parser that let the
	 * brackets through gives OK and fails; one that dropped just the SNI gives OK too.
	 */
	name[0] = '[';
	memset(name + 1, 'A', 60);
	name[61] = ']';
	exts.n = 0;
	ext_sni(name, sizeof(name));
	make_hs();
	frame(16384);
	check_hello("4a: sni \"[AAA...A]\" (62 bytes): bad", "sni-bracketed-62", raw.d, raw.n,
		    TLS_HELLO_BAD, "sni has invalid byte", &h);

	exts.n = 0;
	ext_sni("[::1]", 5);
	make_hs();
	frame(16384);
	check_hello("4b: sni \"[::1]\": bad", "sni-ipv6-literal", raw.d, raw.n, TLS_HELLO_BAD,
		    "sni has invalid byte", &h);

	/* control: the same 60 A's without brackets are a fine name, lowercased */
	exts.n = 0;
	ext_sni(name + 1, 60);
	make_hs();
	frame(16384);
	if (check_hello("4c: control: sni of 60 x \"A\": ok", NULL, raw.d, raw.n, TLS_HELLO_OK,
			NULL, &h))
		ASSERT_TRUE(h.sni_len == 60 && strspn(h.sni, "a") == 60, "4c: sni is 60 x \"a\"");
}

/* --- 5. traefik CVE-2022-23632: case and a trailing dot must not bypass a rule ------------ */

static const char route_cfg[] =
	"listen = ( { address = \"0.0.0.0:443\"; } );\n"
	"backends = {\n"
	"  strict = { address = \"127.0.0.1:1\"; };\n"
	"  internal = { address = \"127.0.0.1:2\"; };\n"
	"  lax = { address = \"127.0.0.1:3\"; };\n"
	"};\n"
	"routes = (\n"
	"  { sni = [ \"example.org\" ]; backend = \"strict\"; },\n"
	"  { sni = [ \"*.internal.example.org\" ]; backend = \"internal\"; },\n"
	"  { backend = \"lax\"; }\n"
	");\n";

enum { R_STRICT, R_INTERNAL, R_LAX };

/*
 * The route of a hello with this host name, from its bytes: tls_hello_parse() and then
 * router_match() with the input built as handshake.c builds it; -EPROTO if the hello is not
 * OK. *sni gets the name as parsed.
 */
static long route_of(const struct config *cfg, const char *name, const char **sni)
{
	static struct tls_hello h;
	struct route_input in = { .proto = PROTO_TLS };
	size_t allocs;

	exts.n = 0;
	ext_sni(name, strlen(name));
	put(&exts, LIT(ALPN_H2));
	make_hs();
	frame(16384);
	*sni = "";
	if (hello_parse_exact(raw.d, raw.n, &h, &allocs) != TLS_HELLO_OK || allocs)
		return -EPROTO;
	*sni = h.sni;
	if (h.has_sni)
		in.name = h.sni;
	if (h.has_alpn) {
		in.alpn = h.alpn;
		in.alpn_len = h.alpn_len;
	}
	return router_match(cfg, &in, NULL);
}

static void check_route(const struct config *cfg, const char *host, long want,
			const char *want_sni, const char *file)
{
	char name[200];
	const char *sni;
	long r;

	r = route_of(cfg, host, &sni);
	snprintf(name, sizeof(name), "5: sni \"%s\" -> parsed \"%s\", route #%ld", host, want_sni,
		 want + 1);
	if (!ASSERT_TRUE(r == want && !strcmp(sni, want_sni), name))
		tap_diag("  got route %ld, sni \"%s\"", r, sni);
	if (file)
		check_corpus("tls_hello", file, raw.d, raw.n);
}

static void test_case_and_trailing_dot(void)
{
	struct config_error err;
	struct route_input in = { .proto = PROTO_TLS };
	struct config cfg;

	/*
	 * traefik chose the TLS options (client-certificate checks) by an exact, case- and
	 * dot-sensitive match of the SNI, so "Example.ORG." fell through to the default,
	 * laxer options while the backend still served example.org. Here every spelling of
	 * example.org must reach route #1 (strict) exactly like "example.org", and every
	 * spelling of a name under *.internal.example.org route #2; a parser that kept the
	 * case or the dot, or a router comparing bytes, sends them to #3 (lax) and fails.
	 * The controls (#3 for names that only look alike) show the rule is not a catch-all.
	 */
	if (!ASSERT_OK(config_parse(route_cfg, "hostile.cfg", &cfg, &err), "5: parse the config")) {
		tap_diag("  line %d: %s", err.line, err.msg);
		return;
	}
	check_route(&cfg, "example.org", R_STRICT, "example.org", NULL);
	check_route(&cfg, "Example.ORG.", R_STRICT, "example.org", "sni-mixed-case-trailing-dot");
	check_route(&cfg, "EXAMPLE.ORG", R_STRICT, "example.org", NULL);
	check_route(&cfg, "example.org.", R_STRICT, "example.org", NULL);
	check_route(&cfg, "eXaMpLe.OrG.", R_STRICT, "example.org", NULL);
	check_route(&cfg, "DB.Internal.EXAMPLE.org.", R_INTERNAL, "db.internal.example.org", NULL);
	check_route(&cfg, "example.org.evil", R_LAX, "example.org.evil", NULL);
	check_route(&cfg, "xexample.org", R_LAX, "xexample.org", NULL);
	check_route(&cfg, "internal.example.org", R_LAX, "internal.example.org", NULL);

	/* the router alone, given a name that differs only in case, keeps the rule too */
	in.name = "EXAMPLE.org";
	ASSERT_EQ(router_match(&cfg, &in, NULL), R_STRICT,
		  "5: router_match(\"EXAMPLE.org\") -> #1, not the default");
	in.name = "X.INTERNAL.Example.ORG";
	ASSERT_EQ(router_match(&cfg, &in, NULL), R_INTERNAL,
		  "5: router_match(\"X.INTERNAL.Example.ORG\") -> #2, not the default");
	config_free(&cfg);
}

/* --- 6. go-proxyproto CVE-2021-23351: a v1 line without a newline ------------------------ */

static void test_v1_no_newline(void)
{
	static uint8_t line[PP_MAX_LEN + 1];
	static const char start[] = "PROXY TCP4 192.0.2.7 198.51.100.1 51000 443";
	struct pp_header h;
	size_t len, allocs;
	bool ok = true;

	/*
	 * go-proxyproto read the v1 line with ReadString('\n'): without a newline it buffered
	 * whatever came, without end. The spec caps the line at 107 bytes, CRLF included, so
	 * the right answer is NEED_MORE up to 106 bytes and BAD from the 107th on. The check
	 * fails a parser that is still waiting at 107 bytes, or that answers BAD early.
	 */
	memcpy(line, start, sizeof(start) - 1);
	memset(line + sizeof(start) - 1, 'x', sizeof(line) - (sizeof(start) - 1));
	check_pp("6a: v1 without a newline, 106 bytes: need-more", NULL, line, PP1_MAX_LEN - 1,
		 PP_NEED_MORE, NULL, &h);
	check_pp("6b: v1 without a newline, 107 bytes: bad", "v1-no-newline-107", line,
		 PP1_MAX_LEN, PP_BAD, "v1: no CRLF within 107 bytes", &h);
	check_pp("6c: v1 without a newline, 4113 bytes: bad", "v1-no-newline-4113", line,
		 sizeof(line), PP_BAD, "v1: no CRLF within 107 bytes", &h);
	for (len = PP1_MAX_LEN; len <= sizeof(line) && ok; len++)
		ok = pp_parse_exact(line, len, &h, &allocs) == PP_BAD && !allocs;
	if (!ASSERT_TRUE(ok, "6d: every length from 107 to 4113 bytes: bad, nothing allocated"))
		tap_diag("  %zu bytes: %s", len - 1, h.error ? h.error : "-");

	/* a CR at byte 107 but no LF: still no line within the limit */
	line[PP1_MAX_LEN - 1] = '\r';
	check_pp("6e: v1 with CR but no LF within 107 bytes: bad", "v1-cr-no-lf-108", line,
		 PP1_MAX_LEN + 1, PP_BAD, "v1: no CRLF within 107 bytes", &h);
	/* the same CR with an LF after it: a line of 108 bytes, one too long */
	line[PP1_MAX_LEN] = '\n';
	check_pp("6f: v1 line of 108 bytes, CRLF included: bad", NULL, line, PP1_MAX_LEN + 1,
		 PP_BAD, "v1: no CRLF within 107 bytes", &h);

	/* control: a line of exactly 107 bytes, CRLF included, is a header */
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'x', PP1_MAX_LEN - 16);
	memcpy(line + PP1_MAX_LEN - 2, "\r\n", 2);
	if (check_pp("6g: control: v1 UNKNOWN line of 107 bytes: ok", NULL, line, PP1_MAX_LEN,
		     PP_OK, NULL, &h))
		ASSERT_EQ(h.len, PP1_MAX_LEN, "6g: 107 header bytes");
}

/* --- 7. go-proxyproto CVE-2021-23409: no header where one is required -------------------- */

static void test_missing_header(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
	static const uint8_t v2_ffff[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff";
	struct pp_header h;
	size_t allocs;
	unsigned int b, waits = 0;
	uint8_t c;

	/*
	 * go-proxyproto, given a connection that never sends a PROXY header, waited for one.
	 * pp_parse() never guesses: bytes that cannot start a header are BAD at once. The
	 * asserts want BAD from the very first byte of a request or a ClientHello, and, of
	 * all 256 first bytes, NEED_MORE only for the first bytes of the two signatures ('P'
	 * and '\r'); a parser that waits for more, or passes data through, fails them.
	 */
	check_pp("7a: an HTTP request instead of a header: bad", "missing-header-http",
		 LIT(http), PP_BAD, "not a PROXY v1 or v2 header", &h);
	check_pp("7b: same, from its first byte", NULL, LIT("G"), PP_BAD,
		 "not a PROXY v1 or v2 header", &h);
	hello_of(LIT(SNI_EXAMPLE ALPN_H2));
	check_pp("7c: a ClientHello instead of a header: bad", "missing-header-client-hello",
		 raw.d, raw.n, PP_BAD, "not a PROXY v1 or v2 header", &h);
	check_pp("7d: same, from its first byte", NULL, raw.d, 1, PP_BAD,
		 "not a PROXY v1 or v2 header", &h);
	for (b = 0; b < 256; b++) {
		c = (uint8_t)b;
		if (pp_parse_exact(&c, 1, &h, &allocs) != PP_BAD || allocs) {
			waits++;
			if (c != 'P' && c != '\r')
				waits += 1000;
		}
	}
	ASSERT_EQ(waits, 2, "7e: of 256 first bytes, only 'P' and '\\r' wait for more");
	/* "PROXY" then anything but a space, and a signature one byte off: BAD by then */
	check_pp("7f: \"PROXYX\": bad at byte 6", NULL, LIT("PROXYX"), PP_BAD,
		 "not a PROXY v1 or v2 header", &h);
	check_pp("7g: v2 signature with its last byte wrong: bad at byte 12", NULL,
		 LIT("\r\n\r\n\0\r\nQUIT\r"), PP_BAD, "not a PROXY v1 or v2 header", &h);
	/* a v2 header claiming 65535 bytes: BAD from its 16 bytes, not a 64 KiB wait */
	check_pp("7h: v2 length 0xffff: bad from the 16-byte header", "v2-len-ffff",
		 v2_ffff, sizeof(v2_ffff) - 1, PP_BAD, "v2: length over 4096", &h);
}

/* --- 8. CVE-2019-14243 (caddy-proxyprotocol): a v2 header with no address block ---------- */

#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define A36 "0123456789abcdef0123456789abcdef\x01\xbb\x01\xbb"

static void test_v2_no_address(void)
{
	struct pp_header h;

	/*
	 * The exact bytes of the report: version 2 PROXY, family 0x1 (INET) with transport
	 * 0x2 (DGRAM), length 0. mastercactapus/proxyprotocol read the address block that
	 * the length did not hold, and panicked. sockmux takes only STREAM for an IP address,
	 * so this is BAD on that; the exact-size copy catches a read of the missing 12 bytes.
	 */
	check_pp("8a: v2 PROXY INET/DGRAM, length 0 (the report's bytes): bad",
		 "cve-2019-14243-v2-inet-dgram-len0", LIT(SIG "\x21\x12\x00\x00"), PP_BAD,
		 "v2: an IP address over a transport other than STREAM", &h);
	/*
	 * The same lie over TCP, where only the length check stands: an address block of 0
	 * bytes for a family that needs 12 (IPv4) or 36 (IPv6). With the 36 bytes sent after
	 * the header anyway, a parser that read addresses from the payload (past the length)
	 * would say OK: the assert wants BAD on the length.
	 */
	check_pp("8b: v2 PROXY TCP4, length 0: bad", "v2-tcp4-len0", LIT(SIG "\x21\x11\x00\x00"),
		 PP_BAD, "v2: length shorter than the family's address block", &h);
	check_pp("8c: v2 PROXY TCP6, length 0: bad", "v2-tcp6-len0", LIT(SIG "\x21\x21\x00\x00"),
		 PP_BAD, "v2: length shorter than the family's address block", &h);
	check_pp("8d: v2 PROXY TCP6, length 0, 36 address bytes after it: bad",
		 "v2-tcp6-len0-then-36-bytes", LIT(SIG "\x21\x21\x00\x00" A36), PP_BAD,
		 "v2: length shorter than the family's address block", &h);
	check_pp("8e: v2 PROXY TCP6, length 35: bad", "v2-tcp6-len35",
		 LIT(SIG "\x21\x21\x00\x23" A36), PP_BAD,
		 "v2: length shorter than the family's address block", &h);
	/* control: length 36 with the same bytes is a good header of 52 bytes */
	if (check_pp("8f: control: v2 PROXY TCP6, length 36: ok", NULL,
		     LIT(SIG "\x21\x21\x00\x24" A36), PP_OK, NULL, &h))
		ASSERT_TRUE(h.len == 52 && h.has_addr && h.src.ss.ss_family == AF_INET6,
			    "8f: 52 header bytes, IPv6 addresses");
}

/* --- 9. more hellos from the peers' bug lists ------------------------------------------- */

static void test_split_records(void)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 7, 64 };
	struct tls_hello h;
	char name[128], file[64];
	size_t i;

	/*
	 * sslh and sniproxy read only the first record: a ClientHello split across records
	 * (legal, RFC 8446 5.1) was BAD or had no SNI there. Here every split, down to 1-byte
	 * records that cut the 24-bit length and the host name, must give OK with the same
	 * SNI, ALPN and hello_len as in one record, and raw_len the whole input.
	 */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		frame(sizes[i]);
		snprintf(name, sizeof(name), "9a: hello in %zu-byte records: ok", sizes[i]);
		snprintf(file, sizeof(file), "split-records-%zu", sizes[i]);
		if (!check_hello(name, sizes[i] == 1 || sizes[i] == 7 ? file : NULL, raw.d, raw.n,
				 TLS_HELLO_OK, NULL, &h))
			continue;
		snprintf(name, sizeof(name), "9a: %zu-byte records: sni, alpn, lengths as in one",
			 sizes[i]);
		ASSERT_TRUE(hello_is(&h, "example.org", "\x02h2", 3) && h.raw_len == raw.n, name);
	}
}

static void test_more_hellos(void)
{
	struct tls_hello h;

	/*
	 * A NUL inside the host name: "example.org\0.attacker.net". sniproxy and sslh took
	 * it, and anything using it as a C string sees "example.org", so the router sends to
	 * example.org's backend a hello naming another host. Must be BAD; OK fails.
	 */
	hello_of(LIT("\x00\x00\x00\x1e\x00\x1c\x00\x00\x19" "example.org\0.attacker.net"));
	check_hello("9b: NUL inside the sni: bad", "sni-nul-truncation", raw.d, raw.n,
		    TLS_HELLO_BAD, "sni has invalid byte", &h);

	/*
	 * Two host_name entries, "example.org" then "admin.internal": a router taking the
	 * first and a server taking the last disagree on the host. RFC 6066 allows one name
	 * per type: BAD. A parser keeping either name gives OK and fails.
	 */
	hello_of(LIT("\x00\x00\x00\x21\x00\x1f\x00\x00\x0b" "example.org"
		     "\x00\x00\x0e" "admin.internal"));
	check_hello("9c: two host_name entries in one server_name: bad", "sni-two-host-names",
		    raw.d, raw.n, TLS_HELLO_BAD, "duplicate host_name", &h);

	/*
	 * ALPN with a zero-length protocol name (RFC 7301: 1..255 bytes). A loop stepping by
	 * the name length never advances on 0 (a hang, which alarm() turns into a failure); a
	 * lax one matches an empty protocol. Must be BAD, first or last in the list.
	 */
	hello_of(LIT(SNI_EXAMPLE "\x00\x10\x00\x06\x00\x04\x00\x02" "h2"));
	check_hello("9d: alpn with a zero-length first name: bad", "alpn-zero-length-first",
		    raw.d, raw.n, TLS_HELLO_BAD, "alpn empty protocol name", &h);
	hello_of(LIT(SNI_EXAMPLE "\x00\x10\x00\x06\x00\x04\x02" "h2" "\x00"));
	check_hello("9e: alpn with a zero-length last name: bad", "alpn-zero-length-last", raw.d,
		    raw.n, TLS_HELLO_BAD, "alpn empty protocol name", &h);

	/*
	 * The last extension's length is one more than the block holds: a parser checking
	 * only against the record (or the buffer) reads one byte past the hello. Must be BAD.
	 */
	hello_of(LIT(SNI_EXAMPLE "\x00\x10\x00\x06\x00\x03\x02" "h2"));
	check_hello("9f: last extension length one past the block: bad", "ext-len-past-block-by-1",
		    raw.d, raw.n, TLS_HELLO_BAD, "extension length past block", &h);
	/* the block length one past the handshake body */
	exts.n = 0;
	put(&exts, LIT(SNI_EXAMPLE ALPN_H2));
	make_hs();
	patch16(&hs, HS_EXT_LEN_OFF, exts.n + 1);
	frame(16384);
	check_hello("9g: extensions block length one past the hello: bad",
		    "ext-block-past-hello-by-1", raw.d, raw.n, TLS_HELLO_BAD, "extensions length",
		    &h);
	/* control: the same hello, lengths honest */
	hello_of(LIT(SNI_EXAMPLE ALPN_H2));
	if (check_hello("9h: control: the same hello with honest lengths: ok", NULL, raw.d,
			raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(hello_is(&h, "example.org", "\x02h2", 3), "9h: sni and alpn");
}

int main(void)
{
	tap_plan_start();
	alarm(HANG_SECONDS);
	test_alloc_counter();
	test_sni_length_ffff();
	test_key_share_truncated();
	test_handshake_length_ffffff();
	test_record_length_ffff();
	test_bracketed_sni();
	test_case_and_trailing_dot();
	test_v1_no_newline();
	test_missing_header();
	test_v2_no_address();
	test_split_records();
	test_more_hellos();
	return tap_done();
}
