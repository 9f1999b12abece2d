// SPDX-License-Identifier: MIT
/*
 * sniffers.c - the table of sniffers the handshake runs (see sniff.h). Adding a protocol is
 * its file in user/sniff/, a line here and its value in sniff.h's enum sniff_proto.
 */
#include <string.h>

#include "sniff/sniff.h"

extern const struct sniffer tls_sniffer;
extern const struct sniffer ssh_sniffer;
extern const struct sniffer http_sniffer;
extern const struct sniffer xmpp_sniffer;
extern const struct sniffer openvpn_sniffer;
extern const struct sniffer socks5_sniffer;
extern const struct sniffer socks4_sniffer;

/* No two claim the same bytes (tests/unit/test_sniff.c and the fuzz target check it). */
static const struct sniffer *const sniffers[] = {
	&tls_sniffer,
	&ssh_sniffer,
	&http_sniffer,
	&xmpp_sniffer,
	&openvpn_sniffer,
	&socks5_sniffer,
	&socks4_sniffer,
};

enum sniff_status sniff(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	uint32_t maybe = 0;

	for (size_t i = 0; i < sizeof(sniffers) / sizeof(sniffers[0]); i++) {
		enum sniff_status st;

		memset(out, 0, sizeof(*out));
		st = sniffers[i]->parse(buf, len, out);
		if (st == SNIFF_OK || st == SNIFF_BAD) {
			out->proto = sniffers[i]->proto;
			return st;
		}
		if (st == SNIFF_NEED_MORE)
			maybe |= 1u << sniffers[i]->proto;
	}
	memset(out, 0, sizeof(*out));
	out->maybe = maybe;
	return maybe ? SNIFF_NEED_MORE : SNIFF_NO;
}

bool sniff_set_name(struct sniff_result *out, const char *raw, size_t len)
{
	if (hostname_normalize(raw, len, out->u.host, &out->name_len) != HOSTNAME_OK) {
		out->name = NULL;
		out->name_len = 0;
		return false;
	}
	out->name = out->u.host;
	return true;
}

const char *sniff_proto_name(enum sniff_proto proto)
{
	if (proto == PROTO_UNKNOWN)
		return "unknown";
	if (proto == PROTO_TIMEOUT)
		return "timeout";
	for (size_t i = 0; i < sizeof(sniffers) / sizeof(sniffers[0]); i++)
		if (sniffers[i]->proto == proto)
			return sniffers[i]->name;
	return "?";
}

int sniff_proto_by_name(const char *name)
{
	for (int p = 0; p < PROTO__COUNT; p++)
		if (!strcmp(sniff_proto_name((enum sniff_proto)p), name))
			return p;
	return -1;
}
