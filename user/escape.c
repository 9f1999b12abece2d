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
	size_t o = 0, total = 0, i, room;
	char tmp[5];

	if (!size)
		return dst;
	for (i = 0; i < len; i++)
		total += escape_one(src[i], tmp);
	/* when it does not all fit, stop at a whole escape and leave room for "..." */
	room = total + 1 <= size ? size - 1 : (size > 4 ? size - 4 : size - 1);
	for (i = 0; i < len; i++) {
		size_t n = escape_one(src[i], tmp);

		if (o + n > room)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	if (i < len && o + 4 <= size) {
		memcpy(dst + o, "...", 3);
		o += 3;
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
