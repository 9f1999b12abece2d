// SPDX-License-Identifier: MIT
/*
 * ssh.c - the SSH sniffer: a client's identification string (RFC 4253 4.2),
 * "SSH-2.0-softwareversion SP comments CR LF", or "SSH-1.99-..." from a client that also
 * speaks the old protocol. A client sends it first, before anything else (only a server may
 * send other lines before it), and routes on it alone: the verdict comes as soon as
 * "SSH-2.0-" or "SSH-1.99-" is complete, and "not SSH" at the first byte that differs from
 * both. So at most 9 bytes are looked at, well within the 255 bytes an identification line
 * may take (its cap); softwareversion, comments and what follows are the backend's. No name:
 * SSH names no host in the clear. Never SNIFF_BAD.
 */
#include <string.h>

#include "sniff/sniff.h"

static const char *const ssh_prefixes[] = { "SSH-2.0-", "SSH-1.99-" };

static enum sniff_status ssh_parse(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	bool maybe = false;

	if (len == 0)
		return SNIFF_NEED_MORE;
	for (size_t i = 0; i < sizeof(ssh_prefixes) / sizeof(ssh_prefixes[0]); i++) {
		size_t n = strlen(ssh_prefixes[i]);

		if (memcmp(buf, ssh_prefixes[i], len < n ? len : n))
			continue;
		if (len >= n)
			return SNIFF_OK;
		maybe = true;
	}
	return maybe ? SNIFF_NEED_MORE : SNIFF_NO;
}

const struct sniffer ssh_sniffer = {
	.name = "ssh",
	.proto = PROTO_SSH,
	.parse = ssh_parse,
};
