// SPDX-License-Identifier: MIT
/* source_limit.c - connections per client address, daemon-wide (see source_limit.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "source_limit.h"

/* The key an address counts under: IPv4, or the /64 of an IPv6 address; false if neither. */
static bool source_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, &a->s6_addr[12], 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 8);
		}
		return true;
	}
	return false;
}

/* FNV-1a from a random basis, then a 64-bit finalizer: keyed, well spread. */
static uint64_t source_hash(const struct source_limit *s, const uint8_t key[17])
{
	uint64_t h = s->seed;

	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int source_limit_init(struct source_limit *s, uint32_t limit, uint32_t max_conns)
{
	uint32_t n = 16;

	memset(s, 0, sizeof(*s));
	s->limit = limit;
	if (!limit)
		return 0;
	while (n < 2 * (uint64_t)max_conns)
		n <<= 1;
	s->slot = calloc(n, sizeof(*s->slot));
	if (!s->slot)
		return -ENOMEM;
	s->mask = n - 1;
	if (getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed))
		s->seed = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)s->slot;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void source_limit_fini(struct source_limit *s)
{
	if (!s->limit)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->slot);
	s->slot = NULL;
}

/* The slot holding key, or the empty one where it would go. Called with the lock held. */
static uint32_t find(const struct source_limit *s, const uint8_t key[17])
{
	uint32_t i = (uint32_t)source_hash(s, key) & s->mask;

	while (s->slot[i].count && memcmp(s->slot[i].key, key, 17))
		i = (i + 1) & s->mask;
	return i;
}

bool source_limit_take(struct source_limit *s, const struct sockaddr *sa)
{
	uint8_t key[17];
	bool ok = true;
	uint32_t i;

	if (!s->limit || !source_key(sa, key))
		return true;
	pthread_mutex_lock(&s->lock);
	i = find(s, key);
	if (s->slot[i].count >= s->limit) {
		ok = false;
	} else {
		memcpy(s->slot[i].key, key, 17);
		s->slot[i].count++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void source_limit_put(struct source_limit *s, const struct sockaddr *sa)
{
	uint8_t key[17];
	uint32_t i, j, home;

	if (!s->limit || !source_key(sa, key))
		return;
	pthread_mutex_lock(&s->lock);
	i = find(s, key);
	if (!s->slot[i].count || --s->slot[i].count)
		goto out_unlock;
	/* emptied: shift later entries of the probe chain back (no tombstones) */
	for (j = (i + 1) & s->mask; s->slot[j].count; j = (j + 1) & s->mask) {
		home = (uint32_t)source_hash(s, s->slot[j].key) & s->mask;
		/* j may move to i if its home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->slot[i] = s->slot[j];
			s->slot[j].count = 0;
			i = j;
		}
	}
out_unlock:
	pthread_mutex_unlock(&s->lock);
}
