#!/bin/bash
# SPDX-License-Identifier: MIT
# routing.sh - real TLS servers (openssl s_server, each with its own certificate) behind
# sockmux, reached by real clients (openssl s_client, curl, headless Chromium with its
# post-quantum ClientHello): each lands on the backend its SNI and ALPN route names, over
# IPv4 and IPv6, with TLS passed through untouched (the client sees the backend's own
# certificate and the ALPN protocol the backend chose).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

cd "$T_DIR" || exit 1
for b in web xmpp default; do
	mkdir -p "$b"
	make_cert "$T_DIR/$b" "backend-$b"
	echo "backend=$b" >"$b/id.txt"
done

# prosody's stand-in: openssl s_server with its own certificate, negotiating xmpp-client
(cd "$T_DIR/xmpp" && exec openssl s_server -quiet -accept "[::1]:9102" -naccept 1000 \
	-cert "$T_DIR/xmpp.crt" -key "$T_DIR/xmpp.key" -alpn xmpp-client -WWW) \
	>"$T_DIR/s_server-xmpp.log" 2>&1 &
T_PIDS+=("$!")

# the web server and the default one: nginx, HTTP/2 and HTTP/1.1, a certificate each
cat >"$T_DIR/nginx.conf" <<NGINX
user root;
worker_processes 1;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log;
daemon off;
events { worker_connections 256; }
http {
  access_log $T_DIR/nginx-access.log;
  client_body_temp_path $T_DIR/nginx-tmp;
  server {
    listen 127.0.0.1:9101 ssl http2;
    ssl_certificate $T_DIR/web.crt;
    ssl_certificate_key $T_DIR/web.key;
    root $T_DIR/web;
  }
  server {
    listen 127.0.0.1:9103 ssl http2;
    ssl_certificate $T_DIR/default.crt;
    ssl_certificate_key $T_DIR/default.key;
    root $T_DIR/default;
  }
}
NGINX
bg "$T_DIR/nginx.log" nginx -c "$T_DIR/nginx.conf" -p "$T_DIR"
sleep 0.5

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; }, { address = "[::1]:8443"; } );
backends = {
  prosody = { address = "[::1]:9102"; };
  web     = { address = "127.0.0.1:9101"; };
  other   = { address = "127.0.0.1:9103"; };
};
routes = (
  { sni = [ "example.org" ]; alpn = [ "xmpp-client" ]; backend = "prosody"; },
  { sni = [ "example.org", "*.example.org" ]; backend = "web"; },
  { backend = "other"; }
);
CONF

# s_client_cn ADDR SNI ALPN: the subject CN of the certificate the client was shown.
s_client_cn() {
	local args=(-connect "$1")
	[ -n "$2" ] && args+=(-servername "$2") || args+=(-noservername)
	[ -n "$3" ] && args+=(-alpn "$3")
	echo | timeout 10 openssl s_client "${args[@]}" 2>/dev/null \
		>"$T_DIR/s_client.out"
	sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p' "$T_DIR/s_client.out" | head -n 1
}

chromium_fetch() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$T_DIR/chromium-profile" --ignore-certificate-errors \
		--host-resolver-rules="MAP * 127.0.0.1:8443" --dump-dom "$1" 2>"$T_DIR/chromium.log"
}

for engine in sockmap splice; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || { not_ok "$engine: starts"; continue; }

	cn=$(s_client_cn 127.0.0.1:8443 example.org xmpp-client)
	check "$engine: s_client example.org + xmpp-client reaches prosody ($cn)" \
		test "$cn" = backend-xmpp
	check "$engine: ... and negotiates xmpp-client with it end to end" \
		grep -q "ALPN protocol: xmpp-client" "$T_DIR/s_client.out"

	cn=$(s_client_cn 127.0.0.1:8443 example.org h2)
	check "$engine: s_client example.org + h2 reaches web ($cn)" test "$cn" = backend-web

	cn=$(s_client_cn "[::1]:8443" EXAMPLE.org xmpp-client)
	check "$engine: IPv6 s_client, SNI in upper case, reaches prosody ($cn)" \
		test "$cn" = backend-xmpp

	cn=$(s_client_cn 127.0.0.1:8443 chat.example.org xmpp-client,h2)
	check "$engine: wildcard *.example.org reaches web even with xmpp-client ($cn)" \
		test "$cn" = backend-web

	cn=$(s_client_cn 127.0.0.1:8443 example.net "")
	check "$engine: other name falls to the default route ($cn)" test "$cn" = backend-default

	cn=$(s_client_cn 127.0.0.1:8443 "" "")
	check "$engine: no SNI falls to the default route ($cn)" test "$cn" = backend-default

	body=$(curl -sk --max-time 10 --resolve example.org:8443:127.0.0.1 \
		-w ' http=%{http_version}' https://example.org:8443/id.txt | tr -d '\n')
	check "$engine: curl (ALPN h2,http/1.1) reaches web over HTTP/2 ($body)" \
		test "$body" = "backend=web http=2"

	body=$(curl -sk --max-time 10 --resolve "www.example.org:8443:[::1]" \
		https://www.example.org:8443/id.txt)
	check "$engine: curl over IPv6 reaches web ($body)" test "$body" = backend=web

	if command -v chromium >/dev/null; then
		dom=$(chromium_fetch https://www.example.org/id.txt)
		check "$engine: headless Chromium (post-quantum hello) reaches web" \
			grep -q "backend=web" <<<"$dom"
		line=$(conn_lines | grep "sni=www.example.org" | grep "alpn=.*h2" | tail -n 1)
		diag "$line"
		check "$engine: Chromium's connection is logged with its SNI and ALPN, route 2" \
			test "$(field "$line" route)" = 2
	else
		not_ok "$engine: chromium is installed (scripts/install-deps.sh --test)"
	fi
	stop_sockmux "$engine"
done
