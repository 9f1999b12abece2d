/* SPDX-License-Identifier: MIT */
/*
 * route_regex.h - a route's regex = "...": PCRE2 (the Debian library), compiled once when the
 * configuration is read, matched by the router against the connection's first bytes.
 *
 * The match is bounded (a match limit, a depth limit and a heap limit), so no pattern and no
 * client can make it run long. While more bytes may still come, a partial match (PCRE2's
 * soft partial matching) means "may still match": the route is then not decided yet. The
 * pattern is not anchored for you: write ^ to match at the first byte.
 */
#ifndef SOCKMUX_ROUTE_REGEX_H
#define SOCKMUX_ROUTE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct route_regex {
	char *text;			/* as written */
	pcre2_code *code;
	pcre2_match_context *mctx;	/* the limits */
};

enum regex_verdict {
	REGEX_NO,
	REGEX_MAYBE,	/* a partial match: more bytes may complete it */
	REGEX_YES,
};

/*
 * Compiles text (binary-safe: \xNN escapes; no UTF mode) into *out. 0; -EINVAL with why
 * (PCRE2's message and the offset) written into why; -ENOMEM.
 */
int route_regex_compile(const char *text, struct route_regex **out, char *why, size_t why_size);
void route_regex_free(struct route_regex *re);

/*
 * Matches the len bytes at data; more_may_come: a partial match is REGEX_MAYBE, else
 * REGEX_NO. md: match data of this thread (pcre2_match_data_create(1, NULL)). A limit hit is
 * REGEX_NO.
 */
enum regex_verdict route_regex_match(const struct route_regex *re, const uint8_t *data,
				     size_t len, bool more_may_come, pcre2_match_data *md);

#endif
