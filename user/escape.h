/* SPDX-License-Identifier: MIT */
/*
 * escape.h - make client-supplied bytes safe to print in a log line.
 *
 * Printable ASCII except '"' and '\\' is copied; everything else becomes \xNN (and '"', '\\'
 * become \" and \\), so a log line stays one line and cannot be forged by a client.
 */
#ifndef SOCKMUX_ESCAPE_H
#define SOCKMUX_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Escape len bytes of src into dst (size bytes, NUL-terminated, truncated with "..." when it
 * does not fit). Returns dst.
 */
char *escape_bytes(const uint8_t *src, size_t len, char *dst, size_t size);

/*
 * Format an ALPN protocol_name_list (wire format) as "p1,p2,...", each name escaped; an
 * empty or malformed list gives "-". Returns dst.
 */
char *escape_alpn_list(const uint8_t *list, size_t len, char *dst, size_t size);

#endif
