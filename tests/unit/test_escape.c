// SPDX-License-Identifier: MIT
/* test_escape.c - client-supplied bytes are escaped before they reach a log line. */
#include <string.h>

#include "escape.h"
#include "tap.h"

int main(void)
{
	char out[64];
	static const uint8_t nasty[] = "a\"b\\c\nd\x01\xff e";
	static const uint8_t alpn[] = { 2, 'h', '2', 4, 'x', '"', '\n', 'y' };
	static const uint8_t bad_list[] = { 5, 'h', '2' };
	uint8_t long_in[100];

	tap_plan_start();
	ASSERT_STREQ(escape_bytes((const uint8_t *)"example.org", 11, out, sizeof(out)),
		     "example.org", "plain name unchanged");
	ASSERT_STREQ(escape_bytes(nasty, sizeof(nasty) - 1, out, sizeof(out)),
		     "a\\\"b\\\\c\\x0ad\\x01\\xff e", "quote, backslash, newline, control, high byte");
	ASSERT_FALSE(strchr(escape_bytes(nasty, sizeof(nasty) - 1, out, sizeof(out)), '\n'),
		     "no newline can reach the log line");
	memset(long_in, 'a', sizeof(long_in));
	escape_bytes(long_in, sizeof(long_in), out, 16);
	ASSERT_EQ(strlen(out), 15, "truncated to the buffer, NUL-terminated");
	ASSERT_TRUE(strcmp(out + 12, "...") == 0, "truncation is marked with ...");
	ASSERT_STREQ(escape_bytes(nasty, 3, out, 3), "a", "an escape is never cut in half");
	ASSERT_STREQ(escape_bytes(nasty, sizeof(nasty) - 1, out, 10), "a\\\"b\\\\...",
		     "truncation stops at a whole escape, then ...");
	ASSERT_STREQ(escape_alpn_list(alpn, sizeof(alpn), out, sizeof(out)), "h2,x\\\"\\x0ay",
		     "ALPN list joined with commas, each name escaped");
	ASSERT_STREQ(escape_alpn_list(bad_list, sizeof(bad_list), out, sizeof(out)), "-",
		     "malformed ALPN list prints -");
	ASSERT_STREQ(escape_alpn_list(alpn, 0, out, sizeof(out)), "-", "empty ALPN list prints -");
	return tap_done();
}
