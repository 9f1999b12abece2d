// SPDX-License-Identifier: MIT
/* escape.c - escaping of client-supplied bytes for log lines (see escape.h). */
#include <stdio.h>
#include <string.h>

#include "escape.h"

static size_t escape_one(uint8_t c, char out[5])
{
	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	snprintf(out, 5, "\\x%02x", c);
	return 4;
}

char *escape_bytes(const uint8_t *src, size_t len, char *dst, size_t size)
{
	size_t o = 0, i;
	char tmp[5];

	if (!size)
		return dst;
	for (i = 0; i < len; i++) {
		size_t n = escape_one(src[i], tmp);

		if (o + n + 1 > size) {
			/* room for "..." and NUL: back off to where it fits */
			while (o > 0 && o + 4 > size)
				o--;
			if (o + 4 <= size) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}

char *escape_alpn_list(const uint8_t *list, size_t len, char *dst, size_t size)
{
	size_t pos = 0, o = 0;

	if (!size)
		return dst;
	dst[0] = '\0';
	while (pos < len) {
		size_t n = list[pos];

		if (n == 0 || pos + 1 + n > len)
			break;
		if (o && o + 1 < size)
			dst[o++] = ',';
		if (o + 1 >= size)
			break;
		escape_bytes(list + pos + 1, n, dst + o, size - o);
		o += strlen(dst + o);
		pos += 1 + n;
	}
	if (!o)
		snprintf(dst, size, "-");
	return dst;
}
