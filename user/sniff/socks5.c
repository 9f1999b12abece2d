// SPDX-License-Identifier: MIT
/*
 * socks5.c - the SOCKS5 sniffer: a client's greeting (RFC 1928 3), VER 5, NMETHODS 1..255,
 * then NMETHODS method bytes, each one of those caddy-l4's socks5 matcher accepts by default:
 * 0 (no authentication), 1 (GSSAPI), 2 (username/password). A greeting so short fits many
 * other bytes, hence the narrow set.
 *
 * The verdict comes with the last method byte, the greeting's 2 + NMETHODS bytes being all a
 * client sends before the server chooses a method (bytes after them are never looked at);
 * SNIFF_NO at the first byte that cannot belong to such a greeting. No name (the destination
 * comes in the request, after the server's answer); never SNIFF_BAD. Cap: 2 + 255 bytes.
 */
#include "sniff/sniff.h"

#define SOCKS5_VERSION 5
#define SOCKS5_METHOD_MAX 2		/* username/password; 0 and 1 are below it */

static enum sniff_status socks5_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	size_t n, i;

	if (len < 1)
		return SNIFF_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return SNIFF_NO;
	if (len < 2)
		return SNIFF_NEED_MORE;
	n = buf[1];
	if (n == 0)
		return SNIFF_NO;
	for (i = 0; i < n; i++) {
		if (2 + i >= len)
			return SNIFF_NEED_MORE;
		if (buf[2 + i] > SOCKS5_METHOD_MAX)
			return SNIFF_NO;
	}
	return SNIFF_OK;
}

const struct sniffer socks5_sniffer = {
	.name = "socks5",
	.proto = PROTO_SOCKS5,
	.parse = socks5_parse,
};
