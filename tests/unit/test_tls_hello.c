// SPDX-License-Identifier: MIT
/*
 * test_tls_hello.c - unit tests of the ClientHello parser (user/tls_hello.c).
 *
 * Real captures from tests/fixtures/hello/ are parsed whole, truncated at every length,
 * re-framed into small records and fed prefix by prefix; hostile hellos are assembled from
 * parts by the builder below (make_hello, ext_add, frame) and then patched at the field
 * under test, so each case names the one lie it tells.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "sniff/tls_hello.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

#define BUF_CAP (128 * 1024)

/* A byte buffer for assembling hellos; big ones are static, never on the stack. */
struct buf {
	uint8_t d[BUF_CAP];
	size_t n;
};

static struct buf fix_raw;	/* a fixture as captured */
static struct buf fix_hs;	/* its handshake message, record headers removed */
static struct buf hs;		/* a handshake message under construction */
static struct buf exts;		/* an extensions block under construction */
static struct buf raw;		/* records carrying hs */

/* --- builder ---------------------------------------------------------------------------- */

static void put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > BUF_CAP) {
		tap_diag("test builder overflow");
		abort();
	}
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

static void fill(struct buf *b, uint8_t v, size_t n)
{
	while (n--)
		put8(b, v);
}

static void patch16(struct buf *b, size_t off, unsigned int v)
{
	b->d[off] = (uint8_t)(v >> 8);
	b->d[off + 1] = (uint8_t)v;
}

static void patch24(struct buf *b, size_t off, unsigned int v)
{
	b->d[off] = (uint8_t)(v >> 16);
	patch16(b, off + 1, v);
}

static unsigned int get16(const struct buf *b, size_t off)
{
	return (unsigned int)b->d[off] << 8 | b->d[off + 1];
}

/* Where make_hello put each field, as offsets into the handshake message. */
struct hello_off {
	size_t hs_len;		/* 24-bit handshake length */
	size_t version;		/* legacy_version */
	size_t sid_len;
	size_t cs_len;
	size_t comp_len;
	size_t ext_len;		/* extensions block length */
	size_t exts;		/* first extension */
};

/*
 * A TLS 1.2-style ClientHello: 32-byte session id of 0x5a bytes, two cipher suites, null
 * compression, then e as the extensions block (no block at all when e is NULL).
 */
static void make_hello(struct buf *b, const struct buf *e, struct hello_off *off)
{
	size_t i;

	b->n = 0;
	put8(b, 1);
	off->hs_len = b->n;
	put24(b, 0);
	off->version = b->n;
	put16(b, 0x0303);
	for (i = 0; i < 32; i++)
		put8(b, i * 7);
	off->sid_len = b->n;
	put8(b, 32);
	fill(b, 0x5a, 32);
	off->cs_len = b->n;
	put16(b, 4);
	put16(b, 0x1301);
	put16(b, 0x1302);
	off->comp_len = b->n;
	put8(b, 1);
	put8(b, 0);
	off->ext_len = off->exts = 0;
	if (e) {
		off->ext_len = b->n;
		put16(b, e->n);
		off->exts = b->n;
		put(b, e->d, e->n);
	}
	patch24(b, off->hs_len, b->n - 4);
}

/* Append an extension; returns its offset in the block. */
static size_t ext_add(struct buf *e, unsigned int type, const void *data, size_t len)
{
	size_t off = e->n;

	put16(e, type);
	put16(e, len);
	put(e, data, len);
	return off;
}

/* server_name with one host_name entry of len bytes. */
static size_t ext_sni(struct buf *e, const char *name, size_t len)
{
	static struct buf d;

	d.n = 0;
	put16(&d, len + 3);
	put8(&d, 0);
	put16(&d, len);
	put(&d, name, len);
	return ext_add(e, 0, d.d, d.n);
}

/* ALPN from a comma-separated list of protocol names. */
static size_t ext_alpn(struct buf *e, const char *csv)
{
	static struct buf d;
	const char *p = csv, *comma;
	size_t n;

	d.n = 2;
	for (;;) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		put8(&d, n);
		put(&d, p, n);
		if (!comma)
			break;
		p = comma + 1;
	}
	patch16(&d, 0, d.n - 2);
	return ext_add(e, 16, d.d, d.n);
}

/* Carry the handshake message in records of rec_size bytes (the last one shorter). */
static void frame(struct buf *r, const struct buf *h, size_t rec_size)
{
	size_t off, n;

	r->n = 0;
	for (off = 0; off < h->n; off += n) {
		n = h->n - off < rec_size ? h->n - off : rec_size;
		put8(r, 22);
		put16(r, 0x0301);
		put16(r, n);
		put(r, h->d + off, n);
	}
}

/* The standard hello: server_name "example.org", ALPN h2,http/1.1. */
struct std_off {
	struct hello_off h;
	size_t sni;		/* server_name extension, in hs */
	size_t alpn;		/* ALPN extension, in hs */
};

static void make_std_hello(struct std_off *o)
{
	size_t sni, alpn;

	exts.n = 0;
	sni = ext_sni(&exts, "example.org", 11);
	alpn = ext_alpn(&exts, "h2,http/1.1");
	make_hello(&hs, &exts, &o->h);
	o->sni = o->h.exts + sni;
	o->alpn = o->h.exts + alpn;
}

/* --- checks ----------------------------------------------------------------------------- */

static bool check_parse(const char *name, const uint8_t *p, size_t n, enum tls_hello_status want,
			const char *want_err, struct tls_hello *h)
{
	enum tls_hello_status st = tls_hello_parse(p, n, h);
	bool ok = st == want;

	if (want_err)
		ok = ok && h->error && strcmp(h->error, want_err) == 0;
	tap_result(ok, "%s", name);
	if (!ok)
		tap_diag("  %s: got %s (%s), expected %s (%s)", name, tls_hello_status_str(st),
			 h->error ? h->error : "-", tls_hello_status_str(want),
			 want_err ? want_err : "-");
	return ok;
}

/* Frame hs in one record (two if it is too long) and parse it. */
static bool check_hs(const char *name, enum tls_hello_status want, const char *want_err)
{
	struct tls_hello h;

	frame(&raw, &hs, 16384);
	return check_parse(name, raw.d, raw.n, want, want_err, &h);
}

/* The ALPN list of a parsed hello as "a,b,c" (GREASE names as "GREASE"). */
static const char *alpn_str(const struct tls_hello *h, char *dst, size_t size)
{
	const uint8_t *name;
	size_t pos = 0, len, o = 0;

	dst[0] = '\0';
	while (tls_hello_alpn_next(h, &pos, &name, &len)) {
		if (tls_alpn_is_grease(name, len)) {
			name = (const uint8_t *)"GREASE";
			len = 6;
		}
		if (o + len + 2 > size)
			break;
		if (o)
			dst[o++] = ',';
		memcpy(dst + o, name, len);
		o += len;
		dst[o] = '\0';
	}
	return dst;
}

/* Same result as the fixture's, field by field: one TAP line. */
static bool same_hello(const char *name, const struct tls_hello *a, const struct tls_hello *b)
{
	bool ok = a->sslv2 == b->sslv2 && a->client_version == b->client_version &&
		  a->has_sni == b->has_sni && a->sni_len == b->sni_len &&
		  strcmp(a->sni, b->sni) == 0 && a->has_alpn == b->has_alpn &&
		  a->alpn_len == b->alpn_len && memcmp(a->alpn, b->alpn, a->alpn_len) == 0 &&
		  a->alpn_count == b->alpn_count && a->hello_len == b->hello_len;

	return ASSERT_TRUE(ok, name);
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	int err = 0;

	if (!f)
		return -errno;
	b->n = fread(b->d, 1, BUF_CAP, f);
	if (ferror(f) || !feof(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* Concatenate record payloads until the handshake message is whole. */
static int unframe(const struct buf *r, struct buf *h)
{
	size_t pos = 0, n, want = 4;

	h->n = 0;
	while (h->n < want) {
		if (pos + 5 > r->n || r->d[pos] != 22)
			return -EINVAL;
		n = get16(r, pos + 3);
		if (pos + 5 + n > r->n)
			return -EINVAL;
		put(h, r->d + pos + 5, n);
		pos += 5 + n;
		if (h->n >= 4)
			want = 4 + ((size_t)h->d[1] << 16 | get16(h, 2));
	}
	h->n = want;
	return 0;
}

/* --- fixtures --------------------------------------------------------------------------- */

struct fixture {
	const char *file;
	const char *sni;	/* NULL: no server_name */
	const char *alpn;	/* NULL: no ALPN */
	unsigned int alpn_count;
	bool sslv2;
};

static const struct fixture fixtures[] = {
	{ "openssl-xmpp.bin", "example.org", "xmpp-client", 1, false },
	{ "openssl-h2.bin", "www.example.org", "h2,http/1.1", 2, false },
	{ "openssl-nosni.bin", NULL, NULL, 0, false },
	{ "curl.bin", "example.org", "h2,http/1.1", 2, false },
	{ "chromium.bin", "chat.example.org", "h2,http/1.1", 2, false },
	{ "sslv2.bin", NULL, NULL, 0, true },
};

/* Every prefix shorter than n must be NEED_MORE (one TAP line); n itself must be OK. */
static bool check_prefixes(const char *name, const uint8_t *p, size_t n)
{
	struct tls_hello h;
	enum tls_hello_status st = TLS_HELLO_NEED_MORE;
	size_t i;

	for (i = 0; i < n; i++) {
		st = tls_hello_parse(p, i, &h);
		if (st != TLS_HELLO_NEED_MORE || h.error || h.has_sni)
			break;
	}
	if (!ASSERT_EQ(i, n, name)) {
		tap_diag("  prefix of %zu bytes: %s (%s)", i, tls_hello_status_str(st),
			 h.error ? h.error : "-");
		return false;
	}
	return true;
}

static void test_fixture(const struct fixture *fx)
{
	static const size_t rec_sizes[] = { 1, 7, 100 };
	static const uint8_t after[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01,	/* CCS */
					 0x17, 0x03, 0x03, 0x00, 0x02, 'h', 'i' };
	struct tls_hello h, h2;
	char name[160], path[512], alpn[TLS_ALPN_MAX * 2];
	size_t i;

	snprintf(path, sizeof(path), "%s/hello/%s", FIXTURES, fx->file);
	snprintf(name, sizeof(name), "%s: read", fx->file);
	if (!ASSERT_OK(read_file(path, &fix_raw), name))
		return;
	snprintf(name, sizeof(name), "%s: parses ok", fx->file);
	if (!check_parse(name, fix_raw.d, fix_raw.n, TLS_HELLO_OK, NULL, &h))
		return;
	snprintf(name, sizeof(name), "%s: sslv2 is %d", fx->file, fx->sslv2);
	ASSERT_EQ(h.sslv2, fx->sslv2, name);
	snprintf(name, sizeof(name), "%s: sni \"%s\"", fx->file, fx->sni ? fx->sni : "(none)");
	if (fx->sni)
		ASSERT_TRUE(h.has_sni && strcmp(h.sni, fx->sni) == 0 &&
			    h.sni_len == strlen(fx->sni), name);
	else
		ASSERT_TRUE(!h.has_sni && h.sni_len == 0 && h.sni[0] == '\0', name);
	snprintf(name, sizeof(name), "%s: alpn \"%s\"", fx->file, fx->alpn ? fx->alpn : "(none)");
	ASSERT_STREQ(alpn_str(&h, alpn, sizeof(alpn)), fx->alpn ? fx->alpn : "", name);
	snprintf(name, sizeof(name), "%s: has_alpn %d, alpn_count %u", fx->file, !!fx->alpn,
		 fx->alpn_count);
	ASSERT_TRUE(h.has_alpn == !!fx->alpn && h.alpn_count == fx->alpn_count, name);
	snprintf(name, sizeof(name), "%s: raw_len is the capture's length, no error", fx->file);
	ASSERT_TRUE(h.raw_len == fix_raw.n && !h.error, name);
	snprintf(name, sizeof(name), "%s: every truncation is need-more", fx->file);
	check_prefixes(name, fix_raw.d, fix_raw.n);

	/* what the client sends after its hello is not the parser's business */
	raw.n = 0;
	put(&raw, fix_raw.d, fix_raw.n);
	put(&raw, after, sizeof(after));
	snprintf(name, sizeof(name), "%s: bytes after the hello ignored", fx->file);
	tls_hello_parse(raw.d, raw.n, &h2);
	ASSERT_TRUE(h2.raw_len == fix_raw.n, name);
	snprintf(name, sizeof(name), "%s: same result with bytes after", fx->file);
	same_hello(name, &h2, &h);
	if (fx->sslv2)
		return;

	snprintf(name, sizeof(name), "%s: unframe", fx->file);
	if (!ASSERT_OK(unframe(&fix_raw, &fix_hs), name))
		return;
	snprintf(name, sizeof(name), "%s: hello_len %zu", fx->file, fix_hs.n);
	ASSERT_EQ(h.hello_len, fix_hs.n, name);
	for (i = 0; i < sizeof(rec_sizes) / sizeof(rec_sizes[0]); i++) {
		frame(&raw, &fix_hs, rec_sizes[i]);
		snprintf(name, sizeof(name), "%s: in %zu-byte records: ok", fx->file, rec_sizes[i]);
		if (!check_parse(name, raw.d, raw.n, TLS_HELLO_OK, NULL, &h2))
			continue;
		snprintf(name, sizeof(name), "%s: in %zu-byte records: same result", fx->file,
			 rec_sizes[i]);
		same_hello(name, &h2, &h);
		snprintf(name, sizeof(name), "%s: in %zu-byte records: raw_len", fx->file,
			 rec_sizes[i]);
		ASSERT_EQ(h2.raw_len, raw.n, name);
		snprintf(name, sizeof(name), "%s: in %zu-byte records: prefix by prefix", fx->file,
			 rec_sizes[i]);
		check_prefixes(name, raw.d, raw.n);
	}
}

/* Chromium's hello is the one that carries GREASE and a post-quantum key share. */
static void test_chromium_shape(void)
{
	static const uint8_t mlkem_share[] = { 0x11, 0xec, 0x04, 0xc0 };	/* group, 1216 */
	char path[512];
	const uint8_t *cs;

	snprintf(path, sizeof(path), "%s/hello/chromium.bin", FIXTURES);
	if (!ASSERT_OK(read_file(path, &fix_raw), "chromium.bin: read"))
		return;
	ASSERT_TRUE(fix_raw.n > 1500, "chromium.bin: over 1500 bytes");
	/* first cipher suite: record 5, handshake 4, version 2, random 32, session id 1 + 32 */
	cs = fix_raw.d + 5 + 4 + 2 + 32 + 1 + fix_raw.d[5 + 4 + 2 + 32] + 2;
	ASSERT_TRUE(cs + 2 <= fix_raw.d + fix_raw.n && cs[0] == cs[1] && (cs[0] & 0x0f) == 0x0a,
		    "chromium.bin: first cipher suite is GREASE");
	ASSERT_TRUE(memmem(fix_raw.d, fix_raw.n, mlkem_share, sizeof(mlkem_share)) != NULL,
		    "chromium.bin: X25519MLKEM768 (0x11ec) key share of 1216 bytes");
}

/* --- hostile hellos --------------------------------------------------------------------- */

static void test_builder_baseline(void)
{
	struct std_off o;
	struct tls_hello h;

	make_std_hello(&o);
	frame(&raw, &hs, 16384);
	if (!check_parse("built hello: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		return;
	ASSERT_STREQ(h.sni, "example.org", "built hello: sni");
	ASSERT_EQ(h.alpn_count, 2, "built hello: alpn_count");
	ASSERT_EQ(h.hello_len, hs.n, "built hello: hello_len");
	ASSERT_EQ(h.record_version, 0x0301, "built hello: record_version");
	ASSERT_EQ(h.client_version, 0x0303, "built hello: client_version");
	check_prefixes("built hello: every truncation is need-more", raw.d, raw.n);

	make_hello(&hs, NULL, &o.h);
	frame(&raw, &hs, 16384);
	if (check_parse("hello without extensions block: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(!h.has_sni && !h.has_alpn, "hello without extensions: no sni, no alpn");
	put8(&hs, 0);
	patch24(&hs, o.h.hs_len, hs.n - 4);
	check_hs("one byte after compression_methods: bad", TLS_HELLO_BAD,
		 "trailing byte after compression_methods");
}

static void test_record_lies(void)
{
	static const uint8_t tiny[] = { 22, 3, 1, 0x40, 0x01 };
	struct std_off o;
	struct tls_hello h;
	size_t rec2;

	make_std_hello(&o);
	frame(&raw, &hs, 16384);
	patch16(&raw, 3, 0);
	check_parse("record length 0: bad", raw.d, raw.n, TLS_HELLO_BAD, "record length 0", &h);
	check_parse("record length 16385: bad from the header alone", tiny, sizeof(tiny),
		    TLS_HELLO_BAD, "record length over 16384", &h);

	/* a record longer than the hello: the hello ends inside it, the rest is not needed */
	frame(&raw, &hs, 16384);
	patch16(&raw, 3, hs.n + 100);
	check_parse("record length past the hello: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h);

	/* a record shorter than the hello: the next "header" is session id bytes (0x5a) */
	frame(&raw, &hs, 16384);
	patch16(&raw, 3, 50);
	check_parse("record length short of the hello: bad", raw.d, raw.n, TLS_HELLO_BAD,
		    "record type not handshake", &h);

	/* every record that carries the hello must be a handshake record of version 3.x */
	frame(&raw, &hs, 100);
	rec2 = 5 + 100;
	raw.d[rec2] = 0x17;
	check_parse("application_data record inside the hello: bad", raw.d, raw.n, TLS_HELLO_BAD,
		    "record type not handshake", &h);
	check_parse("application_data record header alone: bad", raw.d, rec2 + 1, TLS_HELLO_BAD,
		    "record type not handshake", &h);
	frame(&raw, &hs, 100);
	raw.d[rec2 + 1] = 2;
	check_parse("second record version 2.x: bad", raw.d, raw.n, TLS_HELLO_BAD,
		    "record version", &h);
	frame(&raw, &hs, 100);
	raw.d[1] = 0;
	check_parse("first record version 0.x: bad", raw.d, 2, TLS_HELLO_BAD, "record version", &h);
	frame(&raw, &hs, 100);
	patch16(&raw, rec2 + 3, 0);
	check_parse("second record length 0: bad", raw.d, raw.n, TLS_HELLO_BAD, "record length 0",
		    &h);
}

static void test_handshake_lies(void)
{
	static const uint8_t top[] = { 22, 3, 1, 0x40, 0x00, 1, 0x01 };
	static const uint8_t over[] = { 22, 3, 1, 0x40, 0x00, 1, 0x00, 0x3f, 0xfd };
	static const uint8_t sh[] = { 22, 3, 3, 0, 50, 2 };
	struct std_off o;
	struct tls_hello h;
	size_t len;

	check_parse("handshake length over 65535: bad from its first byte", top, sizeof(top),
		    TLS_HELLO_BAD, "handshake length over 16384", &h);
	check_parse("handshake length 16381: bad from the 9-byte header", over, sizeof(over),
		    TLS_HELLO_BAD, "handshake length over 16384", &h);
	check_parse("handshake type 2 (server_hello): bad", sh, sizeof(sh), TLS_HELLO_BAD,
		    "handshake type not client_hello", &h);

	make_std_hello(&o);
	len = hs.n - 4;
	patch24(&hs, o.h.hs_len, len + 1);
	check_hs("handshake length one too long: bad (extensions end early)", TLS_HELLO_BAD,
		 "extensions length");
	patch24(&hs, o.h.hs_len, len - 1);
	check_hs("handshake length one too short: bad (extensions overrun)", TLS_HELLO_BAD,
		 "extensions length");
	patch24(&hs, o.h.hs_len, 40);
	check_hs("handshake length 40: bad", TLS_HELLO_BAD, "handshake length too small");
	patch24(&hs, o.h.hs_len, 41);
	check_hs("handshake length 41 with a 32-byte session id: bad", TLS_HELLO_BAD,
		 "session_id past hello end");

	/*
	 * An honest length for bytes still in flight: handshake, extensions block and record
	 * all claim 100 more bytes than sent. Nothing contradicts yet, so it is need-more.
	 */
	make_std_hello(&o);
	patch24(&hs, o.h.hs_len, hs.n - 4 + 100);
	patch16(&hs, o.h.ext_len, get16(&hs, o.h.ext_len) + 100);
	frame(&raw, &hs, 16384);
	patch16(&raw, 3, hs.n + 100);
	check_parse("all lengths claim 100 more bytes than sent: need-more", raw.d, raw.n,
		    TLS_HELLO_NEED_MORE, NULL, &h);

	make_std_hello(&o);
	patch16(&hs, o.h.version, 0x0200);
	check_hs("client version 0x0200: bad", TLS_HELLO_BAD, "client version");
}

static void test_body_lies(void)
{
	struct std_off o;

	make_std_hello(&o);
	hs.d[o.h.sid_len] = 33;
	check_hs("session_id length 33: bad", TLS_HELLO_BAD, "session_id length over 32");

	make_std_hello(&o);
	patch16(&hs, o.h.cs_len, 3);
	check_hs("cipher_suites length odd: bad", TLS_HELLO_BAD, "cipher_suites length");
	patch16(&hs, o.h.cs_len, 0);
	check_hs("cipher_suites length 0: bad", TLS_HELLO_BAD, "cipher_suites length");
	patch16(&hs, o.h.cs_len, 0xfffe);
	check_hs("cipher_suites past hello end: bad", TLS_HELLO_BAD,
		 "cipher_suites past hello end");

	make_std_hello(&o);
	hs.d[o.h.comp_len] = 0xff;
	check_hs("compression_methods past hello end: bad", TLS_HELLO_BAD,
		 "compression_methods past hello end");
	hs.d[o.h.comp_len] = 0;
	check_hs("compression_methods empty: bad", TLS_HELLO_BAD, "compression_methods empty");

	make_std_hello(&o);
	patch16(&hs, o.h.ext_len, get16(&hs, o.h.ext_len) + 1);
	check_hs("extensions block length too long: bad", TLS_HELLO_BAD, "extensions length");
	patch16(&hs, o.h.ext_len, get16(&hs, o.h.ext_len) - 2);
	check_hs("extensions block length too short: bad", TLS_HELLO_BAD, "extensions length");

	make_std_hello(&o);
	patch16(&hs, o.sni + 2, 0x0100);
	check_hs("extension length past the block: bad", TLS_HELLO_BAD,
		 "extension length past block");
	make_std_hello(&o);
	patch16(&hs, o.alpn + 2, get16(&hs, o.alpn + 2) + 1);
	check_hs("last extension length one past the block: bad", TLS_HELLO_BAD,
		 "extension length past block");

	/* a block whose last 3 bytes cannot hold an extension header */
	exts.n = 0;
	ext_sni(&exts, "example.org", 11);
	put(&exts, "\x00\x15\x00", 3);
	make_hello(&hs, &exts, &o.h);
	check_hs("extension header truncated by the block: bad", TLS_HELLO_BAD,
		 "extension header truncated");
}

static void test_server_name_lies(void)
{
	struct std_off o;
	size_t list = 0, name = 0;

	make_std_hello(&o);
	list = o.sni + 4;
	name = list + 3;
	patch16(&hs, list, get16(&hs, list) + 1);
	check_hs("server_name_list length too long: bad", TLS_HELLO_BAD, "server_name_list length");
	patch16(&hs, list, get16(&hs, list) - 2);
	check_hs("server_name_list length too short: bad", TLS_HELLO_BAD,
		 "server_name_list length");
	patch16(&hs, list, 0);
	check_hs("server_name_list length 0: bad", TLS_HELLO_BAD, "server_name_list length");

	make_std_hello(&o);
	patch16(&hs, name, 12);
	check_hs("host_name length past the list: bad", TLS_HELLO_BAD,
		 "server_name length past list");
	patch16(&hs, name, 10);
	check_hs("host_name length one short: bad (1 byte left in list)", TLS_HELLO_BAD,
		 "server_name entry truncated");
	patch16(&hs, name, 0);
	check_hs("host_name length 0: bad", TLS_HELLO_BAD, "sni length");

	/* an empty host_name that the list accounts for */
	exts.n = 0;
	ext_sni(&exts, "", 0);
	make_hello(&hs, &exts, &o.h);
	check_hs("host_name of 0 bytes: bad", TLS_HELLO_BAD, "sni length");

	exts.n = 0;
	ext_add(&exts, 0, NULL, 0);
	make_hello(&hs, &exts, &o.h);
	check_hs("empty server_name extension: bad", TLS_HELLO_BAD, "server_name extension length");
}

static void test_alpn_lies(void)
{
	struct std_off o;
	size_t list;

	make_std_hello(&o);
	list = o.alpn + 4;
	patch16(&hs, list, get16(&hs, list) + 1);
	check_hs("alpn list length too long: bad", TLS_HELLO_BAD, "alpn list length");
	patch16(&hs, list, get16(&hs, list) - 2);
	check_hs("alpn list length too short: bad", TLS_HELLO_BAD, "alpn list length");

	make_std_hello(&o);
	hs.d[list + 2] = 0;
	check_hs("alpn name length 0: bad", TLS_HELLO_BAD, "alpn empty protocol name");
	hs.d[list + 2] = 12;
	check_hs("alpn name length past the list: bad", TLS_HELLO_BAD,
		 "alpn name length past list");
	make_std_hello(&o);
	hs.d[list + 2 + 3] = 9;
	check_hs("last alpn name one past the list: bad", TLS_HELLO_BAD,
		 "alpn name length past list");

	exts.n = 0;
	ext_add(&exts, 16, "\x00\x00", 2);
	make_hello(&hs, &exts, &o.h);
	check_hs("empty alpn list: bad", TLS_HELLO_BAD, "alpn list length");
	exts.n = 0;
	ext_add(&exts, 16, NULL, 0);
	make_hello(&hs, &exts, &o.h);
	check_hs("empty alpn extension: bad", TLS_HELLO_BAD, "alpn extension length");
}

/* An ALPN list of exactly len bytes, of names of up to 255 bytes. */
static void ext_alpn_of_len(struct buf *e, size_t len)
{
	static struct buf d;
	size_t n;

	d.n = 0;
	put16(&d, len);
	while (len > 0) {
		n = len - 1 > 255 ? 255 : len - 1;
		if (len - 1 - n == 1)	/* never leave a single byte: it cannot hold a name */
			n--;
		put8(&d, n);
		fill(&d, 'p', n);
		len -= n + 1;
	}
	ext_add(e, 16, d.d, d.n);
}

static void test_alpn(void)
{
	struct hello_off o;
	struct tls_hello h;
	char alpn[256];

	exts.n = 0;
	ext_alpn(&exts, "\x0a\x0a,h2,\x3a\x3a,http/1.1");
	make_hello(&hs, &exts, &o);
	if (check_hs("alpn with GREASE names: ok", TLS_HELLO_OK, NULL)) {
		tls_hello_parse(raw.d, raw.n, &h);
		ASSERT_STREQ(alpn_str(&h, alpn, sizeof(alpn)), "GREASE,h2,GREASE,http/1.1",
			     "alpn GREASE names kept, in order");
		ASSERT_EQ(h.alpn_count, 4, "alpn_count counts GREASE names");
	}

	exts.n = 0;
	ext_alpn_of_len(&exts, TLS_ALPN_MAX);
	make_hello(&hs, &exts, &o);
	if (check_hs("alpn list of TLS_ALPN_MAX bytes: ok", TLS_HELLO_OK, NULL)) {
		tls_hello_parse(raw.d, raw.n, &h);
		ASSERT_EQ(h.alpn_len, TLS_ALPN_MAX, "alpn_len is TLS_ALPN_MAX");
	}
	exts.n = 0;
	ext_alpn_of_len(&exts, TLS_ALPN_MAX + 1);
	make_hello(&hs, &exts, &o);
	check_hs("alpn list of TLS_ALPN_MAX + 1 bytes: bad", TLS_HELLO_BAD, "alpn list too long");
}

static void test_duplicates(void)
{
	static const uint8_t groups[] = { 0, 2, 0, 0x1d };
	struct hello_off o;
	struct tls_hello h;

	exts.n = 0;
	ext_sni(&exts, "a.example", 9);
	ext_sni(&exts, "b.example", 9);
	make_hello(&hs, &exts, &o);
	check_hs("duplicate server_name extension: bad", TLS_HELLO_BAD, "duplicate server_name");

	exts.n = 0;
	ext_sni(&exts, "a.example", 9);
	ext_alpn(&exts, "h2");
	ext_alpn(&exts, "h2");
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	check_parse("duplicate alpn extension: bad", raw.d, raw.n, TLS_HELLO_BAD, "duplicate alpn",
		    &h);
	ASSERT_TRUE(!h.has_sni && !h.has_alpn && h.sni[0] == '\0',
		    "bad hello leaves nothing half-parsed in out");

	exts.n = 0;
	ext_add(&exts, 10, groups, sizeof(groups));
	ext_sni(&exts, "a.example", 9);
	ext_add(&exts, 10, groups, sizeof(groups));
	make_hello(&hs, &exts, &o);
	check_hs("duplicate supported_groups extension: bad", TLS_HELLO_BAD, "duplicate extension");

	/* two host_name entries in one server_name list (RFC 6066: one name per type) */
	exts.n = 0;
	ext_add(&exts, 0, "\x00\x0a\x00\x00\x01" "a" "\x00\x00\x02" "bb", 12);
	make_hello(&hs, &exts, &o);
	check_hs("two host_name entries in the list: bad", TLS_HELLO_BAD, "duplicate host_name");

	/* an entry of another name_type is skipped; the host_name after it is taken */
	exts.n = 0;
	ext_add(&exts, 0, "\x00\x09\x07\x00\x02" "xx" "\x00\x00\x01" "c", 11);
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	if (check_parse("name_type 7 entry skipped: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_STREQ(h.sni, "c", "host_name after a name_type 7 entry");
	exts.n = 0;
	ext_add(&exts, 0, "\x00\x05\x07\x00\x02" "xx", 7);
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	if (check_parse("server_name without host_name: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_FALSE(h.has_sni, "server_name without host_name: no sni");
}

static void test_grease_and_unknown(void)
{
	struct hello_off o;
	struct tls_hello h;
	unsigned int i;
	char alpn[64];

	exts.n = 0;
	ext_add(&exts, 0x0a0a, NULL, 0);
	ext_add(&exts, 0x1234, "whatever", 8);
	ext_sni(&exts, "grease.example", 14);
	ext_add(&exts, 0x0a0a, "\x00", 1);	/* GREASE twice: not a duplicate */
	ext_add(&exts, 0xfafa, "\x00\x01\x02", 3);
	ext_alpn(&exts, "h2");
	ext_add(&exts, 0xff01, "\x00", 1);
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	if (check_parse("GREASE and unknown extensions skipped: ok", raw.d, raw.n, TLS_HELLO_OK,
			NULL, &h)) {
		ASSERT_STREQ(h.sni, "grease.example", "sni read past GREASE and unknown ones");
		ASSERT_STREQ(alpn_str(&h, alpn, sizeof(alpn)), "h2", "alpn read past them");
	}

	for (i = 0; i < 16; i++) {
		uint8_t g[2] = { (uint8_t)(i << 4 | 0x0a), (uint8_t)(i << 4 | 0x0a) };

		if (!tls_alpn_is_grease(g, 2))
			break;
	}
	ASSERT_EQ(i, 16, "tls_alpn_is_grease: all 16 GREASE values");
	ASSERT_FALSE(tls_alpn_is_grease((const uint8_t *)"h2", 2), "tls_alpn_is_grease: h2");
	ASSERT_FALSE(tls_alpn_is_grease((const uint8_t *)"\x0a\x1a", 2),
		     "tls_alpn_is_grease: 0x0a1a");
	ASSERT_FALSE(tls_alpn_is_grease((const uint8_t *)"\x0a\x0a\x0a", 3),
		     "tls_alpn_is_grease: 3 bytes");
	ASSERT_FALSE(tls_alpn_is_grease((const uint8_t *)"\x0b\x0b", 2),
		     "tls_alpn_is_grease: 0x0b0b");
}

/*
 * encrypted_client_hello (0xfe0d, draft-ietf-tls-esni): the outer hello carries it with its
 * SNI in the clear; has_ech says so, the SNI stays the outer one. Chromium sends a GREASE ECH
 * extension of that type when it has no ECH configuration: the same on the wire.
 */
static void test_ech(void)
{
	static const uint8_t ech[] = { 0, 0, 1, 0, 1, 0x2a, 0, 0x20 };	/* outer, truncated */
	struct hello_off o;
	struct tls_hello h;
	char path[512];

	exts.n = 0;
	ext_sni(&exts, "public.example.org", 18);
	ext_add(&exts, 0xfe0d, ech, sizeof(ech));
	ext_alpn(&exts, "h2");
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	if (check_parse("ech extension: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h)) {
		ASSERT_TRUE(h.has_ech, "ech extension: has_ech");
		ASSERT_STREQ(h.sni, "public.example.org", "ech extension: the outer sni");
	}
	frame(&raw, &hs, 7);
	if (check_parse("ech extension in 7-byte records: ok", raw.d, raw.n, TLS_HELLO_OK, NULL,
			&h))
		ASSERT_TRUE(h.has_ech, "ech extension in 7-byte records: has_ech");

	exts.n = 0;
	ext_sni(&exts, "public.example.org", 18);
	ext_add(&exts, 0xfe0c, ech, sizeof(ech));	/* an older draft's number */
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	if (check_parse("extension 0xfe0c: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_FALSE(h.has_ech, "extension 0xfe0c: no has_ech");

	exts.n = 0;
	ext_add(&exts, 0xfe0d, ech, sizeof(ech));
	ext_add(&exts, 0xfe0d, ech, sizeof(ech));
	make_hello(&hs, &exts, &o);
	check_hs("ech extension twice: bad", TLS_HELLO_BAD, "duplicate extension");

	snprintf(path, sizeof(path), "%s/hello/chromium.bin", FIXTURES);
	if (ASSERT_OK(read_file(path, &fix_raw), "chromium.bin: read") &&
	    check_parse("chromium.bin: ok", fix_raw.d, fix_raw.n, TLS_HELLO_OK, NULL, &h)) {
		ASSERT_TRUE(h.has_ech, "chromium.bin: GREASE ECH extension, has_ech");
		ASSERT_STREQ(h.sni, "chat.example.org", "chromium.bin: sni stays the outer one");
	}
	snprintf(path, sizeof(path), "%s/hello/curl.bin", FIXTURES);
	if (ASSERT_OK(read_file(path, &fix_raw), "curl.bin: read") &&
	    check_parse("curl.bin: ok", fix_raw.d, fix_raw.n, TLS_HELLO_OK, NULL, &h))
		ASSERT_FALSE(h.has_ech, "curl.bin: no ech extension");
}

static bool check_sni(const char *name, const char *sni, size_t len, enum tls_hello_status want,
		      const char *want_err, const char *want_sni)
{
	struct hello_off o;
	struct tls_hello h;
	bool ok;

	exts.n = 0;
	ext_sni(&exts, sni, len);
	make_hello(&hs, &exts, &o);
	frame(&raw, &hs, 16384);
	ok = check_parse(name, raw.d, raw.n, want, want_err, &h);
	if (ok && want_sni) {
		ok = ASSERT_STREQ(h.sni, want_sni, name);
		ok = ok && ASSERT_EQ(h.sni_len, strlen(want_sni), name);
	}
	return ok;
}

static void test_sni(void)
{
	static char name[300], want[300];

	check_sni("sni Example.ORG. -> example.org", "Example.ORG.", 12, TLS_HELLO_OK, NULL,
		  "example.org");
	check_sni("sni _xmpp-client.Ex-1.org kept", "_xmpp-client.Ex-1.org", 21, TLS_HELLO_OK, NULL,
		  "_xmpp-client.ex-1.org");
	check_sni("sni a..: an empty label, bad", "a..", 3, TLS_HELLO_BAD, "sni has an empty label",
		  NULL);
	check_sni("sni example.org..: bad, not example.org", "example.org..", 13, TLS_HELLO_BAD,
		  "sni has an empty label", NULL);
	check_sni("sni a..b: bad", "a..b", 4, TLS_HELLO_BAD, "sni has an empty label", NULL);
	check_sni("sni .a: bad", ".a", 2, TLS_HELLO_BAD, "sni has an empty label", NULL);
	check_sni("sni with NUL: bad", "exa\0mple.org", 12, TLS_HELLO_BAD, "sni has invalid byte",
		  NULL);
	check_sni("sni with trailing NUL: bad", "example.org\0", 12, TLS_HELLO_BAD,
		  "sni has invalid byte", NULL);
	check_sni("sni with space: bad", "exa mple.org", 12, TLS_HELLO_BAD, "sni has invalid byte",
		  NULL);
	check_sni("sni with '*': bad", "*.example.org", 13, TLS_HELLO_BAD, "sni has invalid byte",
		  NULL);
	check_sni("sni with '/': bad", "example.org/x", 13, TLS_HELLO_BAD, "sni has invalid byte",
		  NULL);
	check_sni("sni with 0xc3 (UTF-8): bad", "caf\xc3\xa9.org", 9, TLS_HELLO_BAD,
		  "sni has invalid byte", NULL);
	check_sni("sni \".\": bad", ".", 1, TLS_HELLO_BAD, "sni empty", NULL);

	/* 253 bytes in labels of 63: the longest host name (hostname.h) */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	check_sni("sni of 253 bytes in labels of 63: ok", name, 253, TLS_HELLO_OK, NULL, name);
	memcpy(want, name, 254);
	name[253] = '.';
	check_sni("sni of 253 bytes and the root dot: 253 kept", name, 254, TLS_HELLO_OK, NULL,
		  want);
	name[253] = 'a';
	check_sni("sni of 254 bytes: bad", name, 254, TLS_HELLO_BAD, "sni longer than 253 bytes",
		  NULL);
	check_sni("sni of 256 bytes: bad", name, TLS_SNI_MAX + 1, TLS_HELLO_BAD, "sni length", NULL);
	memset(name, 'a', 64);
	check_sni("sni with a label of 64 bytes: bad", name, 64, TLS_HELLO_BAD,
		  "sni has a label longer than 63 bytes", NULL);
}

/* A hello padded (extension 21) to exactly hello_len bytes. */
static void make_padded_hello(size_t hello_len)
{
	static struct buf pad;
	struct hello_off o;

	exts.n = 0;
	ext_sni(&exts, "big.example", 11);
	make_hello(&hs, &exts, &o);
	pad.n = 0;
	fill(&pad, 0, hello_len - hs.n - 4);
	ext_add(&exts, 21, pad.d, pad.n);
	make_hello(&hs, &exts, &o);
}

static void test_limits(void)
{
	struct tls_hello h;

	make_padded_hello(TLS_HELLO_MAX_LEN);
	frame(&raw, &hs, 16384);
	if (check_parse("hello of TLS_HELLO_MAX_LEN bytes in 2 records: ok", raw.d, raw.n,
			TLS_HELLO_OK, NULL, &h)) {
		ASSERT_EQ(h.hello_len, TLS_HELLO_MAX_LEN, "hello_len is TLS_HELLO_MAX_LEN");
		ASSERT_STREQ(h.sni, "big.example", "sni of the largest hello");
	}
	patch24(&hs, 1, TLS_HELLO_MAX_LEN - 3);
	frame(&raw, &hs, 16384);
	check_parse("hello of TLS_HELLO_MAX_LEN + 1 bytes: bad from the first 9 bytes", raw.d, 9,
		    TLS_HELLO_BAD, "handshake length over 16384", &h);

	/* 8000 bytes in 1-byte records: 48000 raw bytes, over TLS_HELLO_MAX_RAW */
	make_padded_hello(8000);
	frame(&raw, &hs, 1);
	check_parse("hello needing more than TLS_HELLO_MAX_RAW raw bytes: bad", raw.d, raw.n,
		    TLS_HELLO_BAD, "hello over raw size limit", &h);
	check_parse("same, given exactly TLS_HELLO_MAX_RAW bytes: bad", raw.d, TLS_HELLO_MAX_RAW,
		    TLS_HELLO_BAD, "hello over raw size limit", &h);
	check_parse("same, given 1000 bytes: need-more", raw.d, 1000, TLS_HELLO_NEED_MORE, NULL,
		    &h);
	frame(&raw, &hs, 100);
	check_parse("same hello in 100-byte records: ok", raw.d, raw.n, TLS_HELLO_OK, NULL, &h);
}

static void test_not_tls(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "HTTP request", "GET / HTTP/1.1\r\n", 16 },
		{ "SSH banner", "SSH-2.0-OpenSSH", 15 },
		{ "XMPP stream", "<?xml", 5 },
		{ "lone 0x00", "\x00", 1 },
		{ "CCS record first", "\x14\x03\x03\x00\x01\x01", 6 },
		{ "high bit, not an SSLv2 CLIENT-HELLO (type 2)", "\x80\x2e\x02\x03\x01", 5 },
		{ "high bit, SSLv2 type 1, version 0x0102", "\x80\x2e\x01\x01\x02", 5 },
		{ "high bit, SSLv2 type 1, version 0x0003", "\x80\x2e\x01\x00\x03", 5 },
	};
	char name[160];
	struct tls_hello h;
	size_t i;

	check_parse("0 bytes: need-more", (const uint8_t *)"", 0, TLS_HELLO_NEED_MORE, NULL, &h);
	check_parse("0x16 alone: need-more", (const uint8_t *)"\x16", 1, TLS_HELLO_NEED_MORE, NULL,
		    &h);
	check_parse("0x80 alone: need-more (may be SSLv2)", (const uint8_t *)"\x80", 1,
		    TLS_HELLO_NEED_MORE, NULL, &h);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "%s: not-tls", cases[i].name);
		if (!check_parse(name, (const uint8_t *)cases[i].bytes, cases[i].len,
				 TLS_HELLO_NOT_TLS, NULL, &h))
			continue;
		snprintf(name, sizeof(name), "%s: error set", cases[i].name);
		ASSERT_TRUE(h.error != NULL, name);
	}
	check_parse("HTTP request: not-tls from its first byte", (const uint8_t *)"G", 1,
		    TLS_HELLO_NOT_TLS, NULL, &h);
}

static void test_sslv2(void)
{
	static uint8_t v2[48];
	char path[512];
	struct tls_hello h;

	snprintf(path, sizeof(path), "%s/hello/sslv2.bin", FIXTURES);
	if (!ASSERT_OK(read_file(path, &fix_raw), "sslv2.bin: read") ||
	    !ASSERT_EQ(fix_raw.n, sizeof(v2), "sslv2.bin: 48 bytes"))
		return;
	memcpy(v2, fix_raw.d, sizeof(v2));
	if (check_parse("sslv2: ok", v2, sizeof(v2), TLS_HELLO_OK, NULL, &h))
		ASSERT_TRUE(h.sslv2 && h.client_version == 0x0301 && h.raw_len == 48 &&
				    !h.has_sni && !h.has_alpn,
			    "sslv2: sslv2, client_version 0x0301, raw_len 48, no sni/alpn");
	v2[3] = 0x00;
	v2[4] = 0x02;
	check_parse("sslv2 version 0x0002: ok", v2, sizeof(v2), TLS_HELLO_OK, NULL, &h);
	v2[10] = 15;
	check_parse("sslv2 challenge of 15 bytes: bad", v2, sizeof(v2), TLS_HELLO_BAD,
		    "sslv2 challenge length", &h);
	v2[10] = 17;
	check_parse("sslv2 lengths not adding up: bad", v2, sizeof(v2), TLS_HELLO_BAD,
		    "sslv2 record length", &h);
	v2[10] = 16;
	v2[6] = 20;
	check_parse("sslv2 cipher_specs not a multiple of 3: bad", v2, sizeof(v2), TLS_HELLO_BAD,
		    "sslv2 cipher_specs length", &h);
	v2[6] = 21;
	v2[8] = 1;
	check_parse("sslv2 session_id of 1 byte: bad", v2, sizeof(v2), TLS_HELLO_BAD,
		    "sslv2 session_id length", &h);
	v2[8] = 0;
	v2[0] = 0xff;
	check_parse("sslv2 record length over 16384: bad", v2, 5, TLS_HELLO_BAD,
		    "sslv2 length over 16384", &h);
}

static void test_status_str(void)
{
	ASSERT_STREQ(tls_hello_status_str(TLS_HELLO_OK), "ok", "status_str ok");
	ASSERT_STREQ(tls_hello_status_str(TLS_HELLO_NEED_MORE), "need-more", "status_str need-more");
	ASSERT_STREQ(tls_hello_status_str(TLS_HELLO_NOT_TLS), "not-tls", "status_str not-tls");
	ASSERT_STREQ(tls_hello_status_str(TLS_HELLO_BAD), "bad", "status_str bad");
}

int main(void)
{
	size_t i;

	tap_plan_start();
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		test_fixture(&fixtures[i]);
	test_chromium_shape();
	test_builder_baseline();
	test_record_lies();
	test_handshake_lies();
	test_body_lies();
	test_server_name_lies();
	test_alpn_lies();
	test_alpn();
	test_duplicates();
	test_grease_and_unknown();
	test_ech();
	test_sni();
	test_limits();
	test_not_tls();
	test_sslv2();
	test_status_str();
	return tap_done();
}
