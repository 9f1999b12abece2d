/* SPDX-License-Identifier: MIT */
/*
 * tls_hello.h - parse a TLS ClientHello from the first bytes of a connection.
 *
 * tls_hello_parse() is a pure function: no I/O, no allocation, no logging. It is given every
 * byte received on the connection so far, from the first one (the daemon peeks them with
 * MSG_PEEK and calls it again whenever more arrive), and says whether those bytes hold a
 * complete ClientHello, need more, are not TLS at all, or are a malformed hello.
 *
 * It reassembles a ClientHello split across TCP reads and across TLS records, checks every
 * length against what was received, caps the handshake message at TLS_HELLO_MAX_LEN bytes,
 * rejects duplicate server_name or ALPN extensions, treats an SSLv2-format hello as TLS
 * without SNI or ALPN, skips GREASE and unknown extensions, lowercases the host name, strips
 * one trailing dot, and refuses names with bytes outside [a-z0-9._-].
 *
 * On a prefix of any input, the result is TLS_HELLO_NEED_MORE or the result on the whole
 * input: BAD and NOT_TLS are final, and a length that contradicts an enclosing one is BAD as
 * soon as it is read, without waiting for the bytes it claims. Any other repeated extension
 * type (GREASE aside) is BAD too (RFC 8446 4.2), and so is a second host_name entry in the
 * server_name list (RFC 6066 3: one name per name_type); entries of other name types are
 * skipped. Bytes after the hello (early data, further records) are never looked at.
 */
#ifndef SOCKMUX_TLS_HELLO_H
#define SOCKMUX_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest ClientHello handshake message accepted (the 24-bit length), in bytes. */
#define TLS_HELLO_MAX_LEN 16384
/*
 * Most raw bytes (record headers included) the parser may need; a hello that needs a byte at
 * offset TLS_HELLO_MAX_RAW or beyond is TLS_HELLO_BAD (so a caller whose peek buffer of this
 * size is full never gets TLS_HELLO_NEED_MORE). Callers size their peek buffer with it.
 */
#define TLS_HELLO_MAX_RAW 32768
/* Longest host name kept (RFC 6066 allows up to 2^16 - 1; DNS names are at most 253). */
#define TLS_SNI_MAX 255
/* Room for the client's ALPN protocol_name_list, in wire format (1-byte length, name). */
#define TLS_ALPN_MAX 1024

enum tls_hello_status {
	TLS_HELLO_OK = 0,	/* a complete, valid ClientHello */
	TLS_HELLO_NEED_MORE,	/* valid so far, incomplete: call again with more bytes */
	TLS_HELLO_NOT_TLS,	/* the first bytes cannot start a TLS (or SSLv2) ClientHello */
	TLS_HELLO_BAD,		/* starts as TLS, but violates the protocol or sockmux's limits */
};

struct tls_hello {
	bool sslv2;			/* SSLv2-format hello: no extensions, so no SNI or ALPN */
	uint16_t record_version;	/* legacy_record_version of the first record; 0 for SSLv2 */
	uint16_t client_version;	/* legacy_version in the ClientHello body */
	bool has_sni;
	size_t sni_len;
	char sni[TLS_SNI_MAX + 1];	/* lowercased, trailing dot stripped, NUL-terminated */
	bool has_alpn;
	size_t alpn_len;
	uint8_t alpn[TLS_ALPN_MAX];	/* protocol_name_list as received, GREASE included */
	unsigned int alpn_count;	/* number of protocol names in alpn[] */
	bool has_ech;			/* an encrypted_client_hello extension (0xfe0d) */
	size_t hello_len;		/* handshake message length (4-byte header included) */
	/*
	 * Raw bytes up to the hello's last byte, record headers included (<= len); the rest of
	 * the last record, if any, is not counted. SSLv2: the record, header included.
	 */
	size_t raw_len;
	/* with TLS_HELLO_BAD/NOT_TLS: a short static reason; NULL otherwise */
	const char *error;
};

/*
 * buf holds the len bytes received so far, from the first one (len may be 0). out is always
 * filled: with anything but TLS_HELLO_OK, it is all zero but for error.
 */
enum tls_hello_status tls_hello_parse(const uint8_t *buf, size_t len, struct tls_hello *out);

/* Short name of a status ("ok", "need-more", "not-tls", "bad"). */
const char *tls_hello_status_str(enum tls_hello_status st);

/*
 * Walk the ALPN protocol_name_list of a parsed hello: returns true and sets *name / *name_len
 * to the next protocol, with *pos as the cursor (start with 0); false at the end.
 */
bool tls_hello_alpn_next(const struct tls_hello *h, size_t *pos, const uint8_t **name,
			 size_t *name_len);

/* True when the ALPN protocol name is a GREASE value (RFC 8701). */
bool tls_alpn_is_grease(const uint8_t *name, size_t len);

#endif
