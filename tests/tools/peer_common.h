/* SPDX-License-Identifier: MIT */
/*
 * peer_common.h - what the test peers (smx-peer, smx-fault) share: the PRNG byte stream each
 * side sends and the other checks, address parsing, whole writes, hex. Header-only, static.
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


#endif
