// SPDX-License-Identifier: MIT
/*
 * openvpn.c - the OpenVPN sniffer: a client's first packet over TCP, a 2-byte big-endian
 * length and a P_CONTROL_HARD_RESET_CLIENT packet (OpenVPN's ssl_pkt.h), held to the stricter
 * of OpenVPN 2.6 and caddy-l4's openvpn matcher:
 *
 *  - opcode P_CONTROL_HARD_RESET_CLIENT_V2 (7) or _V3 (10, tls-crypt-v2) in the high 5 bits of
 *    the first byte, key id 0 in the low 3 (V1, key method 1, is refused by OpenVPN 2.4 on);
 *  - an 8-byte session id that is not zero;
 *  - then one of the layouts a client sends, told apart by the length:
 *      plain (14 bytes): ack count 0, message packet id 0;
 *      tls-auth (22 + HMAC bytes, an HMAC of 16, 20, 28, 32, 36, 48 or 64): the HMAC, replay
 *        packet id 1, a timestamp, ack count 0, message packet id 0;
 *      tls-crypt (54): replay packet id 1, a timestamp, a 32-byte tag, 5 encrypted bytes;
 *      tls-crypt-v2 (V3, 344 to 1078): as tls-crypt, replay packet id 1 or 0x0f000001 (the
 *        early-negotiation mark), then the wrapped client key (290 to 1024 bytes) whose last
 *        two bytes are its own length.
 * The timestamp is not checked (a pure function has no clock), nor anything encrypted.
 *
 * The verdict comes with the packet's last byte (a client sends nothing more before the
 * server answers; bytes after it are never looked at); SNIFF_NO as soon as the length or the
 * first byte cannot be such a packet. A length of 1025 or 1026 (bytes 04 01 and 04 02) is
 * left to the SOCKS4 sniffer, whose CONNECT and BIND requests begin so. No name; never
 * SNIFF_BAD. Cap: 2 + 1078 bytes.
 */
#include "sniff/sniff.h"

#define OVPN_HEADER 2			/* the TCP length */
#define OVPN_LEN_MIN 14			/* plain: opcode, session id, ack count, packet id */
#define OVPN_LEN_MAX 1078		/* tls-crypt-v2 with the largest wrapped key */
#define OVPN_OP_RESET_CLIENT_V2 7
#define OVPN_OP_RESET_CLIENT_V3 10
#define OVPN_SESSION_ID 8
#define OVPN_CRYPT_LEN 54		/* tls-crypt: 9 + packet id, time, tag, 5 encrypted */
#define OVPN_WKC_MIN 290		/* tag 32, client key 256, length 2 */
#define OVPN_WKC_MAX 1024
#define OVPN_EARLY_NEG_START 0x0f000000u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A tls-auth HMAC size: the digests OpenVPN and caddy-l4 know (MD5 .. SHA-512, MD5-SHA1). */
static bool openvpn_hmac_size(size_t n)
{
	return n == 16 || n == 20 || n == 28 || n == 32 || n == 36 || n == 48 || n == 64;
}

/* The packet p of plen bytes (opcode first), whole: one of the V2 layouts. */
static bool openvpn_v2(const uint8_t *p, size_t plen)
{
	const uint8_t *q = p + 1 + OVPN_SESSION_ID;
	size_t hmac = plen - (OVPN_LEN_MIN + 8);

	if (plen == OVPN_LEN_MIN && q[0] == 0 && be32(q + 1) == 0)
		return true;
	if (plen == OVPN_CRYPT_LEN && be32(q) == 1)
		return true;
	if (plen < OVPN_LEN_MIN + 8 || !openvpn_hmac_size(hmac))
		return false;
	q += hmac;
	return be32(q) == 1 && q[8] == 0 && be32(q + 9) == 0;
}

/* The packet p of plen bytes, whole: tls-crypt-v2. */
static bool openvpn_v3(const uint8_t *p, size_t plen)
{
	const uint8_t *q = p + 1 + OVPN_SESSION_ID;
	size_t wkc = plen - OVPN_CRYPT_LEN;

	if (be32(q) != 1 && be32(q) != (OVPN_EARLY_NEG_START | 1))
		return false;
	return ((size_t)p[plen - 2] << 8 | p[plen - 1]) == wkc;
}

/* Whether a packet of plen bytes may have this first byte. */
static bool openvpn_first_byte(uint8_t b, size_t plen)
{
	switch (b >> 3) {
	case OVPN_OP_RESET_CLIENT_V2:
		return (b & 7) == 0 && (plen == OVPN_LEN_MIN || plen == OVPN_CRYPT_LEN ||
				       openvpn_hmac_size(plen - (OVPN_LEN_MIN + 8)));
	case OVPN_OP_RESET_CLIENT_V3:
		return (b & 7) == 0 && plen >= OVPN_CRYPT_LEN + OVPN_WKC_MIN &&
		       plen <= OVPN_CRYPT_LEN + OVPN_WKC_MAX;
	}
	return false;
}

static enum sniff_status openvpn_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	const uint8_t *p = buf + OVPN_HEADER;
	size_t plen, i;

	if (len < 1)
		return SNIFF_NEED_MORE;
	if (buf[0] > OVPN_LEN_MAX >> 8)
		return SNIFF_NO;
	if (len < 2)
		return SNIFF_NEED_MORE;
	plen = (size_t)buf[0] << 8 | buf[1];
	if (plen < OVPN_LEN_MIN || plen > OVPN_LEN_MAX || plen == 1025 || plen == 1026)
		return SNIFF_NO;
	if (len < 3)
		return SNIFF_NEED_MORE;
	if (!openvpn_first_byte(p[0], plen))
		return SNIFF_NO;
	if (len < OVPN_HEADER + plen)
		return SNIFF_NEED_MORE;
	for (i = 1; i <= OVPN_SESSION_ID && p[i] == 0; i++)
		;
	if (i > OVPN_SESSION_ID)
		return SNIFF_NO;
	if (p[0] >> 3 == OVPN_OP_RESET_CLIENT_V2 ? openvpn_v2(p, plen) : openvpn_v3(p, plen))
		return SNIFF_OK;
	return SNIFF_NO;
}

const struct sniffer openvpn_sniffer = {
	.name = "openvpn",
	.proto = PROTO_OPENVPN,
	.parse = openvpn_parse,
};
