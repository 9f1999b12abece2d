// SPDX-License-Identifier: MIT
/*
 * proxy_proto.c - PROXY protocol v1 and v2 headers: encoders for what sockmux sends a backend,
 * a parser for what a load balancer sends sockmux, and CRC32C (see proxy_proto.h). Pure: no
 * I/O, no allocation, no logging.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"

static const uint8_t pp2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				     0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
static const char pp1_sig[] = "PROXY ";
#define PP1_SIG_LEN (sizeof(pp1_sig) - 1)

#define PP2_VERSION 0x20
#define PP2_CMD_LOCAL 0x0
#define PP2_CMD_PROXY 0x1
#define PP2_FAM_UNSPEC 0x0
#define PP2_FAM_INET 0x1
#define PP2_FAM_INET6 0x2
#define PP2_FAM_UNIX 0x3
#define PP2_TRANS_STREAM 0x1
#define PP2_TRANS_MAX 0x2
#define PP2_TLV_HDR_LEN 3
#define PP2_CRC_LEN 4

/* Address block length by family: UNSPEC, INET, INET6, UNIX. */
static const uint16_t pp2_addr_len[4] = { 0, 12, 36, 216 };

/* CRC32C, reflected polynomial 0x82f63b78: table[i] is the CRC of the byte i. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t crc32c_update(uint32_t crc, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		crc = crc32c_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t pp_crc32c(const uint8_t *buf, size_t len)
{
	return ~crc32c_update(~0u, buf, len);
}

const char *pp_status_str(enum pp_status st)
{
	switch (st) {
	case PP_OK:
		return "ok";
	case PP_NEED_MORE:
		return "need-more";
	case PP_BAD:
		return "bad";
	}
	return "?";
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* Fills out from an address of family (AF_INET: 4 bytes, AF_INET6: 16) in network order. */
static void addr_fill(struct addr *out, int family, const uint8_t *addr, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		out->len = sizeof(*sin);
		return;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, addr, 16);
	out->len = sizeof(*sin6);
}

static enum pp_status bad(struct pp_header *out, const char *why)
{
	memset(out, 0, sizeof(*out));
	out->error = why;
	return PP_BAD;
}

/* --- v1 -------------------------------------------------------------------------------- */

/* A field of a v1 line: [p, p + len). */
struct pp1_field {
	const char *p;
	size_t len;
};

static bool all_in(const struct pp1_field *f, const char *set)
{
	size_t i;

	for (i = 0; i < f->len; i++)
		if (!f->p[i] || !strchr(set, f->p[i]))
			return false;
	return true;
}

static bool field_is(const struct pp1_field *f, const char *s)
{
	return f->len == strlen(s) && !memcmp(f->p, s, f->len);
}

/* A numeric address of family into 4 or 16 bytes; only the characters such an address has. */
static bool pp1_addr(const struct pp1_field *f, int family, uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (f->len >= sizeof(text))
		return false;
	if (!all_in(f, family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:."))
		return false;
	memcpy(text, f->p, f->len);
	text[f->len] = '\0';
	return inet_pton(family, text, addr) == 1;
}

/* 0..65535 in 1 to 5 decimal digits. */
static bool pp1_port(const struct pp1_field *f, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (f->len < 1 || f->len > 5 || !all_in(f, "0123456789"))
		return false;
	for (i = 0; i < f->len; i++)
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * Splits line (len bytes, after "PROXY ") into at most max fields separated by exactly one
 * space; returns the number found, or -1 for an empty field (two spaces in a row, a space
 * at either end). A line with more than max fields gives max + 1.
 */
static int pp1_split(const char *line, size_t len, struct pp1_field *f, int max)
{
	size_t start = 0, i;
	int n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start)
			return -1;
		if (n == max)
			return max + 1;
		f[n].p = line + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static enum pp_status pp1_parse(const uint8_t *buf, size_t len, struct pp_header *out)
{
	size_t n = len < PP1_MAX_LEN ? len : PP1_MAX_LEN, end, line_len;
	uint8_t src[16], dst[16];
	const char *line;
	struct pp1_field f[5];
	uint16_t sport, dport;
	const uint8_t *lf;
	int family, nf;

	if (memcmp(buf, pp1_sig, n < PP1_SIG_LEN ? n : PP1_SIG_LEN))
		return bad(out, "not a PROXY v1 or v2 header");
	lf = memchr(buf, '\n', n);
	if (!lf) {
		if (len >= PP1_MAX_LEN)
			return bad(out, "v1: no CRLF within 107 bytes");
		return PP_NEED_MORE;
	}
	/* "PROXY " matched, so the LF is at index 6 or later */
	end = (size_t)(lf - buf);
	if (buf[end - 1] != '\r')
		return bad(out, "v1: line ends in a bare LF");
	/* the line between "PROXY " and CRLF */
	line = (const char *)buf + PP1_SIG_LEN;
	line_len = end - 1 - PP1_SIG_LEN;
	out->version = 1;
	out->len = end + 1;
	/* UNKNOWN: the receiver must ignore anything up to the CRLF */
	if (line_len >= 7 && !memcmp(line, "UNKNOWN", 7) && (line_len == 7 || line[7] == ' '))
		return PP_OK;
	if (!line_len)
		return bad(out, "v1: no protocol");
	nf = pp1_split(line, line_len, f, 5);
	if (nf < 0)
		return bad(out, "v1: fields not separated by single spaces");
	if (field_is(&f[0], "TCP4"))
		family = AF_INET;
	else if (field_is(&f[0], "TCP6"))
		family = AF_INET6;
	else
		return bad(out, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
	if (nf != 5)
		return bad(out, "v1: not 5 fields after PROXY");
	if (!pp1_addr(&f[1], family, src) || !pp1_addr(&f[2], family, dst))
		return bad(out, family == AF_INET
					? "v1: TCP4 address is not a numeric IPv4 address"
					: "v1: TCP6 address is not a numeric IPv6 address");
	if (!pp1_port(&f[3], &sport) || !pp1_port(&f[4], &dport))
		return bad(out, "v1: port is not a number 0..65535");
	out->has_addr = true;
	addr_fill(&out->src, family, src, sport);
	addr_fill(&out->dst, family, dst, dport);
	return PP_OK;
}

/* --- v2 -------------------------------------------------------------------------------- */

/* Whether the TLV of this type was already seen (types this parser interprets only). */
static bool tlv_seen(const struct pp_header *out, uint8_t type)
{
	switch (type) {
	case PP2_TYPE_ALPN:
		return out->alpn;
	case PP2_TYPE_AUTHORITY:
		return out->authority;
	case PP2_TYPE_UNIQUE_ID:
		return out->unique_id;
	case PP2_TYPE_CRC32C:
		return out->crc32c;
	default:
		return false;
	}
}

/*
 * Walks the TLVs in buf[pos, end) (end: the header's declared end): each must fit whole
 * within it. Records ALPN, AUTHORITY and UNIQUE_ID, and the offset of a CRC32C value in *crc
 * (0: none). Returns NULL or why not.
 */
static const char *pp2_tlvs(const uint8_t *buf, size_t pos, size_t end, struct pp_header *out,
			    size_t *crc)
{
	size_t vlen;
	uint8_t type;

	*crc = 0;
	while (pos < end) {
		if (end - pos < PP2_TLV_HDR_LEN)
			return "v2: TLV header runs past the declared length";
		type = buf[pos];
		vlen = get_be16(buf + pos + 1);
		pos += PP2_TLV_HDR_LEN;
		if (vlen > end - pos)
			return "v2: TLV runs past the declared length";
		if (tlv_seen(out, type))
			return "v2: a TLV type appears twice";
		switch (type) {
		case PP2_TYPE_ALPN:
			out->alpn = buf + pos;
			out->alpn_len = vlen;
			break;
		case PP2_TYPE_AUTHORITY:
			out->authority = buf + pos;
			out->authority_len = vlen;
			break;
		case PP2_TYPE_UNIQUE_ID:
			if (vlen > PP2_UNIQUE_ID_MAX)
				return "v2: UNIQUE_ID longer than 128 bytes";
			out->unique_id = buf + pos;
			out->unique_id_len = vlen;
			break;
		case PP2_TYPE_CRC32C:
			if (vlen != PP2_CRC_LEN)
				return "v2: CRC32C value is not 4 bytes";
			out->crc32c = true;
			*crc = pos;
			break;
		}
		pos += vlen;
	}
	return NULL;
}

/* CRC32C of the header buf[0, len) with the 4 bytes at crc read as zeros. */
static uint32_t pp2_crc(const uint8_t *buf, size_t len, size_t crc)
{
	static const uint8_t zero[PP2_CRC_LEN];
	uint32_t c = ~0u;

	c = crc32c_update(c, buf, crc);
	c = crc32c_update(c, zero, sizeof(zero));
	c = crc32c_update(c, buf + crc + PP2_CRC_LEN, len - crc - PP2_CRC_LEN);
	return ~c;
}

static enum pp_status pp2_parse(const uint8_t *buf, size_t len, struct pp_header *out)
{
	unsigned int cmd, fam, trans;
	size_t plen, total, crc;
	const char *why;

	if (memcmp(buf, pp2_sig, len < sizeof(pp2_sig) ? len : sizeof(pp2_sig)))
		return bad(out, "not a PROXY v1 or v2 header");
	if (len <= 12)
		return PP_NEED_MORE;
	if ((buf[12] & 0xf0) != PP2_VERSION)
		return bad(out, "v2: version is not 2");
	cmd = buf[12] & 0x0f;
	if (cmd != PP2_CMD_LOCAL && cmd != PP2_CMD_PROXY)
		return bad(out, "v2: command is neither LOCAL nor PROXY");
	if (len <= 13)
		return PP_NEED_MORE;
	fam = buf[13] >> 4;
	trans = buf[13] & 0x0f;
	if (fam > PP2_FAM_UNIX)
		return bad(out, "v2: unknown address family");
	if (trans > PP2_TRANS_MAX)
		return bad(out, "v2: unknown transport");
	if (cmd == PP2_CMD_PROXY && (fam == PP2_FAM_INET || fam == PP2_FAM_INET6) &&
	    trans != PP2_TRANS_STREAM)
		return bad(out, "v2: an IP address over a transport other than STREAM");
	if (len < PP2_HDR_LEN)
		return PP_NEED_MORE;
	plen = get_be16(buf + 14);
	if (plen > PP2_MAX_PAYLOAD)
		return bad(out, "v2: length over 4096");
	if (plen < pp2_addr_len[fam])
		return bad(out, "v2: length shorter than the family's address block");
	total = PP2_HDR_LEN + plen;
	if (len < total)
		return PP_NEED_MORE;
	why = pp2_tlvs(buf, PP2_HDR_LEN + pp2_addr_len[fam], total, out, &crc);
	if (why)
		return bad(out, why);
	if (crc && pp2_crc(buf, total, crc) != get_be32(buf + crc))
		return bad(out, "v2: CRC32C mismatch");
	out->version = 2;
	out->len = total;
	out->local = cmd == PP2_CMD_LOCAL;
	if (cmd == PP2_CMD_PROXY && fam == PP2_FAM_INET) {
		out->has_addr = true;
		addr_fill(&out->src, AF_INET, buf + 16, get_be16(buf + 24));
		addr_fill(&out->dst, AF_INET, buf + 20, get_be16(buf + 26));
	} else if (cmd == PP2_CMD_PROXY && fam == PP2_FAM_INET6) {
		out->has_addr = true;
		addr_fill(&out->src, AF_INET6, buf + 16, get_be16(buf + 48));
		addr_fill(&out->dst, AF_INET6, buf + 32, get_be16(buf + 50));
	}
	return PP_OK;
}

enum pp_status pp_parse(const uint8_t *buf, size_t len, struct pp_header *out)
{
	memset(out, 0, sizeof(*out));
	if (!len)
		return PP_NEED_MORE;
	if (buf[0] == pp2_sig[0])
		return pp2_parse(buf, len, out);
	return pp1_parse(buf, len, out);
}

/* --- encoders -------------------------------------------------------------------------- */

/* The two addresses of one header, in one family, as bytes in network order. */
struct pp_addrs {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/* IPv4 bytes of sa when it is AF_INET or IPv4-mapped AF_INET6; false otherwise. */
static bool as_v4(const struct sockaddr *sa, uint8_t *out)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &sin->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
		return true;
	}
	return false;
}

/* IPv6 bytes of sa, an IPv4 address in its mapped form. */
static void as_v6(const struct sockaddr *sa, uint8_t *out)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET6) {
		memcpy(out, &sin6->sin6_addr, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &sin->sin_addr, 4);
}

static uint16_t port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static int pp_addrs_get(const struct sockaddr *src, const struct sockaddr *dst,
			struct pp_addrs *a)
{
	if (!src || !dst)
		return -EINVAL;
	if ((src->sa_family != AF_INET && src->sa_family != AF_INET6) ||
	    (dst->sa_family != AF_INET && dst->sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	a->sport = port_of(src);
	a->dport = port_of(dst);
	if (as_v4(src, a->src) && as_v4(dst, a->dst)) {
		a->family = AF_INET;
		return 0;
	}
	a->family = AF_INET6;
	as_v6(src, a->src);
	as_v6(dst, a->dst);
	return 0;
}

int pp1_encode(const struct sockaddr *src, const struct sockaddr *dst, uint8_t *buf,
	       size_t size, size_t *len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], line[PP1_MAX_LEN + 1];
	struct pp_addrs a;
	int err, n;

	err = pp_addrs_get(src, dst, &a);
	if (err)
		return err;
	if (!inet_ntop(a.family, a.src, s, sizeof(s)) || !inet_ntop(a.family, a.dst, d, sizeof(d)))
		return -EAFNOSUPPORT;
	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		     a.family == AF_INET ? "TCP4" : "TCP6", s, d, a.sport, a.dport);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EAFNOSUPPORT;
	if ((size_t)n > size)
		return -ENOSPC;
	memcpy(buf, line, (size_t)n);
	*len = (size_t)n;
	return 0;
}

int pp_encode_local(unsigned int version, uint8_t *buf, size_t size, size_t *len)
{
	static const char v1[] = "PROXY UNKNOWN\r\n";

	if (version == 1) {
		if (size < sizeof(v1) - 1)
			return -ENOSPC;
		memcpy(buf, v1, sizeof(v1) - 1);
		*len = sizeof(v1) - 1;
		return 0;
	}
	if (version != 2)
		return -EINVAL;
	if (size < PP2_HDR_LEN)
		return -ENOSPC;
	memcpy(buf, pp2_sig, sizeof(pp2_sig));
	buf[12] = PP2_VERSION | PP2_CMD_LOCAL;
	buf[13] = PP2_FAM_UNSPEC;	/* and transport UNSPEC */
	put_be16(buf + 14, 0);
	*len = PP2_HDR_LEN;
	return 0;
}

static size_t put_tlv(uint8_t *p, uint8_t type, const void *val, size_t vlen)
{
	p[0] = type;
	put_be16(p + 1, (uint16_t)vlen);
	memcpy(p + PP2_TLV_HDR_LEN, val, vlen);
	return PP2_TLV_HDR_LEN + vlen;
}

int pp2_encode(const struct sockaddr *src, const struct sockaddr *dst,
	       const struct pp2_tlvs *tlvs, uint8_t *buf, size_t size, size_t *len)
{
	static const struct pp2_tlvs none;
	static const uint8_t zero[PP2_CRC_LEN];
	size_t alpn, auth, uid, total, pos;
	struct pp_addrs a;
	int err;

	err = pp_addrs_get(src, dst, &a);
	if (err)
		return err;
	if (!tlvs)
		tlvs = &none;
	alpn = tlvs->alpn ? tlvs->alpn_len : 0;
	auth = tlvs->authority ? tlvs->authority_len : 0;
	uid = tlvs->unique_id ? tlvs->unique_id_len : 0;
	if (uid > PP2_UNIQUE_ID_MAX || alpn > UINT16_MAX || auth > UINT16_MAX)
		return -EINVAL;
	total = PP2_HDR_LEN + (a.family == AF_INET ? 12 : 36);
	total += alpn ? PP2_TLV_HDR_LEN + alpn : 0;
	total += auth ? PP2_TLV_HDR_LEN + auth : 0;
	total += uid ? PP2_TLV_HDR_LEN + uid : 0;
	total += tlvs->crc32c ? PP2_TLV_HDR_LEN + PP2_CRC_LEN : 0;
	if (total - PP2_HDR_LEN > UINT16_MAX)
		return -EINVAL;
	if (total > size)
		return -ENOSPC;
	memcpy(buf, pp2_sig, sizeof(pp2_sig));
	buf[12] = PP2_VERSION | PP2_CMD_PROXY;
	buf[13] = (a.family == AF_INET ? PP2_FAM_INET : PP2_FAM_INET6) << 4 | PP2_TRANS_STREAM;
	put_be16(buf + 14, (uint16_t)(total - PP2_HDR_LEN));
	pos = PP2_HDR_LEN;
	if (a.family == AF_INET) {
		memcpy(buf + pos, a.src, 4);
		memcpy(buf + pos + 4, a.dst, 4);
		pos += 8;
	} else {
		memcpy(buf + pos, a.src, 16);
		memcpy(buf + pos + 16, a.dst, 16);
		pos += 32;
	}
	put_be16(buf + pos, a.sport);
	put_be16(buf + pos + 2, a.dport);
	pos += 4;
	if (alpn)
		pos += put_tlv(buf + pos, PP2_TYPE_ALPN, tlvs->alpn, alpn);
	if (auth)
		pos += put_tlv(buf + pos, PP2_TYPE_AUTHORITY, tlvs->authority, auth);
	if (uid)
		pos += put_tlv(buf + pos, PP2_TYPE_UNIQUE_ID, tlvs->unique_id, uid);
	if (tlvs->crc32c) {
		pos += put_tlv(buf + pos, PP2_TYPE_CRC32C, zero, sizeof(zero));
		put_be32(buf + pos - PP2_CRC_LEN, pp_crc32c(buf, total));
	}
	*len = total;
	return 0;
}
