// SPDX-License-Identifier: MIT
/* route_regex.c - routes' PCRE2 regexes (see route_regex.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_regex.h"

/* Bounds of one match: backtracking steps, nesting depth, heap (KiB). */
#define REGEX_MATCH_LIMIT 100000
#define REGEX_DEPTH_LIMIT 1000
#define REGEX_HEAP_LIMIT_KIB 1024

int route_regex_compile(const char *text, struct route_regex **out, char *why, size_t why_size)
{
	struct route_regex *re;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE offset;
	int code;

	*out = NULL;
	re = calloc(1, sizeof(*re));
	if (!re)
		return -ENOMEM;
	re->text = strdup(text);
	if (!re->text)
		goto out_nomem;
	re->code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
	if (!re->code) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(why, why_size, "%s at offset %zu", (const char *)msg, (size_t)offset);
		route_regex_free(re);
		return -EINVAL;
	}
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->mctx)
		goto out_nomem;
	pcre2_set_match_limit(re->mctx, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, REGEX_HEAP_LIMIT_KIB);
	*out = re;
	return 0;

out_nomem:
	route_regex_free(re);
	return -ENOMEM;
}

void route_regex_free(struct route_regex *re)
{
	if (!re)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re->text);
	free(re);
}

enum regex_verdict route_regex_match(const struct route_regex *re, const uint8_t *data,
				     size_t len, bool more_may_come, pcre2_match_data *md)
{
	int rc;

	if (!re || !md)
		return REGEX_NO;
	rc = pcre2_match(re->code, data ? data : (const uint8_t *)"", len, 0,
			 more_may_come ? PCRE2_PARTIAL_SOFT : 0, md, re->mctx);
	if (rc >= 0)		/* 0: matched, ovector too small for the groups */
		return REGEX_YES;
	if (rc == PCRE2_ERROR_PARTIAL)
		return REGEX_MAYBE;
	return REGEX_NO;
}
