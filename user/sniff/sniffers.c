// SPDX-License-Identifier: MIT
/*
 * sniffers.c - the table of sniffers the handshake runs (see sniff.h). Adding a protocol is
 * its file in user/sniff/ and a line here.
 */
#include <string.h>

#include "sniff/sniff.h"

extern const struct sniffer tls_sniffer;

static const struct sniffer *const sniffers[] = {
	&tls_sniffer,
};

static const char *const proto_names[] = {
	[PROTO_UNKNOWN] = "unknown",
	[PROTO_TLS] = "tls",
};

enum sniff_status sniff(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	bool maybe = false;

	for (size_t i = 0; i < sizeof(sniffers) / sizeof(sniffers[0]); i++) {
		enum sniff_status st;

		memset(out, 0, sizeof(*out));
		st = sniffers[i]->parse(buf, len, out);
		if (st == SNIFF_OK || st == SNIFF_BAD) {
			out->proto = sniffers[i]->proto;
			return st;
		}
		if (st == SNIFF_NEED_MORE)
			maybe = true;
	}
	memset(out, 0, sizeof(*out));
	return maybe ? SNIFF_NEED_MORE : SNIFF_NO;
}

const char *sniff_proto_name(enum sniff_proto proto)
{
	return proto < sizeof(proto_names) / sizeof(proto_names[0]) ? proto_names[proto] : "?";
}
