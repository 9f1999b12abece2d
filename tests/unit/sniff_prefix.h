/* SPDX-License-Identifier: MIT */
/*
 * sniff_prefix.h - what the sniffers' unit tests share: a verdict's name, the name check, and
 * the prefix check: a sniffer must give the same verdict on every prefix of its input or say
 * it needs more (a connection's bytes arrive in any split). Header-only, for tests/unit.
 */
#ifndef SOCKMUX_TEST_SNIFF_PREFIX_H
#define SOCKMUX_TEST_SNIFF_PREFIX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sniff/sniff.h"
#include "tap.h"

static inline const char *sniff_st_str(enum sniff_status st)
{
	static const char *const s[] = { "need-more", "no", "ok", "bad" };

	return st <= SNIFF_BAD ? s[st] : "?";
}

/* r names want (NULL: no name) */
static inline bool sniff_same_name(const struct sniff_result *r, const char *want)
{
	if (!want)
		return !r->name && !r->name_len;
	return r->name && r->name_len == strlen(want) && !strcmp(r->name, want);
}

/*
 * s on the len bytes at p says want, with the name want_name (NULL: none), and on every prefix
 * needs more or says the same; with at, exactly from that prefix on. A BAD verdict must say
 * why (r.error). One TAP line.
 */
static inline bool sniff_check_prefixes(const struct sniffer *s, const char *what,
					const void *p, size_t len, size_t at,
					enum sniff_status want, const char *want_name)
{
	struct sniff_result r;
	enum sniff_status st;
	size_t i, bad_prefix = 0;
	bool ok;

	for (i = 0; i < len && !bad_prefix; i++) {
		memset(&r, 0, sizeof(r));
		st = s->parse(p, i, &r);
		if (st == SNIFF_NEED_MORE ? at && i >= at :
		    st != want || (at && i < at) ||
		    (want == SNIFF_OK && !sniff_same_name(&r, want_name)))
			bad_prefix = i ? i : SIZE_MAX;
	}
	memset(&r, 0, sizeof(r));
	st = s->parse(p, len, &r);
	ok = st == want && !bad_prefix && (want != SNIFF_OK || sniff_same_name(&r, want_name)) &&
	     (want != SNIFF_BAD || (r.error && *r.error));
	tap_result(ok, "%s", what);
	if (!ok)
		tap_diag("  got %s, name \"%s\" (%s), expected %s, name \"%s\"; wrong prefix: %zu",
			 sniff_st_str(st), r.name ? r.name : "(none)", r.error ? r.error : "-",
			 sniff_st_str(want), want_name ? want_name : "(none)", bad_prefix);
	return ok;
}

#endif
