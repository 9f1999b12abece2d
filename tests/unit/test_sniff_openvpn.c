// SPDX-License-Identifier: MIT
/*
 * test_sniff_openvpn.c - the openvpn sniffer (user/sniff/openvpn.c) on first packets built
 * after OpenVPN 2.6's layouts (ssl_pkt.c): plain, tls-auth with every HMAC size, tls-crypt,
 * tls-crypt-v2 (V3), each field made wrong in turn, lengths at and past the bounds, the 1025
 * and 1026 left to SOCKS4, and the byte where it decides (the packet's last). Every case is
 * also run on each of its prefixes: they must need more or get the same verdict.
 */
#include <stdio.h>
#include <string.h>

#include "sniff/sniff.h"
#include "sniff_prefix.h"
#include "tap.h"

extern const struct sniffer openvpn_sniffer;
extern const struct sniffer socks4_sniffer;

static uint8_t pkt[2048];
static size_t pkt_len;

static void put(const void *p, size_t n)
{
	memcpy(pkt + pkt_len, p, n);
	pkt_len += n;
}

static void put32(uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, 4);
}

static void fill(uint8_t v, size_t n)
{
	memset(pkt + pkt_len, v, n);
	pkt_len += n;
}

/* Start a packet with its opcode byte and a session id; end() writes the TCP length. */
static void start(uint8_t op)
{
	static const uint8_t sid[8] = { 0x5b, 0xa7, 0x80, 0xf8, 0x61, 0x4d, 0xef, 0x5f };

	pkt_len = 2;
	put(&op, 1);
	put(sid, sizeof(sid));
}

static void end(void)
{
	pkt[0] = (uint8_t)((pkt_len - 2) >> 8);
	pkt[1] = (uint8_t)(pkt_len - 2);
}

static void plain(void)
{
	start(0x38);
	fill(0, 1);		/* ack count */
	put32(0);		/* message packet id */
	end();
}

static void tls_auth(size_t hmac, uint32_t replay_id)
{
	start(0x38);
	fill(0xa9, hmac);
	put32(replay_id);
	put32(0x6b15d4e2);	/* time */
	fill(0, 1);
	put32(0);
	end();
}

static void tls_crypt(uint8_t op, uint32_t replay_id)
{
	start(op);
	put32(replay_id);
	put32(0x6b15d4e2);
	fill(0xc3, 32);		/* tag */
	fill(0x17, 5);		/* encrypted ack count and message packet id */
}

/* tls-crypt-v2: a wrapped client key of wkc bytes, its last two its length. */
static void tls_crypt_v2(uint32_t replay_id, size_t wkc)
{
	tls_crypt(0x50, replay_id);
	fill(0x42, wkc - 2);
	pkt[pkt_len++] = (uint8_t)(wkc >> 8);
	pkt[pkt_len++] = (uint8_t)wkc;
	end();
}

/* The sniffer says want on the packet, needs more below at bytes (0: its length) and says
 * want from there on, with 16 more bytes after it too. */
static bool check_at(const char *what, size_t at, enum sniff_status want)
{
	struct sniff_result r;
	enum sniff_status st;
	size_t i, bad_prefix = 0;
	bool ok;

	if (!at)
		at = pkt_len;
	memset(pkt + pkt_len, 0xee, 16);
	for (i = 0; i <= pkt_len + 16 && !bad_prefix; i++) {
		memset(&r, 0, sizeof(r));
		st = openvpn_sniffer.parse(pkt, i, &r);
		if (i < at ? st != SNIFF_NEED_MORE : st != want || r.name)
			bad_prefix = i ? i : SIZE_MAX;
	}
	memset(&r, 0, sizeof(r));
	st = openvpn_sniffer.parse(pkt, pkt_len, &r);
	ok = st == want && !bad_prefix;
	tap_result(ok, "%s", what);
	if (!ok)
		tap_diag("  %zu bytes: got %s, expected %s; wrong prefix: %zu", pkt_len, sniff_st_str(st),
			 sniff_st_str(want), bad_prefix);
	return ok;
}

static void test_layouts(void)
{
	static const size_t hmacs[] = { 16, 20, 28, 32, 36, 48, 64 };
	char what[128];

	plain();
	check_at("plain: ok at its last byte", 0, SNIFF_OK);
	for (size_t i = 0; i < sizeof(hmacs) / sizeof(hmacs[0]); i++) {
		tls_auth(hmacs[i], 1);
		snprintf(what, sizeof(what), "tls-auth with a %zu-byte HMAC: ok", hmacs[i]);
		check_at(what, 0, SNIFF_OK);
	}
	tls_crypt(0x38, 1);
	end();
	check_at("tls-crypt: ok", 0, SNIFF_OK);
	tls_crypt_v2(0x0f000001, 299);
	check_at("tls-crypt-v2 (V3), early-negotiation packet id: ok", 0, SNIFF_OK);
	tls_crypt_v2(1, 299);
	check_at("tls-crypt-v2, packet id 1: ok", 0, SNIFF_OK);
	tls_crypt_v2(1, 290);
	check_at("tls-crypt-v2, the smallest wrapped key (344 bytes): ok", 0, SNIFF_OK);
	tls_crypt_v2(1, 1024);
	check_at("tls-crypt-v2, the largest wrapped key (1078 bytes): ok", 0, SNIFF_OK);
}

static void test_wrong_fields(void)
{
	plain();
	pkt[2] = 0x39;
	check_at("key id 1: no at byte 3", 3, SNIFF_NO);
	pkt[2] = 0x08;
	check_at("P_CONTROL_HARD_RESET_CLIENT_V1 (key method 1): no at byte 3", 3, SNIFF_NO);
	pkt[2] = 0x40;
	check_at("P_CONTROL_HARD_RESET_SERVER_V2: no at byte 3", 3, SNIFF_NO);
	pkt[2] = 0x20;
	check_at("P_CONTROL_V1: no at byte 3", 3, SNIFF_NO);
	pkt[2] = 0x48;
	check_at("P_DATA_V2: no at byte 3", 3, SNIFF_NO);
	pkt[2] = 0x50;
	check_at("V3's opcode at plain's length: no at byte 3", 3, SNIFF_NO);
	plain();
	memset(pkt + 3, 0, 8);
	check_at("a zero session id: no", 0, SNIFF_NO);
	plain();
	pkt[11] = 1;
	check_at("plain with an ack: no", 0, SNIFF_NO);
	plain();
	pkt[15] = 1;
	check_at("plain with message packet id 1: no", 0, SNIFF_NO);

	tls_auth(20, 2);
	check_at("tls-auth, replay packet id 2 (a resent packet): no", 0, SNIFF_NO);
	tls_auth(20, 0x0f000001);
	check_at("tls-auth, the early-negotiation packet id: no", 0, SNIFF_NO);
	tls_auth(20, 1);
	pkt[pkt_len - 5] = 1;
	check_at("tls-auth with an ack: no", 0, SNIFF_NO);
	tls_auth(20, 1);
	pkt[pkt_len - 1] = 1;
	check_at("tls-auth, message packet id 1: no", 0, SNIFF_NO);
	tls_auth(24, 1);
	check_at("tls-auth with a 24-byte HMAC: no at byte 3", 3, SNIFF_NO);

	tls_crypt(0x38, 0);
	end();
	check_at("tls-crypt, replay packet id 0: no", 0, SNIFF_NO);
	tls_crypt(0x38, 0x0f000001);
	end();
	check_at("tls-crypt, the early-negotiation packet id: no", 0, SNIFF_NO);
	tls_crypt_v2(2, 299);
	check_at("tls-crypt-v2, replay packet id 2: no", 0, SNIFF_NO);
	tls_crypt_v2(1, 299);
	pkt[pkt_len - 1]++;
	check_at("tls-crypt-v2, wrapped key length off by one: no", 0, SNIFF_NO);
	tls_crypt_v2(1, 299);
	pkt[2] = 0x38;
	check_at("tls-crypt-v2 with V2's opcode: no at byte 3", 3, SNIFF_NO);
}

static void test_lengths(void)
{
	struct sniff_result r;

	tls_crypt_v2(1, 289);
	check_at("tls-crypt-v2, 343 bytes: no at byte 3", 3, SNIFF_NO);
	tls_crypt_v2(1, 1025);
	check_at("1079 bytes: no at byte 2", 2, SNIFF_NO);
	pkt_len = 0;
	put("\x00\x0d\x38", 3);
	check_at("13 bytes: no at byte 2", 2, SNIFF_NO);
	pkt_len = 0;
	put("\x05\x01\x00", 3);
	check_at("first byte 5 (a length over 1078, or SOCKS5): no at byte 1", 1, SNIFF_NO);
	pkt_len = 0;
	put("\x16\x03\x01\x02\x00\x01", 6);
	check_at("a TLS record: no at byte 1", 1, SNIFF_NO);
	tls_crypt_v2(1, 1025 - 54);
	check_at("tls-crypt-v2 of 1025 bytes (04 01): no at byte 2, left to SOCKS4", 2,
		 SNIFF_NO);
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(socks4_sniffer.parse(pkt, pkt_len, &r), SNIFF_OK,
		  "which SOCKS4 claims (CONNECT to port 0x505b, USERID up to the first NUL)");
	tls_crypt_v2(1, 1026 - 54);
	check_at("tls-crypt-v2 of 1026 bytes (04 02): no at byte 2, left to SOCKS4", 2,
		 SNIFF_NO);
	tls_crypt_v2(1, 1024 - 54);
	check_at("tls-crypt-v2 of 1024 bytes (04 00): ok", 0, SNIFF_OK);
	tls_crypt_v2(1, 1027 - 54);
	check_at("tls-crypt-v2 of 1027 bytes (04 03): ok", 0, SNIFF_OK);
}

int main(void)
{
	tap_plan_start();
	test_layouts();
	test_wrong_fields();
	test_lengths();
	return tap_done();
}
