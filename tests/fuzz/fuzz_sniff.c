// SPDX-License-Identifier: MIT
/*
 * fuzz_sniff.c - libFuzzer target for sniff() and every sniffer of its table.
 *
 * Besides memory safety (ASan/UBSan; every prefix is parsed from a heap copy of exactly its
 * size, so a read past len is caught), it checks what the handshake and the router rely on:
 *  - the result is consistent with the status: SNIFF_OK and SNIFF_BAD name a protocol of the
 *    table, SNIFF_BAD and only it has an error, SNIFF_NEED_MORE and only it has maybe bits
 *    (the protocols of the sniffers that still wait), SNIFF_NO is PROTO_UNKNOWN;
 *  - a name is NUL-terminated, name_len long, in out itself (u.host or u.tls.sni), at most
 *    253 bytes of [a-z0-9._-], or an IPv6 address as inet_ntop() writes it; an ALPN list and
 *    ech come only from TLS;
 *  - sniffers do not claim each other's bytes: once one says SNIFF_OK or SNIFF_BAD, every
 *    other says SNIFF_NO;
 *  - a prefix never gets another verdict than SNIFF_NEED_MORE or the whole's, with the same
 *    protocol and name, from sniff() and from each sniffer alone (every prefix of a short
 *    input, and a spread of them of a longer one), so the handshake may run the table again
 *    as bytes arrive and route as soon as it answers.
 * Seeds: tests/fuzz/seeds/sniff/ (the captures of tests/fixtures/sniff/ and hello/, and the
 * hostile cases of the unit tests).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff/sniff.h"

extern const struct sniffer tls_sniffer, ssh_sniffer, http_sniffer, xmpp_sniffer,
	openvpn_sniffer, socks5_sniffer, socks4_sniffer;

static const struct sniffer *const all[] = {
	&tls_sniffer, &ssh_sniffer, &http_sniffer, &xmpp_sniffer,
	&openvpn_sniffer, &socks5_sniffer, &socks4_sniffer,
};
#define N_SNIFFERS (sizeof(all) / sizeof(all[0]))

/* The verdicts on one input: sniff()'s and each sniffer's. */
struct verdicts {
	enum sniff_status st;
	struct sniff_result r;
	enum sniff_status each[N_SNIFFERS];
	struct sniff_result each_r[N_SNIFFERS];
};

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "fuzz_sniff: invariant broken: %s (input of %zu bytes)\n", what, len);
	abort();
}

static bool name_ok(const struct sniff_result *r)
{
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	if (!r->name)
		return r->name_len == 0;
	if (r->name != r->u.host && r->name != r->u.tls.sni)
		return false;
	if (r->name_len == 0 || r->name_len > HOSTNAME_MAX || strlen(r->name) != r->name_len)
		return false;
	if (strchr(r->name, ':'))	/* an IPv6 literal, written by inet_ntop() */
		return inet_pton(AF_INET6, r->name, &a) == 1 &&
		       inet_ntop(AF_INET6, &a, text, sizeof(text)) && !strcmp(text, r->name);
	for (i = 0; i < r->name_len; i++) {
		char c = r->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

static void check_result(enum sniff_status st, const struct sniff_result *r, size_t len)
{
	switch (st) {
	case SNIFF_OK:
	case SNIFF_BAD:
		if (r->proto <= PROTO_TIMEOUT || r->proto >= PROTO__COUNT || r->maybe)
			fail("a claim without its protocol, or with maybe bits", len);
		if ((st == SNIFF_BAD) != (r->error && r->error[0]))
			fail("error set without SNIFF_BAD, or SNIFF_BAD without one", len);
		break;
	case SNIFF_NEED_MORE:
		if (r->proto != PROTO_UNKNOWN || !r->maybe || r->error)
			fail("need more without maybe bits, or with a protocol", len);
		if (r->maybe & ~((1u << PROTO__COUNT) - (1u << PROTO_TLS)))
			fail("maybe bits of no sniffer", len);
		break;
	case SNIFF_NO:
		if (r->proto != PROTO_UNKNOWN || r->maybe || r->error)
			fail("no with a protocol, maybe bits or an error", len);
		break;
	default:
		fail("status out of range", len);
	}
	if (st != SNIFF_OK && (r->name || r->alpn || r->ech))
		fail("a name, alpn or ech without SNIFF_OK", len);
	if (!name_ok(r))
		fail("name", len);
	if (r->proto != PROTO_TLS && (r->alpn || r->ech))
		fail("alpn or ech from another protocol than tls", len);
}

static bool same(enum sniff_status a, const struct sniff_result *ra, enum sniff_status b,
		 const struct sniff_result *rb)
{
	if (a != b || ra->proto != rb->proto)
		return false;
	if (a == SNIFF_BAD)
		return !strcmp(ra->error, rb->error);
	if (a != SNIFF_OK)
		return true;
	return (!ra->name && !rb->name) || (ra->name && rb->name && !strcmp(ra->name, rb->name));
}

/* Every verdict on the len bytes at data, from a heap copy of exactly len bytes. */
static void judge(const uint8_t *data, size_t len, struct verdicts *v)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t claims = 0;

	if (!p)
		abort();
	memcpy(p, data, len);
	v->st = sniff(p, len, &v->r);
	check_result(v->st, &v->r, len);
	for (size_t i = 0; i < N_SNIFFERS; i++) {
		memset(&v->each_r[i], 0, sizeof(v->each_r[i]));
		v->each[i] = all[i]->parse(p, len, &v->each_r[i]);
		if (!name_ok(&v->each_r[i]) || (v->each[i] != SNIFF_OK && v->each_r[i].name))
			fail("a sniffer's name", len);
		if (v->each[i] == SNIFF_OK || v->each[i] == SNIFF_BAD) {
			v->each_r[i].proto = all[i]->proto;
			if (!same(v->st, &v->r, v->each[i], &v->each_r[i]))
				fail("sniff() says otherwise than the sniffer that claims", len);
			claims++;
		}
	}
	free(p);
	if (claims > 1)
		fail("two sniffers claim the same bytes", len);
	for (size_t i = 0; claims && i < N_SNIFFERS; i++)
		if (v->each[i] == SNIFF_NEED_MORE)
			fail("a sniffer waits for bytes another one claimed", len);
	if ((v->st == SNIFF_OK || v->st == SNIFF_BAD) != (claims == 1))
		fail("sniff() and its sniffers disagree", len);
}

static void check_prefix(const uint8_t *data, size_t n, const struct verdicts *whole,
			 size_t len)
{
	static struct verdicts v;

	judge(data, n, &v);
	if (v.st != SNIFF_NEED_MORE && !same(v.st, &v.r, whole->st, &whole->r))
		fail("sniff(): a prefix gets another verdict", len);
	for (size_t i = 0; i < N_SNIFFERS; i++)
		if (v.each[i] != SNIFF_NEED_MORE &&
		    !same(v.each[i], &v.each_r[i], whole->each[i], &whole->each_r[i]))
			fail("a sniffer: a prefix gets another verdict", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct verdicts whole;
	size_t n;

	judge(data, len, &whole);
	if (len <= 64) {
		for (n = 0; n < len; n++)
			check_prefix(data, n, &whole, len);
		return 0;
	}
	for (n = 1; n < 16; n++)
		check_prefix(data, len * n / 16, &whole, len);
	check_prefix(data, len - 1, &whole, len);
	return 0;
}
