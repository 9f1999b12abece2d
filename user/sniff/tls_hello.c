// SPDX-License-Identifier: MIT
/*
 * tls_hello.c - TLS ClientHello parser (see tls_hello.h).
 *
 * The hello is read in place through a cursor over the record stream (struct hello_reader)
 * that steps over record headers as it goes, so a hello split across records or TCP reads
 * needs neither a copy nor an allocation. Every length is checked against the enclosing one
 * (record, handshake body, extension, list) before anything is read, so a lying length is
 * TLS_HELLO_BAD as soon as it is seen, while honest bytes that have not arrived yet are
 * TLS_HELLO_NEED_MORE. The parse is sequential: on a prefix of any input the result is
 * either TLS_HELLO_NEED_MORE or the result on the whole input.
 */
#include <string.h>

#include "hostname.h"
#include "sniff/tls_hello.h"

#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX 16384		/* TLSPlaintext.length limit, RFC 8446 5.1 */
#define TLS_CT_HANDSHAKE 22
#define TLS_HT_CLIENT_HELLO 1
#define TLS_HS_HEADER 4
/* legacy_version, random, three length bytes, one cipher suite, one compression method */
#define TLS_HELLO_MIN_BODY (2 + 32 + 1 + 2 + 2 + 1 + 1)
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_EXT_ECH 0xfe0d		/* draft-ietf-tls-esni: the outer hello carries it */
#define TLS_SNI_HOST_NAME 0

#define SSL2_HEADER 2
#define SSL2_MT_CLIENT_HELLO 1
#define SSL2_HELLO_FIXED 9		/* msg_type, version and three 2-byte lengths */

/* A cursor over the handshake bytes carried by a stream of TLS records. */
struct hello_reader {
	const uint8_t *buf;
	size_t len;		/* raw bytes received */
	size_t pos;		/* raw offset of the next byte */
	size_t rec_left;	/* payload bytes left in the current record */
	size_t hs_pos;		/* handshake bytes consumed */
	size_t hs_end;		/* handshake bytes the message holds, once its header is read */
	uint16_t record_version;	/* of the first record */
	const char *error;
};

static enum tls_hello_status bad(struct hello_reader *rd, const char *why)
{
	rd->error = why;
	return TLS_HELLO_BAD;
}

static enum tls_hello_status not_tls(struct hello_reader *rd, const char *why)
{
	rd->error = why;
	return TLS_HELLO_NOT_TLS;
}

/* Body bytes left in the handshake message. */
static size_t rd_left(const struct hello_reader *rd)
{
	return rd->hs_end - rd->hs_pos;
}

/* Step over the header of the next record, checking it byte by byte as it arrives. */
static enum tls_hello_status rd_record(struct hello_reader *rd)
{
	const uint8_t *h = rd->buf + rd->pos;
	size_t have = rd->len - rd->pos;
	size_t rec_len;

	/* the header is read only when a payload byte is needed, at pos + 5 */
	if (rd->pos + TLS_RECORD_HEADER >= TLS_HELLO_MAX_RAW)
		return bad(rd, "hello over raw size limit");
	if (have < 1)
		return TLS_HELLO_NEED_MORE;
	if (h[0] != TLS_CT_HANDSHAKE)
		return bad(rd, "record type not handshake");
	if (have < 2)
		return TLS_HELLO_NEED_MORE;
	if (h[1] != 3)
		return bad(rd, "record version");
	if (have < TLS_RECORD_HEADER)
		return TLS_HELLO_NEED_MORE;
	rec_len = (size_t)h[3] << 8 | h[4];
	if (rec_len == 0)
		return bad(rd, "record length 0");
	if (rec_len > TLS_RECORD_MAX)
		return bad(rd, "record length over 16384");
	if (rd->pos == 0)
		rd->record_version = (uint16_t)(h[1] << 8 | h[2]);
	rd->pos += TLS_RECORD_HEADER;
	rd->rec_left = rec_len;
	return TLS_HELLO_OK;
}

/*
 * Make the next handshake bytes readable: on TLS_HELLO_OK, *n >= 1 bytes are contiguous at
 * buf + pos (at most want).
 */
static enum tls_hello_status rd_chunk(struct hello_reader *rd, size_t want,
				      size_t *n)
{
	enum tls_hello_status st;
	size_t c;

	while (rd->rec_left == 0) {
		st = rd_record(rd);
		if (st != TLS_HELLO_OK)
			return st;
	}
	if (rd->pos >= TLS_HELLO_MAX_RAW)
		return bad(rd, "hello over raw size limit");
	if (rd->pos >= rd->len)
		return TLS_HELLO_NEED_MORE;
	c = rd->rec_left;
	if (c > rd->len - rd->pos)
		c = rd->len - rd->pos;
	if (c > TLS_HELLO_MAX_RAW - rd->pos)
		c = TLS_HELLO_MAX_RAW - rd->pos;
	if (c > want)
		c = want;
	*n = c;
	return TLS_HELLO_OK;
}

static void rd_advance(struct hello_reader *rd, size_t n)
{
	rd->pos += n;
	rd->rec_left -= n;
	rd->hs_pos += n;
}

/* Copy the next n handshake bytes to dst, or skip them when dst is NULL. */
static enum tls_hello_status rd_read(struct hello_reader *rd, uint8_t *dst,
				     size_t n)
{
	enum tls_hello_status st;
	size_t c;

	if (n > rd_left(rd))
		return bad(rd, "field past hello end");
	while (n > 0) {
		st = rd_chunk(rd, n, &c);
		if (st != TLS_HELLO_OK)
			return st;
		if (dst) {
			memcpy(dst, rd->buf + rd->pos, c);
			dst += c;
		}
		rd_advance(rd, c);
		n -= c;
	}
	return TLS_HELLO_OK;
}

static enum tls_hello_status rd_u8(struct hello_reader *rd, uint8_t *v)
{
	return rd_read(rd, v, 1);
}

static enum tls_hello_status rd_u16(struct hello_reader *rd, size_t *v)
{
	enum tls_hello_status st;
	uint8_t b[2];

	st = rd_read(rd, b, sizeof(b));
	if (st == TLS_HELLO_OK)
		*v = (size_t)b[0] << 8 | b[1];
	return st;
}

static bool ext_is_grease(unsigned int type)
{
	return (type & 0x0f0f) == 0x0a0a && (type >> 8) == (type & 0xff);
}

/* HostName: as hostname.h says (lowercased, one trailing dot dropped, a DNS host name). */
static enum tls_hello_status read_host_name(struct hello_reader *rd, struct tls_hello *out,
					    size_t name_len)
{
	static const char *const why[] = {
		[HOSTNAME_EMPTY] = "sni empty",
		[HOSTNAME_TOO_LONG] = "sni longer than 253 bytes",
		[HOSTNAME_BAD_BYTE] = "sni has invalid byte",
		/* a backend that strips dots would see another name than the one routed on */
		[HOSTNAME_EMPTY_LABEL] = "sni has an empty label",
		[HOSTNAME_LONG_LABEL] = "sni has a label longer than 63 bytes",
	};
	char raw[TLS_SNI_MAX];
	enum hostname_problem p;
	enum tls_hello_status st;

	if (name_len == 0 || name_len > TLS_SNI_MAX)
		return bad(rd, "sni length");
	st = rd_read(rd, (uint8_t *)raw, name_len);
	if (st != TLS_HELLO_OK)
		return st;
	p = hostname_normalize(raw, name_len, out->sni, &out->sni_len);
	if (p != HOSTNAME_OK)
		return bad(rd, why[p]);
	out->has_sni = true;
	return TLS_HELLO_OK;
}

/*
 * server_name extension (RFC 6066 3): a ServerNameList of (name_type, opaque<1..2^16-1>).
 * The first host_name is kept; a second host_name is BAD (RFC 6066: at most one name per
 * name_type); entries of other name types are skipped.
 */
static enum tls_hello_status parse_server_name(struct hello_reader *rd, struct tls_hello *out,
					       size_t ext_len)
{
	enum tls_hello_status st;
	size_t list_len, name_len, end;
	uint8_t type;

	if (ext_len < 2)
		return bad(rd, "server_name extension length");
	st = rd_u16(rd, &list_len);
	if (st != TLS_HELLO_OK)
		return st;
	if (list_len == 0 || list_len != ext_len - 2)
		return bad(rd, "server_name_list length");
	end = rd->hs_pos + list_len;
	while (rd->hs_pos < end) {
		if (end - rd->hs_pos < 3)
			return bad(rd, "server_name entry truncated");
		st = rd_u8(rd, &type);
		if (st == TLS_HELLO_OK)
			st = rd_u16(rd, &name_len);
		if (st != TLS_HELLO_OK)
			return st;
		if (name_len > end - rd->hs_pos)
			return bad(rd, "server_name length past list");
		if (type != TLS_SNI_HOST_NAME)
			st = rd_read(rd, NULL, name_len);
		else if (out->has_sni)
			st = bad(rd, "duplicate host_name");
		else
			st = read_host_name(rd, out, name_len);
		if (st != TLS_HELLO_OK)
			return st;
	}
	return TLS_HELLO_OK;
}

/* ALPN extension (RFC 7301 3.1): ProtocolNameList of opaque<1..2^8-1>, kept as received. */
static enum tls_hello_status parse_alpn(struct hello_reader *rd, struct tls_hello *out,
					size_t ext_len)
{
	enum tls_hello_status st;
	size_t list_len, i;

	if (ext_len < 2)
		return bad(rd, "alpn extension length");
	st = rd_u16(rd, &list_len);
	if (st != TLS_HELLO_OK)
		return st;
	if (list_len < 2 || list_len != ext_len - 2)
		return bad(rd, "alpn list length");
	if (list_len > TLS_ALPN_MAX)
		return bad(rd, "alpn list too long");
	st = rd_read(rd, out->alpn, list_len);
	if (st != TLS_HELLO_OK)
		return st;
	for (i = 0; i < list_len; i += 1 + out->alpn[i]) {
		if (out->alpn[i] == 0)
			return bad(rd, "alpn empty protocol name");
		if (out->alpn[i] > list_len - i - 1)
			return bad(rd, "alpn name length past list");
		out->alpn_count++;
	}
	out->alpn_len = list_len;
	out->has_alpn = true;
	return TLS_HELLO_OK;
}

static enum tls_hello_status parse_extension(struct hello_reader *rd, struct tls_hello *out,
					     uint64_t *seen, size_t type, size_t ext_len)
{
	uint64_t bit = 1ULL << (type % 64);

	if (ext_is_grease(type))
		return rd_read(rd, NULL, ext_len);
	if (seen[type / 64] & bit) {
		if (type == TLS_EXT_SERVER_NAME)
			return bad(rd, "duplicate server_name");
		if (type == TLS_EXT_ALPN)
			return bad(rd, "duplicate alpn");
		return bad(rd, "duplicate extension");
	}
	seen[type / 64] |= bit;
	if (type == TLS_EXT_ECH)
		out->has_ech = true;
	if (type == TLS_EXT_SERVER_NAME)
		return parse_server_name(rd, out, ext_len);
	if (type == TLS_EXT_ALPN)
		return parse_alpn(rd, out, ext_len);
	return rd_read(rd, NULL, ext_len);
}

/* Extensions: the block must end exactly where the hello body ends. */
static enum tls_hello_status parse_extensions(struct hello_reader *rd, struct tls_hello *out)
{
	uint64_t seen[65536 / 64];	/* extension types met so far, one bit each */
	enum tls_hello_status st;
	size_t block_len, type, ext_len, start;

	if (rd_left(rd) < 2)
		return bad(rd, "trailing byte after compression_methods");
	st = rd_u16(rd, &block_len);
	if (st != TLS_HELLO_OK)
		return st;
	if (block_len != rd_left(rd))
		return bad(rd, "extensions length");
	memset(seen, 0, sizeof(seen));
	while (rd_left(rd) > 0) {
		if (rd_left(rd) < 4)
			return bad(rd, "extension header truncated");
		st = rd_u16(rd, &type);
		if (st == TLS_HELLO_OK)
			st = rd_u16(rd, &ext_len);
		if (st != TLS_HELLO_OK)
			return st;
		if (ext_len > rd_left(rd))
			return bad(rd, "extension length past block");
		start = rd->hs_pos;
		st = parse_extension(rd, out, seen, type, ext_len);
		if (st != TLS_HELLO_OK)
			return st;
		if (rd->hs_pos != start + ext_len)
			return bad(rd, "extension length");
	}
	return TLS_HELLO_OK;
}

/* Read a 1- or 2-byte vector length and check the vector fits in the hello body. */
static enum tls_hello_status read_vector_len(struct hello_reader *rd, size_t len_bytes,
					     const char *past_end, size_t *vlen)
{
	enum tls_hello_status st;
	uint8_t b;

	if (rd_left(rd) < len_bytes)
		return bad(rd, past_end);
	if (len_bytes == 1) {
		st = rd_u8(rd, &b);
		*vlen = b;
	} else {
		st = rd_u16(rd, vlen);
	}
	if (st != TLS_HELLO_OK)
		return st;
	if (*vlen > rd_left(rd))
		return bad(rd, past_end);
	return TLS_HELLO_OK;
}

static enum tls_hello_status parse_body(struct hello_reader *rd, struct tls_hello *out)
{
	enum tls_hello_status st;
	size_t version, n;

	/* legacy_version and random fit in TLS_HELLO_MIN_BODY */
	st = rd_u16(rd, &version);
	if (st != TLS_HELLO_OK)
		return st;
	if (version >> 8 != 3)
		return bad(rd, "client version");
	out->client_version = (uint16_t)version;
	st = rd_read(rd, NULL, 32);
	if (st != TLS_HELLO_OK)
		return st;

	st = read_vector_len(rd, 1, "session_id past hello end", &n);
	if (st != TLS_HELLO_OK)
		return st;
	if (n > 32)
		return bad(rd, "session_id length over 32");
	st = rd_read(rd, NULL, n);
	if (st != TLS_HELLO_OK)
		return st;

	st = read_vector_len(rd, 2, "cipher_suites past hello end", &n);
	if (st != TLS_HELLO_OK)
		return st;
	if (n < 2 || n % 2)
		return bad(rd, "cipher_suites length");
	st = rd_read(rd, NULL, n);
	if (st != TLS_HELLO_OK)
		return st;

	st = read_vector_len(rd, 1, "compression_methods past hello end", &n);
	if (st != TLS_HELLO_OK)
		return st;
	if (n < 1)
		return bad(rd, "compression_methods empty");
	st = rd_read(rd, NULL, n);
	if (st != TLS_HELLO_OK)
		return st;

	if (rd_left(rd) == 0)
		return TLS_HELLO_OK;	/* no extensions block */
	return parse_extensions(rd, out);
}

static enum tls_hello_status parse_records(struct hello_reader *rd, struct tls_hello *out)
{
	enum tls_hello_status st;
	uint8_t type, b[3];
	size_t body_len;

	rd->hs_end = TLS_HS_HEADER;
	st = rd_u8(rd, &type);
	if (st != TLS_HELLO_OK)
		return st;
	if (type != TLS_HT_CLIENT_HELLO)
		return bad(rd, "handshake type not client_hello");
	/* the top length byte alone may already say it is too long */
	st = rd_u8(rd, &b[0]);
	if (st != TLS_HELLO_OK)
		return st;
	if (b[0] != 0)
		return bad(rd, "handshake length over 16384");
	st = rd_read(rd, &b[1], 2);
	if (st != TLS_HELLO_OK)
		return st;
	body_len = (size_t)b[1] << 8 | b[2];
	if (body_len > TLS_HELLO_MAX_LEN - TLS_HS_HEADER)
		return bad(rd, "handshake length over 16384");
	if (body_len < TLS_HELLO_MIN_BODY)
		return bad(rd, "handshake length too small");
	rd->hs_end = TLS_HS_HEADER + body_len;
	st = parse_body(rd, out);
	if (st != TLS_HELLO_OK)
		return st;
	out->record_version = rd->record_version;
	out->hello_len = rd->hs_end;
	out->raw_len = rd->pos;
	return TLS_HELLO_OK;
}

/*
 * SSLv2 CLIENT-HELLO with a 2-byte record header: 0x80|len_hi, len_lo, msg_type 1,
 * version (0x0002, or 0x03xx from a TLS client in compatibility mode), then cipher_specs,
 * session_id and challenge lengths, then their data. The type and version decide whether
 * this is SSLv2 at all; after them, errors are BAD.
 */
static enum tls_hello_status parse_sslv2(struct hello_reader *rd, struct tls_hello *out)
{
	const uint8_t *b = rd->buf;
	size_t rec_len, cs_len, sid_len, ch_len;

	if (rd->len < 3)
		return TLS_HELLO_NEED_MORE;
	if (b[2] != SSL2_MT_CLIENT_HELLO)
		return not_tls(rd, "not an sslv2 client-hello");
	if (rd->len < 4)
		return TLS_HELLO_NEED_MORE;
	if (b[3] != 0 && b[3] != 3)
		return not_tls(rd, "not an sslv2 client-hello");
	if (rd->len < 5)
		return TLS_HELLO_NEED_MORE;
	if (b[3] == 0 && b[4] != 2)
		return not_tls(rd, "not an sslv2 client-hello");

	rec_len = (size_t)(b[0] & 0x7f) << 8 | b[1];
	if (rec_len > TLS_HELLO_MAX_LEN)
		return bad(rd, "sslv2 length over 16384");
	if (rd->len < SSL2_HEADER + SSL2_HELLO_FIXED)
		return TLS_HELLO_NEED_MORE;
	cs_len = (size_t)b[5] << 8 | b[6];
	sid_len = (size_t)b[7] << 8 | b[8];
	ch_len = (size_t)b[9] << 8 | b[10];
	if (cs_len == 0 || cs_len % 3)
		return bad(rd, "sslv2 cipher_specs length");
	if (sid_len != 0 && sid_len != 16)
		return bad(rd, "sslv2 session_id length");
	if (ch_len < 16 || ch_len > 32)
		return bad(rd, "sslv2 challenge length");
	if (SSL2_HELLO_FIXED + cs_len + sid_len + ch_len != rec_len)
		return bad(rd, "sslv2 record length");
	if (rd->len < SSL2_HEADER + rec_len)
		return TLS_HELLO_NEED_MORE;
	out->sslv2 = true;
	out->client_version = (uint16_t)(b[3] << 8 | b[4]);
	out->hello_len = rec_len;
	out->raw_len = SSL2_HEADER + rec_len;
	return TLS_HELLO_OK;
}

enum tls_hello_status tls_hello_parse(const uint8_t *buf, size_t len, struct tls_hello *out)
{
	struct hello_reader rd = { .buf = buf, .len = len };
	enum tls_hello_status st;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return TLS_HELLO_NEED_MORE;
	if (buf[0] == TLS_CT_HANDSHAKE)
		st = parse_records(&rd, out);
	else if (buf[0] & 0x80)
		st = parse_sslv2(&rd, out);
	else
		st = not_tls(&rd, "not a tls record");

	if (st != TLS_HELLO_OK) {
		/* nothing half-parsed leaks out */
		memset(out, 0, sizeof(*out));
		out->error = rd.error;
	}
	return st;
}

const char *tls_hello_status_str(enum tls_hello_status st)
{
	switch (st) {
	case TLS_HELLO_OK:
		return "ok";
	case TLS_HELLO_NEED_MORE:
		return "need-more";
	case TLS_HELLO_NOT_TLS:
		return "not-tls";
	case TLS_HELLO_BAD:
		return "bad";
	}
	return "unknown";
}

bool tls_hello_alpn_next(const struct tls_hello *h, size_t *pos, const uint8_t **name,
			 size_t *name_len)
{
	size_t p = *pos, n;

	if (!h->has_alpn || p >= h->alpn_len || h->alpn_len > TLS_ALPN_MAX)
		return false;
	n = h->alpn[p];
	if (n == 0 || n > h->alpn_len - p - 1)
		return false;
	*name = &h->alpn[p + 1];
	*name_len = n;
	*pos = p + 1 + n;
	return true;
}

bool tls_alpn_is_grease(const uint8_t *name, size_t len)
{
	return len == 2 && name[0] == name[1] && (name[0] & 0x0f) == 0x0a;
}
