// SPDX-License-Identifier: MIT
/* health_tls.c - the TLS health check's ClientHello and answer (see health_tls.h). */
#include <errno.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "health_tls.h"

#define TLS_HANDSHAKE 0x16
#define TLS_ALERT 0x15
#define TLS_SERVER_HELLO 0x02

SSL_CTX *health_tls_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* the check stops at the server's first record: nothing is verified or resumed */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

ssize_t health_tls_hello(SSL_CTX *ctx, const char *sni, uint8_t *buf, size_t size)
{
	BIO *rbio = NULL, *wbio = NULL;
	ssize_t ret = -EIO;
	SSL *ssl;
	int n;

	ssl = SSL_new(ctx);
	if (!ssl)
		goto out;
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (!rbio || !wbio) {
		BIO_free(rbio);
		BIO_free(wbio);
		goto out_ssl;
	}
	SSL_set_bio(ssl, rbio, wbio);	/* ssl owns both from here */
	SSL_set_connect_state(ssl);
	if (sni && !SSL_set_tlsext_host_name(ssl, sni))
		goto out_ssl;
	/* the hello is written, then OpenSSL waits for the server: that is all we want */
	if (SSL_do_handshake(ssl) != -1 || SSL_get_error(ssl, -1) != SSL_ERROR_WANT_READ)
		goto out_ssl;
	if ((size_t)BIO_pending(wbio) > size) {
		ret = -EMSGSIZE;
		goto out_ssl;
	}
	n = BIO_read(wbio, buf, (int)size);
	if (n > 0)
		ret = n;
out_ssl:
	SSL_free(ssl);
out:
	ERR_clear_error();
	return ret;
}

enum check_result health_tls_answer(const uint8_t *p, size_t len)
{
	if (len >= 1 && p[0] != TLS_HANDSHAKE && p[0] != TLS_ALERT)
		return CHECK_NOT_TLS;
	if (len >= 2 && p[1] != 3)
		return CHECK_NOT_TLS;
	if (len < HEALTH_TLS_ANSWER_LEN)
		return CHECK_NONE;
	/* a record of 0 bytes is no record; its length is at 3..4 */
	if (!p[3] && !p[4])
		return CHECK_NOT_TLS;
	if (p[0] == TLS_ALERT)
		return CHECK_TLS_ALERT;
	return p[5] == TLS_SERVER_HELLO ? CHECK_OK : CHECK_NOT_TLS;
}
