/* SPDX-License-Identifier: MIT */
/*
 * health_tls.h - what a TLS health check sends and how its answer is judged (health_tls.c),
 * as HAProxy's ssl-hello-chk: a ClientHello, made by OpenSSL's own client so that it is one a
 * current server accepts (TLS 1.3 and 1.2, a key share, the server name), and the first
 * record that comes back must be a TLS handshake record carrying a ServerHello.
 */
#ifndef SOCKMUX_HEALTH_TLS_H
#define SOCKMUX_HEALTH_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "balance.h"

/* The answer bytes health_tls_answer() needs to decide. */
#define HEALTH_TLS_ANSWER_LEN 6

/* A client context for health_tls_hello(); NULL when OpenSSL fails. Free with SSL_CTX_free. */
SSL_CTX *health_tls_ctx(void);
/*
 * A fresh ClientHello record naming sni (none when NULL) into buf; its length, or -EMSGSIZE
 * when it does not fit, -EIO when OpenSSL fails.
 */
ssize_t health_tls_hello(SSL_CTX *ctx, const char *sni, uint8_t *buf, size_t size);
/*
 * The first len bytes of a server's answer: CHECK_OK for a handshake record (0x16, 3.x) whose
 * first message is a ServerHello, CHECK_TLS_ALERT for an alert record, CHECK_NOT_TLS for
 * anything else, or CHECK_NONE while too few bytes came to tell. Pure.
 */
enum check_result health_tls_answer(const uint8_t *p, size_t len);

#endif
