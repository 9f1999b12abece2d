// SPDX-License-Identifier: MIT
/* hostname.c - the host-name rule (see hostname.h). */
#include "hostname.h"

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int name_byte_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

enum hostname_problem hostname_normalize(const char *name, size_t len, char *out,
					 size_t *out_len)
{
	size_t i, label = 0;

	if (len && name[len - 1] == '.')
		len--;
	if (!len)
		return HOSTNAME_EMPTY;
	if (len > HOSTNAME_MAX)
		return HOSTNAME_TOO_LONG;
	for (i = 0; i < len; i++) {
		char c = lower(name[i]);

		out[i] = c;
		if (c == '.') {
			if (!label)
				return HOSTNAME_EMPTY_LABEL;
			label = 0;
			continue;
		}
		if (!name_byte_ok(c))
			return HOSTNAME_BAD_BYTE;
		if (++label > HOSTNAME_LABEL_MAX)
			return HOSTNAME_LONG_LABEL;
	}
	if (!label)
		return HOSTNAME_EMPTY_LABEL;
	out[len] = '\0';
	*out_len = len;
	return HOSTNAME_OK;
}
