// SPDX-License-Identifier: MIT
/*
 * test_sniff_xmpp.c - the xmpp sniffer (user/sniff/xmpp.c) on stream headers as clients and
 * servers write them and as an attacker might: the XML declaration, prefixes, quotes and
 * whitespace, namespaces, `to` with references and in every shape, what is not a stream
 * header (other XML, comments, processing instructions, an empty element, duplicates), and
 * the 4 KiB cap. Every case is also run on each of its prefixes: they must need more or get
 * the same verdict and name.
 */
#include <stdio.h>
#include <string.h>

#include "sniff/sniff.h"
#include "sniff_prefix.h"
#include "tap.h"

extern const struct sniffer xmpp_sniffer;

#define CAP 4096
#define NS "xmlns:stream='http://etherx.jabber.org/streams'"
#define C2S "xmlns='jabber:client'"

static bool check_at(const char *what, const void *p, size_t len, size_t at,
		     enum sniff_status want, const char *want_name)
{
	return sniff_check_prefixes(&xmpp_sniffer, what, p, len, at, want, want_name);
}

#define CHECK_AT(what, lit, at, want, name) check_at(what, lit, sizeof(lit) - 1, at, want, name)

static bool check(const char *what, const char *s, enum sniff_status want, const char *name)
{
	return check_at(what, s, strlen(s), 0, want, name);
}

/* A c2s stream header with these attributes besides the two namespaces. */
static bool check_to(const char *what, const char *attrs, enum sniff_status want,
		     const char *name)
{
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "<stream:stream %s " NS " " C2S " version='1.0'>", attrs);
	return check(what, hdr, want, name);
}

static void test_headers(void)
{
	check("slixmpp's header", "<stream:stream to='example.org' " NS " " C2S
	      " xml:lang='en' version='1.0'>", SNIFF_OK, "example.org");
	check("a UTF-8 byte order mark first, then the declaration",
	      "\xef\xbb\xbf<?xml version='1.0'?><stream:stream to='example.org' " NS " " C2S ">",
	      SNIFF_OK, "example.org");
	check("a UTF-8 byte order mark, then the tag", "\xef\xbb\xbf<stream:stream to='a.example' "
	      NS " " C2S ">", SNIFF_OK, "a.example");
	CHECK_AT("a broken byte order mark: no at its second byte", "\xef\xbc<stream:stream>", 2,
		 SNIFF_NO, NULL);
	check("with a declaration, double quotes, encoding and standalone",
	      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	      "<stream:stream xmlns=\"jabber:client\" "
	      "xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"Example.ORG.\" "
	      "version=\"1.0\">", SNIFF_OK, "example.org");
	check("encoding in lowercase", "<?xml version='1.0' encoding='utf-8'?><stream:stream "
	      NS " " C2S ">", SNIFF_OK, NULL);
	check("version 1.1", "<?xml version='1.1'?><stream:stream " NS " " C2S ">", SNIFF_OK,
	      NULL);
	check("jabber:server, with dialback", "<?xml version='1.0'?><stream:stream "
	      "xmlns:db='jabber:server:dialback' xmlns='jabber:server' " NS
	      " from='example.org' to='example.net' version='1.0'>", SNIFF_OK, "example.net");
	check("another prefix", "<s:stream xmlns:s='http://etherx.jabber.org/streams' " C2S
	      " to='a.example'>", SNIFF_OK, "a.example");
	check("a long prefix", "<jabber-streams_1.x:stream "
	      "xmlns:jabber-streams_1.x='http://etherx.jabber.org/streams' " C2S ">", SNIFF_OK,
	      NULL);
	check("whitespace wherever XML allows it",
	      "<?xml \t version = '1.0' \r\n ?>\r\n\t <stream:stream\n\txmlns = 'jabber:client'\r\n"
	      " xmlns:stream\t=\t\"http://etherx.jabber.org/streams\" to = 'a.example' \n>",
	      SNIFF_OK, "a.example");
	check("whitespace before the tag, no declaration", "\n  <stream:stream " NS " " C2S ">",
	      SNIFF_OK, NULL);
	check("the namespaces after to", "<stream:stream to='a.example' version='1.0' " C2S " "
	      NS ">", SNIFF_OK, "a.example");
	check("'>' inside a value", "<stream:stream id='a>b' " NS " " C2S ">", SNIFF_OK, NULL);
	check("another xmlns:x that is not the stream's", "<stream:stream "
	      "xmlns:x='urn:other' " NS " " C2S ">", SNIFF_OK, NULL);
	check("then stanzas: not looked at", "<stream:stream " NS " " C2S ">"
	      "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", SNIFF_OK, NULL);
	CHECK_AT("the verdict comes with the '>'", "<stream:stream " NS " " C2S ">", 0,
		 SNIFF_OK, NULL);
	check("no '>' yet: need more", "<stream:stream " NS " " C2S, SNIFF_NEED_MORE, NULL);
}

static void test_to(void)
{
	check_to("no to: no name", "", SNIFF_OK, NULL);
	check_to("to='': no name", "to=''", SNIFF_OK, NULL);
	check_to("to in capitals, trailing dot", "to='Chat.Example.ORG.'", SNIFF_OK,
		 "chat.example.org");
	check_to("to with a decimal reference", "to='example&#46;org'", SNIFF_OK, "example.org");
	check_to("to with a hex reference", "to='ex&#x41;mple.org'", SNIFF_OK, "example.org");
	check_to("to with &amp;: no name", "to='a&amp;b.org'", SNIFF_OK, NULL);
	check_to("to with &apos; in double quotes: no name", "to=\"a&apos;b\"", SNIFF_OK, NULL);
	check_to("to with a reference to a non-ASCII character: no name",
		 "to='&#x1F600;.example'", SNIFF_OK, NULL);
	check_to("to with UTF-8: no name", "to='\xc3\xa9xample.org'", SNIFF_OK, NULL);
	check_to("to with a TAB (a space after normalization): no name", "to='exa\tmple.org'",
		 SNIFF_OK, NULL);
	check_to("to with a \" inside ' quotes: no name", "to='a\"b'", SNIFF_OK, NULL);
	check_to("to as a user@domain JID: no name", "to='juliet@example.org'", SNIFF_OK, NULL);
	check_to("to as an IPv6 literal: no name", "to='[::1]'", SNIFF_OK, NULL);
	check_to("to as an IPv4 address", "to='192.0.2.1'", SNIFF_OK, "192.0.2.1");
	check_to("to with an empty label: no name", "to='a..example'", SNIFF_OK, NULL);
	check_to("a prefixed to is not to", "stream:to='a.example'", SNIFF_OK, NULL);
	check_to("an unknown entity: no", "to='&foo;'", SNIFF_NO, NULL);
	check_to("a reference without ';': no", "to='a&amp'", SNIFF_NO, NULL);
	check_to("& alone: no", "to='a & b'", SNIFF_NO, NULL);
	check_to("&#0;: no", "to='a&#0;'", SNIFF_NO, NULL);
	check_to("&#xD800; (a surrogate): no", "to='a&#xD800;'", SNIFF_NO, NULL);
	check_to("&#x110000;: no", "to='a&#x110000;'", SNIFF_NO, NULL);
	check_to("&#; (no digits): no", "to='a&#;'", SNIFF_NO, NULL);
	check_to("&#x; (no digits): no", "to='a&#x;'", SNIFF_NO, NULL);
	check_to("a long run of digits: no", "to='&#000000000065;'", SNIFF_NO, NULL);
	check_to("< in a value: no", "to='a<b'", SNIFF_NO, NULL);
	check_to("to twice: no", "to='a.example' to='b.example'", SNIFF_NO, NULL);
	check_to("an unquoted value: no", "to=a.example", SNIFF_NO, NULL);
	check_to("no = : no", "to 'a.example'", SNIFF_NO, NULL);
	CHECK_AT("a NUL in to: no", "<stream:stream to='a\0b' " NS " " C2S ">", 21, SNIFF_NO,
		 NULL);
	check_to("a control byte in to: no", "to='a\x01'", SNIFF_NO, NULL);
}

static void test_not_streams(void)
{
	CHECK_AT("an HTTP request: no at byte 1", "GET / HTTP/1.1\r\n", 1, SNIFF_NO, NULL);
	CHECK_AT("a comment: no at byte 2", "<!-- hi --><stream:stream " NS " " C2S ">", 2,
		 SNIFF_NO, NULL);
	CHECK_AT("a processing instruction: no at byte 3", "<?php echo 1; ?>", 3, SNIFF_NO,
		 NULL);
	CHECK_AT("<?xml-stylesheet: no at byte 6", "<?xml-stylesheet href='a'?>", 6, SNIFF_NO,
		 NULL);
	CHECK_AT("a declaration after whitespace: no", " <?xml version='1.0'?><stream:stream "
		 NS " " C2S ">", 3, SNIFF_NO, NULL);
	check("version 2.0: no", "<?xml version='2.0'?><stream:stream " NS " " C2S ">", SNIFF_NO,
	      NULL);
	check("version 1.: no", "<?xml version='1.'?><stream:stream " NS " " C2S ">", SNIFF_NO,
	      NULL);
	check("encoding ISO-8859-1: no", "<?xml version='1.0' encoding='ISO-8859-1'?>"
	      "<stream:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("encoding before version: no", "<?xml encoding='UTF-8' version='1.0'?>"
	      "<stream:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("standalone twice: no", "<?xml version='1.0' standalone='yes' standalone='no'?>"
	      "<stream:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("standalone='maybe': no", "<?xml version='1.0' standalone='maybe'?>"
	      "<stream:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("a reference in the declaration: no", "<?xml version='1&#46;0'?>"
	      "<stream:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("no space before version: no", "<?xmlversion='1.0'?>", SNIFF_NO, NULL);
	check("no ?> : no", "<?xml version='1.0'><stream:stream " NS " " C2S ">", SNIFF_NO,
	      NULL);
	check("a second declaration: no", "<?xml version='1.0'?><?xml version='1.0'?>",
	      SNIFF_NO, NULL);
	CHECK_AT("<html>: no at its '>'", "<html>", 6, SNIFF_NO, NULL);
	check("an unprefixed stream element: no",
	      "<stream xmlns='http://etherx.jabber.org/streams'>", SNIFF_NO, NULL);
	check("<:stream: no", "<:stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("<stream:streams: no", "<stream:streams " NS " " C2S ">", SNIFF_NO, NULL);
	check("<stream:stream:x: no", "<stream:stream:x " NS " " C2S ">", SNIFF_NO, NULL);
	check("<a:b:stream: no", "<a:b:stream xmlns:a='http://etherx.jabber.org/streams' " C2S
	      ">", SNIFF_NO, NULL);
	check("<stream:Stream: no", "<stream:Stream " NS " " C2S ">", SNIFF_NO, NULL);
	check("an empty stream element: no", "<stream:stream " NS " " C2S "/>", SNIFF_NO, NULL);
	check("an empty stream element, with a space: no", "<stream:stream " NS " " C2S " />",
	      SNIFF_NO, NULL);
	check("no default namespace: no", "<stream:stream " NS ">", SNIFF_NO, NULL);
	check("jabber:component:accept: no", "<stream:stream " NS
	      " xmlns='jabber:component:accept'>", SNIFF_NO, NULL);
	check("default namespace twice: no", "<stream:stream " NS " " C2S " " C2S ">", SNIFF_NO,
	      NULL);
	check("the stream prefix unbound: no", "<stream:stream " C2S ">", SNIFF_NO, NULL);
	check("the stream prefix bound elsewhere: no", "<stream:stream "
	      "xmlns:stream='jabber:client' xmlns='http://etherx.jabber.org/streams'>",
	      SNIFF_NO, NULL);
	check("another prefix bound to the streams namespace: no", "<stream:stream "
	      "xmlns:s='http://etherx.jabber.org/streams' " C2S ">", SNIFF_NO, NULL);
	check("the streams namespace with a trailing slash: no", "<stream:stream "
	      "xmlns:stream='http://etherx.jabber.org/streams/' " C2S ">", SNIFF_NO, NULL);
	check("xmlns:stream twice: no", "<stream:stream " NS " " NS " " C2S ">", SNIFF_NO, NULL);
	check("no space between attributes: no", "<stream:stream " NS C2S ">", SNIFF_NO, NULL);
	check("an attribute name starting with a digit: no", "<stream:stream 1a='x' " NS " " C2S
	      ">", SNIFF_NO, NULL);
	check("SSH: no", "SSH-2.0-OpenSSH_9.2p1\r\n", SNIFF_NO, NULL);
	check("<: need more", "<", SNIFF_NEED_MORE, NULL);
	check("whitespace only: need more", " \r\n\t ", SNIFF_NEED_MORE, NULL);
}

/* XMPP_SNIFF_MAX: 4 KiB, no byte past it looked at. */
static void test_cap(void)
{
	static char hdr[2 * CAP];
	size_t n;

	/* the '>' as byte 4096: ok; one byte later: no, at 4096 bytes */
	n = (size_t)snprintf(hdr, sizeof(hdr), "<stream:stream " NS " " C2S " to='a.example' "
			     "pad='");
	memset(hdr + n, 'p', CAP - 2 - n);
	memcpy(hdr + CAP - 2, "'>", 2);
	check_at("a header of exactly 4096 bytes: ok", hdr, CAP, CAP, SNIFF_OK, "a.example");
	memcpy(hdr + CAP - 2, "p'>", 3);
	check_at("a header of 4097 bytes: no at byte 4096", hdr, CAP + 1, CAP, SNIFF_NO, NULL);
	memset(hdr, ' ', CAP + 10);
	check_at("4096 bytes of whitespace: no", hdr, CAP + 10, CAP, SNIFF_NO, NULL);
}

int main(void)
{
	tap_plan_start();
	test_headers();
	test_to();
	test_not_streams();
	test_cap();
	return tap_done();
}
