// SPDX-License-Identifier: MIT
/*
 * test_sniff_ssh.c - the ssh sniffer (user/sniff/ssh.c): identification strings as clients
 * send them, the byte where it decides, what is not a client's identification string (another
 * version, a server's lines before it, other protocols), and its 255-byte cap, which it never
 * needs: it decides by byte 9. Every case is also run on each of its prefixes.
 */
#include <stdio.h>
#include <string.h>

#include "sniff/sniff.h"
#include "sniff_prefix.h"
#include "tap.h"

extern const struct sniffer ssh_sniffer;

/* The sniffer says want on the len bytes at p, needs more below at bytes, says want after. */
static bool check_at(const char *what, const void *p, size_t len, size_t at,
		     enum sniff_status want)
{
	struct sniff_result r;
	enum sniff_status st;
	size_t i, bad_prefix = 0;
	bool ok;

	for (i = 0; i < len && !bad_prefix; i++) {
		memset(&r, 0, sizeof(r));
		st = ssh_sniffer.parse(p, i, &r);
		if (i < at ? st != SNIFF_NEED_MORE : st != want || r.name)
			bad_prefix = i ? i : SIZE_MAX;
	}
	memset(&r, 0, sizeof(r));
	st = ssh_sniffer.parse(p, len, &r);
	ok = st == want && !bad_prefix && !r.name;
	tap_result(ok, "%s", what);
	if (!ok)
		tap_diag("  got %s, expected %s; wrong prefix: %zu", sniff_st_str(st), sniff_st_str(want),
			 bad_prefix);
	return ok;
}

#define CHECK_AT(what, lit, at, want) check_at(what, lit, sizeof(lit) - 1, at, want)

int main(void)
{
	static char line[600];
	size_t n;

	tap_plan_start();
	CHECK_AT("OpenSSH: ok at byte 8", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n", 8,
		 SNIFF_OK);
	CHECK_AT("PuTTY: ok at byte 8", "SSH-2.0-PuTTY_Release_0.78\r\n", 8, SNIFF_OK);
	CHECK_AT("SSH-1.99: ok at byte 9", "SSH-1.99-OpenSSH_3.9p1\r\n", 9, SNIFF_OK);
	CHECK_AT("SSH-2.0- alone: ok", "SSH-2.0-", 8, SNIFF_OK);
	CHECK_AT("then a KEXINIT: ok, not looked at",
		 "SSH-2.0-x\r\n\x00\x00\x05\xdc\x08\x14\0\0\0\0", 8, SNIFF_OK);
	CHECK_AT("SSH-2.0 without its '-': need more", "SSH-2.0", 8, SNIFF_NEED_MORE);
	CHECK_AT("SSH-1.: need more (1.99 may come)", "SSH-1.", 7, SNIFF_NEED_MORE);
	CHECK_AT("SSH-1.5 (SSH 1): no at byte 7", "SSH-1.5-OpenSSH_2\r\n", 7, SNIFF_NO);
	CHECK_AT("SSH-2.1: no at byte 7", "SSH-2.1-x\r\n", 7, SNIFF_NO);
	CHECK_AT("SSH-2.0 then a space: no at byte 8", "SSH-2.0 x\r\n", 8, SNIFF_NO);
	CHECK_AT("lowercase ssh: no at byte 1", "ssh-2.0-x\r\n", 1, SNIFF_NO);
	CHECK_AT("a server's line before it: no at byte 1",
		 "Welcome\r\nSSH-2.0-OpenSSH_9.2\r\n", 1, SNIFF_NO);
	CHECK_AT("a leading CR LF: no at byte 1", "\r\nSSH-2.0-x\r\n", 1, SNIFF_NO);
	CHECK_AT("a NUL in the prefix: no at byte 5", "SSH-\0.0-x\r\n", 5, SNIFF_NO);
	CHECK_AT("an HTTP request: no at byte 1", "GET / HTTP/1.1\r\n", 1, SNIFF_NO);
	CHECK_AT("SMTP's EHLO: no at byte 1", "EHLO x\r\n", 1, SNIFF_NO);
	CHECK_AT("SSL: no at byte 3", "SSL", 3, SNIFF_NO);
	CHECK_AT("nothing: need more", "", 0, SNIFF_NEED_MORE);

	/* the cap: a line may take 255 bytes with its CR LF; the verdict is in its first 9 */
	n = (size_t)snprintf(line, sizeof(line), "SSH-2.0-");
	memset(line + n, 'v', 253 - n);
	memcpy(line + 253, "\r\n", 2);
	check_at("a 255-byte identification line: ok at byte 8", line, 255, 8, SNIFF_OK);
	memset(line + n, 'v', 500);
	check_at("a line of 508 bytes with no end: ok at byte 8 all the same", line, n + 500, 8,
		 SNIFF_OK);
	return tap_done();
}
