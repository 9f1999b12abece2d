// SPDX-License-Identifier: MIT
/*
 * test_sniff.c - the sniffer table (user/sniff/sniffers.c) on real first bytes: a captured
 * ClientHello is TLS with its SNI and ALPN, every shorter prefix of it needs more, bytes no
 * sniffer knows are unknown at once, and a malformed hello is bad with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff/sniff.h"
#include "tap.h"

static size_t load(const char *name, uint8_t *buf, size_t size)
{
	char path[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/hello/%s", FIXTURES, name);
	f = fopen(path, "rb");
	if (f) {
		n = fread(buf, 1, size, f);
		fclose(f);
	}
	return n;
}

int main(void)
{
	static uint8_t buf[20000];
	struct sniff_result r;
	size_t n, i, wrong = 0;

	tap_plan_start();
	n = load("openssl-xmpp.bin", buf, sizeof(buf));
	if (!ASSERT_TRUE(n > 100, "fixture openssl-xmpp.bin loaded"))
		return tap_done();
	ASSERT_EQ(sniff(buf, n, &r), SNIFF_OK, "a ClientHello: ok");
	ASSERT_EQ(r.proto, PROTO_TLS, "a ClientHello: tls");
	ASSERT_STREQ(sniff_proto_name(r.proto), "tls", "the protocol's name is tls");
	ASSERT_TRUE(r.name && r.name_len == strlen(r.name), "the SNI is the name asked for");
	ASSERT_TRUE(r.alpn && r.alpn_len > 0 && r.alpn == r.u.tls.alpn, "its ALPN list is kept");
	for (i = 1; i < n; i++)
		if (sniff(buf, i, &r) != SNIFF_NEED_MORE)
			wrong++;
	ASSERT_EQ(wrong, 0, "every shorter prefix needs more");

	ASSERT_EQ(sniff((const uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n", 21, &r), SNIFF_OK,
		  "an SSH banner: ok");
	ASSERT_EQ(r.proto, PROTO_SSH, "ssh");
	ASSERT_EQ(sniff((const uint8_t *)"\x03\x00\x00\x13\x0e\xe0", 6, &r), SNIFF_NO,
		  "an RDP (TPKT) opener: no sniffer knows it");
	ASSERT_EQ(r.proto, PROTO_UNKNOWN, "unknown");
	ASSERT_TRUE(!r.name && !r.alpn, "nothing found in unknown bytes");
	ASSERT_STREQ(sniff_proto_name(r.proto), "unknown", "the protocol's name is unknown");

	buf[5] = 2;	/* a ServerHello where the ClientHello should be */
	ASSERT_EQ(sniff(buf, n, &r), SNIFF_BAD, "a malformed hello: bad");
	ASSERT_TRUE(r.error && *r.error, "with a reason");
	ASSERT_EQ(r.proto, PROTO_TLS, "and the protocol it claimed");
	return tap_done();
}
