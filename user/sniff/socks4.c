// SPDX-License-Identifier: MIT
/*
 * socks4.c - the SOCKS4 sniffer: a client's request (SOCKS4, and its 4a extension, in
 * openssh.com/txt/socks4.protocol and socks4a.protocol): VN 4, CD 1 (CONNECT) or 2 (BIND),
 * DSTPORT (2 bytes), DSTIP (4), USERID and a NUL; with SOCKS4a, a DSTIP of 0.0.0.x (x not 0)
 * is followed by the host name and a NUL, and that name is the name asked for (by hostname.h's
 * rule: none when it is not a host name). A plain SOCKS4 request names only an address.
 *
 * The verdict comes with the NUL that ends the request (bytes after it are never looked at);
 * SNIFF_NO at the first byte that cannot belong to one, or when USERID or the name has not
 * ended within SOCKS4_FIELD_MAX bytes. Never SNIFF_BAD. Cap: 8 + 2 * 256 bytes.
 */
#include <string.h>

#include "sniff/sniff.h"

#define SOCKS4_VERSION 4
#define SOCKS4_CONNECT 1
#define SOCKS4_BIND 2
#define SOCKS4_FIXED 8			/* VN, CD, DSTPORT, DSTIP */
#define SOCKS4_FIELD_MAX 255		/* USERID or host name, without its NUL */

/* A NUL-terminated field at pos: SNIFF_OK with *end at its NUL. */
static enum sniff_status socks4_field(const uint8_t *buf, size_t len, size_t pos, size_t *end)
{
	size_t avail = len - pos;
	const uint8_t *nul;

	if (avail > SOCKS4_FIELD_MAX + 1)
		avail = SOCKS4_FIELD_MAX + 1;
	nul = memchr(buf + pos, 0, avail);
	if (nul) {
		*end = (size_t)(nul - buf);
		return SNIFF_OK;
	}
	return avail == SOCKS4_FIELD_MAX + 1 ? SNIFF_NO : SNIFF_NEED_MORE;
}

static enum sniff_status socks4_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	enum sniff_status st;
	size_t user_end, name_end;

	if (len < 1)
		return SNIFF_NEED_MORE;
	if (buf[0] != SOCKS4_VERSION)
		return SNIFF_NO;
	if (len < 2)
		return SNIFF_NEED_MORE;
	if (buf[1] != SOCKS4_CONNECT && buf[1] != SOCKS4_BIND)
		return SNIFF_NO;
	if (len <= SOCKS4_FIXED)
		return SNIFF_NEED_MORE;
	st = socks4_field(buf, len, SOCKS4_FIXED, &user_end);
	if (st != SNIFF_OK)
		return st;
	/* SOCKS4a: DSTIP 0.0.0.x, x not 0, and the name after USERID */
	if (buf[4] || buf[5] || buf[6] || !buf[7])
		return SNIFF_OK;
	if (len <= user_end + 1)
		return SNIFF_NEED_MORE;
	st = socks4_field(buf, len, user_end + 1, &name_end);
	if (st != SNIFF_OK)
		return st;
	sniff_set_name(out, (const char *)buf + user_end + 1, name_end - user_end - 1);
	return SNIFF_OK;
}

const struct sniffer socks4_sniffer = {
	.name = "socks4",
	.proto = PROTO_SOCKS4,
	.parse = socks4_parse,
};
