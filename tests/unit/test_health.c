// SPDX-License-Identifier: MIT
/*
 * test_health.c - the TLS health check's ClientHello (made by OpenSSL; sockmux's own parser
 * must read it as a client's, with the server name or none) and how a server's answer is
 * judged; the servers' state lines `sockmux route` reads back from the daemon. TAP output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "health_tls.h"
#include "ops/stats_servers.h"
#include "sniff/tls_hello.h"
#include "tap.h"

static void test_hello(void)
{
	SSL_CTX *ctx = health_tls_ctx();
	uint8_t buf[2048], buf2[2048], tiny[16];
	struct tls_hello h;
	ssize_t n, n2;

	if (!ASSERT_TRUE(ctx != NULL, "an OpenSSL client context"))
		return;
	n = health_tls_hello(ctx, "tls.example.org", buf, sizeof(buf));
	tap_result(n > 100, "a ClientHello is written (%zd bytes)", n);
	ASSERT_EQ(tls_hello_parse(buf, (size_t)n, &h), TLS_HELLO_OK, "sockmux's parser reads it");
	ASSERT_TRUE(h.has_sni && !strcmp(h.sni, "tls.example.org"), "... naming the server");
	ASSERT_EQ(h.raw_len, (size_t)n, "... whole, nothing after it");
	n2 = health_tls_hello(ctx, "tls.example.org", buf2, sizeof(buf2));
	ASSERT_TRUE(n2 == n && memcmp(buf, buf2, (size_t)n), "each check's hello is fresh "
		    "(its random and key share differ)");
	n = health_tls_hello(ctx, NULL, buf, sizeof(buf));
	ASSERT_TRUE(n > 0 && tls_hello_parse(buf, (size_t)n, &h) == TLS_HELLO_OK && !h.has_sni,
		    "without a name: a ClientHello with no server_name");
	ASSERT_EQ(health_tls_hello(ctx, "a.example", tiny, sizeof(tiny)), -EMSGSIZE,
		  "a buffer too small: -EMSGSIZE, nothing half-written is used");
	SSL_CTX_free(ctx);
}

static void test_answer(void)
{
	/* the first bytes of openssl s_server's answer: a handshake record with a ServerHello */
	static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00 };
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70 };
	static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n";
	static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	static const uint8_t other_msg[] = { 0x16, 0x03, 0x03, 0x00, 0x10, 0x0b };
	static const uint8_t empty_rec[] = { 0x16, 0x03, 0x01, 0x00, 0x00, 0x02 };

	ASSERT_EQ(health_tls_answer(server_hello, sizeof(server_hello)), CHECK_OK,
		  "a ServerHello: ok");
	ASSERT_EQ(health_tls_answer(server_hello, 5), CHECK_NONE, "5 bytes of it: not yet known");
	ASSERT_EQ(health_tls_answer(server_hello, 0), CHECK_NONE, "nothing yet: not yet known");
	ASSERT_EQ(health_tls_answer(alert, sizeof(alert)), CHECK_TLS_ALERT,
		  "an alert (unrecognized_name): tls_alert");
	ASSERT_EQ(health_tls_answer(http, 1), CHECK_NOT_TLS, "an HTTP answer: not_tls at once");
	ASSERT_EQ(health_tls_answer(ssh, sizeof(ssh) - 1), CHECK_NOT_TLS, "an SSH banner: not_tls");
	ASSERT_EQ(health_tls_answer(other_msg, sizeof(other_msg)), CHECK_NOT_TLS,
		  "a handshake record without a ServerHello first: not_tls");
	ASSERT_EQ(health_tls_answer(empty_rec, sizeof(empty_rec)), CHECK_NOT_TLS,
		  "an empty record: not_tls");
}

static void test_lines(void)
{
	struct stats_server s = {
		.backend = "web", .address = "[2001:db8::1]:443", .down = SERVER_DOWN_CHECK,
		.last_check = CHECK_REFUSED, .since_rt = 1796600000ull * 1000000000ull, .live = 3,
		.carried = 12, .failed = 2, .rr = 41,
	}, back;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	stats_servers_write_lines(&s, 1, f);
	fclose(f);
	ASSERT_EQ(stats_servers_parse_line(out, &back), 0, "a server's line reads back");
	ASSERT_TRUE(!strcmp(back.backend, "web") && !strcmp(back.address, s.address) &&
		    back.down == s.down && back.last_check == s.last_check &&
		    back.since_rt == s.since_rt && back.live == 3 && back.carried == 12 &&
		    back.failed == 2 && back.rr == 41, "... every field as written");
	free(back.backend);
	free(back.address);
	free(out);
	ASSERT_EQ(stats_servers_parse_line("{\"error\": \"unknown request\"}", &back), -EINVAL,
		  "an older daemon's error: -EINVAL");
	ASSERT_EQ(stats_servers_parse_line("web\t1.2.3.4:5\t7\t0\t0\t0\t0\t0\t0", &back), -EINVAL,
		  "an unknown state: -EINVAL");
	ASSERT_EQ(stats_servers_parse_line("web\t1.2.3.4:5\t0\t0\t0\t0\t0\t0\t0 x", &back),
		  -EINVAL, "trailing bytes: -EINVAL");
}

int main(void)
{
	tap_plan_start();
	test_hello();
	test_answer();
	test_lines();
	return tap_done();
}
