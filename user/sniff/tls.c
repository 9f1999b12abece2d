// SPDX-License-Identifier: MIT
/*
 * tls.c - the TLS sniffer: a ClientHello (tls_hello.c parses it), its SNI as the name the
 * client asked for, its ALPN list, and whether it carries encrypted_client_hello (the name is
 * then the outer SNI, the one in the clear). Caps: tls_hello.h's (TLS_HELLO_MAX_RAW bytes).
 */
#include "sniff/sniff.h"

static enum sniff_status tls_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	struct tls_hello *h = &out->u.tls;

	switch (tls_hello_parse(buf, len, h)) {
	case TLS_HELLO_NEED_MORE:
		return SNIFF_NEED_MORE;
	case TLS_HELLO_NOT_TLS:
		return SNIFF_NO;
	case TLS_HELLO_BAD:
		out->error = h->error ? h->error : "malformed ClientHello";
		return SNIFF_BAD;
	case TLS_HELLO_OK:
		break;
	}
	if (h->has_sni) {
		out->name = h->sni;
		out->name_len = h->sni_len;
	}
	if (h->has_alpn) {
		out->alpn = h->alpn;
		out->alpn_len = h->alpn_len;
	}
	out->ech = h->has_ech;
	return SNIFF_OK;
}

const struct sniffer tls_sniffer = {
	.name = "tls",
	.proto = PROTO_TLS,
	.parse = tls_parse,
};
