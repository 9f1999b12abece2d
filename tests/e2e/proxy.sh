#!/bin/bash
# SPDX-License-Identifier: MIT
# proxy.sh - the PROXY protocol end to end, with real senders and receivers, none written here.
#
# Sending: HAProxy (bind ... accept-proxy) and nginx (listen ... proxy_protocol,
# $proxy_protocol_addr) behind sockmux report the test client's own address (127.0.0.2,
# 2001:db8::7: not sockmux's) for v1 and v2 headers, over IPv4 and IPv6; HAProxy also checks
# the v2 CRC32C and reports the AUTHORITY (the SNI) and UNIQUE_ID (sockmux's conn= id) TLVs.
# nginx's stream module with "listen ... ssl proxy_protocol" and ALPN xmpp-client stands in
# for Prosody's mod_net_proxy (not packaged by Debian): the header comes before its TLS
# handshake, which openssl s_client completes with ALPN xmpp-client through sockmux, and it
# reports the client's address over the TLS session.
# Receiving: HAProxy with send-proxy-v2 and send-proxy in front of a sockmux accept_proxy
# listener: the client's address from the header picks the route by `source`, is passed on
# in the header sockmux sends (an IPv4-mapped one from a dual-stack HAProxy as TCP4), and
# is the client= of sockmux's log line, with via= naming HAProxy. Untrusted peers, missing,
# malformed and unfinished headers are closed with their reason; a header trickled byte by
# byte, or sharing a segment with the ClientHello, works.
# Each with both engines. Traffic stays on the namespace's loopback.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

for tool in haproxy nginx curl openssl; do
	if ! command -v "$tool" >/dev/null; then
		not_ok "$tool is installed (scripts/install-deps.sh --test)"
		exit 1
	fi
done
STREAM_MOD=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_MOD" ] || { not_ok "nginx stream module (libnginx-mod-stream) is installed"; exit 1; }

# the test client's addresses: neither is one sockmux connects from
ip addr add 2001:db8::7/128 dev lo nodad
C4=127.0.0.2
C6=2001:db8::7

cd "$T_DIR" || exit 1
make_cert "$T_DIR/web" web.test
make_cert "$T_DIR/xmpp" example.org
cat "$T_DIR/web.crt" "$T_DIR/web.key" >"$T_DIR/web.pem"

# --- receivers behind sockmux, and HAProxy as the load balancer in front of it -----------
cat >"$T_DIR/haproxy.cfg" <<HAP
global
  log stderr format raw local0
defaults
  log global
  timeout connect 3s
  timeout client 10s
  timeout server 10s
frontend hap_v1
  mode http
  bind 127.0.0.1:9201 accept-proxy ssl crt $T_DIR/web.pem
  http-request return status 200 content-type text/plain lf-string "haproxy %[src]"
frontend hap_v2
  mode http
  bind 127.0.0.1:9202 accept-proxy ssl crt $T_DIR/web.pem
  http-request return status 200 content-type text/plain \
    lf-string "haproxy %[src] %[fc_pp_authority] %[fc_pp_unique_id]"
frontend lb_v2
  mode tcp
  bind 127.0.0.1:7443
  bind [::1]:7443
  default_backend smx_v2
frontend lb_v1
  mode tcp
  bind 127.0.0.1:7444
  default_backend smx_v1
frontend lb_dual
  mode tcp
  bind [::]:7445 v4v6
  default_backend smx_v2
backend smx_v2
  mode tcp
  server smx 127.0.0.1:8444 send-proxy-v2
backend smx_v1
  mode tcp
  server smx 127.0.0.1:8444 send-proxy
HAP
bg "$T_DIR/haproxy.log" haproxy -db -f "$T_DIR/haproxy.cfg"

cat >"$T_DIR/nginx.conf" <<NGINX
load_module $STREAM_MOD;
user root;
worker_processes 1;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log info;
daemon off;
events { worker_connections 256; }
http {
  access_log $T_DIR/nginx-access.log;
  client_body_temp_path $T_DIR/nginx-tmp;
  server {
    listen 127.0.0.1:9301 ssl proxy_protocol;
    listen 127.0.0.1:9302 ssl proxy_protocol;
    ssl_certificate $T_DIR/web.crt;
    ssl_certificate_key $T_DIR/web.key;
    location / { default_type text/plain; return 200 "nginx \$proxy_protocol_addr"; }
  }
}
stream {
  # Prosody's direct-TLS port with mod_net_proxy: the header, then TLS with xmpp-client
  server {
    listen [::1]:9401 ssl proxy_protocol;
    ssl_certificate $T_DIR/xmpp.crt;
    ssl_certificate_key $T_DIR/xmpp.key;
    ssl_alpn xmpp-client;
    return "xmpp \$proxy_protocol_addr\n";
  }
}
NGINX
bg "$T_DIR/nginx.log" nginx -c "$T_DIR/nginx.conf" -p "$T_DIR"

cat >"$T_DIR/smx.conf" <<CONF
listen = (
  { address = "127.0.0.1:8443"; },
  { address = "[::1]:8443"; },
  # behind HAProxy: only it may connect, and only with a header
  { address = "127.0.0.1:8444"; accept_proxy = true; trusted = [ "127.0.0.1" ]; },
  # a load balancer at an address the test never uses
  { address = "127.0.0.1:8445"; accept_proxy = true; trusted = [ "192.0.2.0/24" ]; }
);
timeouts = { handshake_ms = 1500; connect_ms = 2000; };
backends = {
  hap_v1 = { address = "127.0.0.1:9201"; proxy_protocol = "v1"; };
  hap_v2 = { address = "127.0.0.1:9202"; proxy_protocol = "v2"; proxy_protocol_crc = true; };
  ngx_v1 = { address = "127.0.0.1:9301"; proxy_protocol = "v1"; };
  ngx_v2 = { address = "127.0.0.1:9302"; proxy_protocol = "v2"; };
  xmpp   = { address = "[::1]:9401"; proxy_protocol = "v2"; };
};
routes = (
  { sni = [ "example.org" ]; alpn = [ "xmpp-client" ]; backend = "xmpp"; },
  { sni = [ "hap-v1.test" ]; backend = "hap_v1"; },
  { sni = [ "hap-v2.test" ]; backend = "hap_v2"; },
  { sni = [ "ngx-v1.test" ]; backend = "ngx_v1"; },
  { sni = [ "ngx-v2.test" ]; backend = "ngx_v2"; },
  # the test client's addresses, as a header names them, go to nginx; anyone else to HAProxy
  { sni = [ "src.test" ]; source = [ "$C4", "$C6" ]; backend = "ngx_v1"; },
  { sni = [ "src.test" ]; backend = "hap_v1"; }
);
CONF

# wait_listen PORT...: until something listens on each TCP port (5 s at most).
wait_listen() {
	local port i
	for port in "$@"; do
		for ((i = 0; i < 100; i++)); do
			[ -n "$(ss -Hltn "sport = :$port")" ] && break
			sleep 0.05
		done
	done
}
wait_listen 9201 9202 7443 7444 7445 9301 9302 9401

# fetch SNI ADDR PORT [curl args]: the body sockmux's route for SNI answers with.
fetch() {
	local sni=$1 addr=$2 port=$3 host=$2
	shift 3
	[[ "$addr" == *:* ]] && host="[$addr]"
	curl -sk --max-time 10 --resolve "$sni:$port:$host" "$@" "https://$sni:$port/" 2>&1
}

# log_line PATTERN: sockmux's log line matching PATTERN (waits for it, as it is written at the
# end of the connection).
log_line() {
	wait_for "$SMX_LOG" " conn=[0-9]+ .*$1" 5
	conn_lines | grep -E -- "$1" | tail -n 1
}

# raw_send PORT FILE...: sends the files' bytes in one write from 127.0.0.1, then waits.
raw_send() {
	local port=$1
	shift
	cat "$@" >"$T_DIR/raw.bin"
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat "$2" >&3; sleep 0.5' _ \
		"$port" "$T_DIR/raw.bin" 2>/dev/null
}

HELLO=$FIXTURES/hello/openssl-xmpp.bin	# SNI example.org, ALPN xmpp-client

for engine in sockmap sockmap-now splice; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || { not_ok "$engine: starts"; continue; }

	# --- sending: real receivers report the real client ------------------------------
	for b in hap-v1 hap-v2 ngx-v1 ngx-v2; do
		tag=${b%%-*}
		[ "$tag" = hap ] && tag=haproxy || tag=nginx
		v=${b##*-}
		out=$(fetch "$b.test" 127.0.0.1 8443 --interface "$C4")
		check "$engine: $tag reads sockmux's $v header: client $C4 over IPv4 ($out)" \
			grep -q "^$tag $C4\( \|$\)" <<<"$out"
		out=$(fetch "$b.test" ::1 8443 --interface "$C6")
		check "$engine: $tag reads sockmux's $v header: client $C6 over IPv6 ($out)" \
			grep -q "^$tag $C6\( \|$\)" <<<"$out"
	done

	# HAProxy verified the CRC32C (it drops a bad one) and reads the TLVs back
	out=$(fetch hap-v2.test 127.0.0.1 8443 --interface "$C4")
	line=$(log_line "client=$C4:[0-9]+ .*sni=hap-v2.test .*end=")
	id=$(field "$line" conn)
	check "$engine: HAProxy reads AUTHORITY = the SNI and UNIQUE_ID = conn=$id ($out)" \
		test "$out" = "haproxy $C4 hap-v2.test $id"

	# the direct-TLS XMPP stand-in: header first, then a TLS handshake with xmpp-client
	for c in "$C4 127.0.0.1 $C4" "$C6 [::1] [$C6]"; do
		read -r client to bind <<<"$c"
		echo | timeout 10 openssl s_client -connect "$to:8443" -bind "$bind" \
			-servername example.org -alpn xmpp-client -ign_eof \
			>"$T_DIR/s_client.out" 2>&1
		check "$engine: xmpp-client from $client completes TLS with the proxy_protocol backend" \
			grep -q "ALPN protocol: xmpp-client" "$T_DIR/s_client.out"
		check "$engine: ... which reports $client over the TLS session" \
			grep -q "^xmpp $client\$" "$T_DIR/s_client.out"
	done
	line=$(log_line "client=\[$C6\]:[0-9]+ .*sni=example.org .*end=")
	check "$engine: sockmux logs the xmpp connection on route 1 to backend xmpp" \
		test "$(field "$line" route)/$(field "$line" backend)" = 1/xmpp

	# --- receiving: HAProxy in front, sockmux behind it routes by the header -----------
	out=$(fetch src.test 127.0.0.1 7443 --interface "$C4")
	check "$engine: HAProxy send-proxy-v2 -> sockmux: source route, nginx sees $C4 ($out)" \
		test "$out" = "nginx $C4"
	line=$(log_line "client=$C4:[0-9]+ via=127\.0\.0\.1:[0-9]+ .*sni=src.test")
	diag "$line"
	check "$engine: ... logged as client=$C4 via=HAProxy, route 6, listener 127.0.0.1:8444" \
		test "$(field "$line" route)/$(field "$line" listener)" = 6/127.0.0.1:8444

	out=$(fetch src.test ::1 7443 --interface "$C6")
	check "$engine: HAProxy send-proxy-v2 from IPv6 $C6: source route, nginx sees it ($out)" \
		test "$out" = "nginx $C6"
	line=$(log_line "client=\[$C6\]:[0-9]+ via=127\.0\.0\.1:[0-9]+ .*sni=src.test")
	check "$engine: ... logged as client=[$C6] via=HAProxy" test -n "$line"

	out=$(fetch src.test 127.0.0.1 7444 --interface "$C4")
	check "$engine: HAProxy send-proxy (v1) -> sockmux: source route, nginx sees $C4 ($out)" \
		test "$out" = "nginx $C4"

	# a dual-stack HAProxy names an IPv4 client ::ffff:127.0.0.2; sockmux passes it on as TCP4
	out=$(fetch src.test 127.0.0.1 7445 --interface "$C4")
	check "$engine: IPv4-mapped client from a dual-stack HAProxy reaches nginx as $C4 ($out)" \
		test "$out" = "nginx $C4"
	line=$(log_line "client=\[::ffff:$C4\]:[0-9]+ via=")
	check "$engine: ... logged as client=[::ffff:$C4], routed by source" \
		test "$(field "$line" route)" = 6

	# without the header's address the route is the other one: HAProxy, seeing 127.0.0.1
	out=$(fetch src.test 127.0.0.1 8443 --interface "$C4")
	check "$engine: direct to the plain listener, $C4 is routed by its own address ($out)" \
		test "$out" = "nginx $C4"
	out=$(fetch src.test 127.0.0.1 8443)
	check "$engine: direct from 127.0.0.1: the other route, HAProxy sees 127.0.0.1 ($out)" \
		test "$out" = "haproxy 127.0.0.1"

	# --- receiving: what an accept_proxy listener closes ------------------------------
	fetch src.test 127.0.0.1 8444 --interface "$C4" >/dev/null
	line=$(log_line "client=$C4:[0-9]+ listener=127.0.0.1:8444 .*end=")
	check "$engine: untrusted peer $C4 closed: end=untrusted_proxy" \
		test "$(field "$line" end)" = untrusted_proxy
	fetch src.test 127.0.0.1 8445 >/dev/null
	line=$(log_line "listener=127.0.0.1:8445 .*end=")
	check "$engine: peer outside trusted 192.0.2.0/24 closed: end=untrusted_proxy" \
		test "$(field "$line" end)" = untrusted_proxy

	fetch src.test 127.0.0.1 8444 >/dev/null
	line=$(log_line "client=127.0.0.1:[0-9]+ listener=127.0.0.1:8444 .*not a PROXY")
	check "$engine: trusted peer without a header (a bare ClientHello): end=bad_proxy_header" \
		test "$(field "$line" end)" = bad_proxy_header

	printf 'PROXY TCP4 203.0.113.9 127.0.0.1 65536 8444\r\n' >"$T_DIR/bad.hdr"
	raw_send 8444 "$T_DIR/bad.hdr" "$HELLO"
	line=$(log_line "listener=127.0.0.1:8444 .*port is not a number")
	check "$engine: header with port 65536: end=bad_proxy_header, reason logged" \
		test "$(field "$line" end)" = bad_proxy_header

	printf 'PROXY TCP4 203.0.113.9 127.0.0.1 4444 8444\n' >"$T_DIR/lf.hdr"
	raw_send 8444 "$T_DIR/lf.hdr" "$HELLO"
	line=$(log_line "listener=127.0.0.1:8444 .*bare LF")
	check "$engine: header ending in a bare LF: end=bad_proxy_header" \
		test "$(field "$line" end)" = bad_proxy_header

	# header and ClientHello in one write: the hello behind the header reaches the backend
	printf 'PROXY TCP4 203.0.113.9 127.0.0.1 4444 8444\r\n' >"$T_DIR/good.hdr"
	raw_send 8444 "$T_DIR/good.hdr" "$HELLO"
	line=$(log_line "client=203\.0\.113\.9:4444 via=127\.0\.0\.1:[0-9]+ listener=[^ ]+:8444 ")
	diag "$line"
	check "$engine: header + hello in one segment: client from the header, hello routed" \
		test "$(field "$line" sni)/$(field "$line" route)" = example.org/1
	check "$engine: ... and the backend got the hello without the header received" \
		test "$(field "$line" bytes_up)" = "$(stat -c %s "$HELLO")"
	if [ "$engine" = sockmap-now ]; then
		# user space read the header off; the kernel handed the program the whole segment
		check "sockmap-now: ... the program cut the header it was handed again (repeated_skbs=1)" \
			test "$(field "$line" repeated_skbs)" = 1
	elif [ "$engine" = sockmap ]; then
		check "sockmap: ... a hello and nothing more: splice carried it (engine=splice)" \
			test "$(field "$line" engine)" = splice
	fi

	# two headers back to back: the second is the client's payload, not TLS
	raw_send 8444 "$T_DIR/good.hdr" "$T_DIR/good.hdr"
	line=$(log_line "client=203\.0\.113\.9:4444 via=[^ ]+ .*end=(not_tls|no_route)")
	check "$engine: a second header is payload: the connection is not TLS" test -n "$line"

	# v2 LOCAL (a health check): the real addresses stay
	printf '\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00' >"$T_DIR/local.hdr"
	raw_send 8444 "$T_DIR/local.hdr" "$HELLO"
	line=$(log_line "client=127\.0\.0\.1:[0-9]+ listener=127.0.0.1:8444 sni=example.org")
	check "$engine: v2 LOCAL: the connection keeps its real address, no via=" test -n "$line"

	# byte by byte: the header in 43 writes, then the hello
	timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8444; h=$(cat "$1")
		for ((i = 0; i < ${#h}; i++)); do printf "%s" "${h:i:1}" >&3; sleep 0.01; done
		printf "\r\n" >&3; sleep 0.05; cat "$2" >&3; sleep 0.5' _ \
		<(printf 'PROXY TCP6 2001:db8::99 ::1 5555 8444') "$HELLO" 2>/dev/null
	line=$(log_line "client=\[2001:db8::99\]:5555 via=")
	check "$engine: header trickled byte by byte, then the hello: routed with its address" \
		test "$(field "$line" route)" = 1

	# an unfinished header is bounded by handshake_ms
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8444; printf "PROXY TCP4 1.2" >&3; sleep 3' \
		2>/dev/null
	line=$(log_line "listener=127.0.0.1:8444 .*end=handshake_timeout")
	check "$engine: unfinished header: end=handshake_timeout" test -n "$line"

	stop_sockmux "$engine"
done

# A route that needs no byte behind the PROXY header (listener only: a server that speaks
# first) is taken as soon as the header is read, not after probe_ms (2 s) of silence.
cat >"$T_DIR/first.conf" <<CONF
listen = ( { address = "127.0.0.1:8460"; name = "pp"; accept_proxy = true;
             trusted = [ "127.0.0.0/8" ]; } );
control = "";
backends = { banner = { address = "127.0.0.1:9460"; }; };
routes = ( { listener = [ "pp" ]; backend = "banner"; } );
CONF
bg "$T_DIR/banner.log" python3 "$SMX_TOP/tests/tools/smx-balance.py" serve banner=127.0.0.1:9460
wait_for "$T_DIR/banner.log" 'listening banner' 5
start_sockmux "$T_DIR/first.conf" splice smx-first || not_ok "first: sockmux starts"
out=$(python3 -c '
import socket, time
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", 8460))
s.sendall(b"PROXY TCP4 198.18.0.7 127.0.0.1 5555 8460\r\n")
s.settimeout(5)
tag = s.makefile("rb").readline().decode().strip()
print(tag, int((time.monotonic() - t0) * 1000))' 2>&1)
diag "a silent client behind its PROXY header: $out (tag, ms)"
check "behind a PROXY header, a route needing no byte is taken at once (under 1 s: $out)" \
	test "${out% *}" = banner -a "${out#* }" -lt 1000
sleep 0.2
check "... with the header's client address" \
	sh -c "grep -q 'client=198.18.0.7:5555 via=' '$SMX_LOG'"
stop_sockmux first
