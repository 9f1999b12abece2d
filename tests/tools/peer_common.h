/* SPDX-License-Identifier: MIT */
/*
 * peer_common.h - what the test peers (smx-peer, smx-fault) share: the PRNG byte stream each
 * side sends and the other checks, address parsing, whole writes, hex. Header-only, static.
 * Also the minimal ClientHello that smx-peer and smx-churn send (build_hello).
 */
#ifndef SMX_PEER_COMMON_H
#define SMX_PEER_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 65536

struct stream {
	uint64_t state;
	uint8_t buf[8];
	unsigned int have;
};

static inline __attribute__((unused)) void stream_init(struct stream *s, uint64_t seed)
{
	s->state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	s->have = 0;
}

/* Fills buf with the next n bytes of the stream, a 64-bit word at a time where aligned. */
static inline __attribute__((unused)) void stream_fill(struct stream *s, uint8_t *buf, size_t n);

static inline __attribute__((unused)) uint8_t stream_next(struct stream *s)
{
	if (!s->have) {
		uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(s->buf, &z, 8);
		s->have = 8;
	}
	return s->buf[8 - s->have--];
}

static inline __attribute__((unused)) void stream_fill(struct stream *s, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n && s->have)
		buf[i++] = stream_next(s);
	for (; i + 8 <= n; i += 8) {
		uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(buf + i, &z, 8);
	}
	while (i < n)
		buf[i++] = stream_next(s);
}

static inline __attribute__((unused)) int parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, end - text - 1);
		host[end - text - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(end + 2));
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -1;
	}
	colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, colon - text);
	host[colon - text] = 0;
	in4->sin_family = AF_INET;
	in4->sin_port = htons(atoi(colon + 1));
	*len = sizeof(*in4);
	return inet_pton(AF_INET, host, &in4->sin_addr) == 1 ? 0 : -1;
}

static inline __attribute__((unused)) int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static inline __attribute__((unused)) void hex(const uint8_t *d, unsigned int n, char *out)
{
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}


/*
 * A minimal TLS 1.2/1.3-style ClientHello with the given SNI and ALPN list ("a,b"), either
 * may be NULL; out needs room for 4096 + 9 bytes. Returns its length.
 */
static inline __attribute__((unused)) size_t build_hello(uint8_t *out, const char *sni,
							 const char *alpn)
{
	uint8_t body[4096], ext[2048];
	size_t b = 0, e = 0, n, i;

	if (sni) {
		n = strlen(sni);
		ext[e++] = 0; ext[e++] = 0;			/* server_name */
		ext[e++] = (n + 5) >> 8; ext[e++] = (n + 5) & 0xff;
		ext[e++] = (n + 3) >> 8; ext[e++] = (n + 3) & 0xff;
		ext[e++] = 0;					/* host_name */
		ext[e++] = n >> 8; ext[e++] = n & 0xff;
		memcpy(ext + e, sni, n);
		e += n;
	}
	if (alpn) {
		uint8_t list[512];
		size_t l = 0;
		const char *p = alpn;

		while (*p) {
			size_t k = strcspn(p, ",");

			list[l++] = k;
			memcpy(list + l, p, k);
			l += k;
			p += k;
			if (*p)
				p++;
		}
		ext[e++] = 0; ext[e++] = 16;
		ext[e++] = (l + 2) >> 8; ext[e++] = (l + 2) & 0xff;
		ext[e++] = l >> 8; ext[e++] = l & 0xff;
		memcpy(ext + e, list, l);
		e += l;
	}
	body[b++] = 3; body[b++] = 3;				/* legacy_version */
	for (i = 0; i < 32; i++)
		body[b++] = (uint8_t)(i * 7 + 1);		/* random */
	body[b++] = 0;						/* session id */
	body[b++] = 0; body[b++] = 4;				/* cipher suites */
	body[b++] = 0x13; body[b++] = 0x01; body[b++] = 0xc0; body[b++] = 0x2f;
	body[b++] = 1; body[b++] = 0;				/* compression */
	body[b++] = e >> 8; body[b++] = e & 0xff;
	memcpy(body + b, ext, e);
	b += e;
	out[0] = 22; out[1] = 3; out[2] = 1;
	out[3] = (b + 4) >> 8; out[4] = (b + 4) & 0xff;
	out[5] = 1; out[6] = 0; out[7] = b >> 8; out[8] = b & 0xff;
	memcpy(out + 9, body, b);
	return b + 9;
}

#endif
