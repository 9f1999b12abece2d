#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - sockmux on a built-in example, in a private network namespace (nothing on this
# machine's real network is touched): an XMPP server and a web server on one domain, each
# with its own certificate, behind sockmux on port 443; a few clients show where each
# connection lands; then a clean stop. Run by `make demo` (as root).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
SOCKMUX=$top/sockmux
ENGINE=${SMX_ENGINE:-auto}

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: run as root (make demo): it makes a private network namespace" >&2
	exit 1
fi
if [ -z "${SMX_IN_NETNS:-}" ]; then
	SMX_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up
dir=$(mktemp -d /tmp/sockmux-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Two TLS backends, each with its own certificate"
for b in web xmpp; do
	mkdir -p "$dir/$b"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$b backend" -keyout "$dir/$b.key" -out "$dir/$b.crt" >/dev/null 2>&1
	echo "hello from the $b backend" >"$dir/$b/index.txt"
done
(cd "$dir/xmpp" && exec openssl s_server -quiet -accept 127.0.0.1:5223 -cert "$dir/xmpp.crt" \
	-key "$dir/xmpp.key" -alpn xmpp-client -WWW) >/dev/null 2>&1 &
pids+=($!)
(cd "$dir/web" && exec openssl s_server -quiet -accept "[::1]:8443" -cert "$dir/web.crt" \
	-key "$dir/web.key" -alpn http/1.1 -WWW) >/dev/null 2>&1 &
pids+=($!)
echo "  prosody stand-in: openssl s_server on 127.0.0.1:5223, certificate 'xmpp backend'"
echo "  web server:       openssl s_server on [::1]:8443,     certificate 'web backend'"

say "The configuration (examples/sockmux.conf)"
sed -n '/^listen/,$p' "$top/examples/sockmux.conf" | grep -v '^$'
"$SOCKMUX" check -c "$top/examples/sockmux.conf" || exit 1

say "Where would connections go? (sockmux route: no traffic, just the rules)"
for args in "--sni example.org --alpn xmpp-client" "--sni example.org --alpn h2,http/1.1" \
	"--sni chat.example.org" "--not-tls"; do
	echo "\$ sockmux route -c examples/sockmux.conf $args"
	# shellcheck disable=SC2086
	"$SOCKMUX" route -c "$top/examples/sockmux.conf" $args | sed 's/^/    /'
done

say "Starting sockmux on port 443 (engine: $ENGINE)"
"$SOCKMUX" run -c "$top/examples/sockmux.conf" --engine "$ENGINE" >"$dir/sockmux.log" 2>&1 &
smx=$!
pids+=($smx)
for _ in $(seq 50); do grep -q "listening on \[::\]:443" "$dir/sockmux.log" && break; sleep 0.1; done
sed 's/^/    /' "$dir/sockmux.log"
sleep 0.3

say "Clients"
echo "\$ openssl s_client -connect 127.0.0.1:443 -servername example.org -alpn xmpp-client"
echo | openssl s_client -connect 127.0.0.1:443 -servername example.org -alpn xmpp-client \
	2>/dev/null | grep -E '^subject=|ALPN protocol' | sed 's/^/    /'
echo "\$ curl -k --resolve example.org:443:127.0.0.1 https://example.org/index.txt"
curl -sk --max-time 5 --resolve example.org:443:127.0.0.1 https://example.org/index.txt |
	sed 's/^/    /'
echo "\$ curl -k --resolve www.example.org:443:[::1] https://www.example.org/index.txt   (IPv6)"
curl -sk --max-time 5 --resolve "www.example.org:443:[::1]" https://www.example.org/index.txt |
	sed 's/^/    /'
sleep 0.3

say "Stopping sockmux (SIGTERM)"
kill -TERM "$smx"
wait "$smx"
echo "  exit status $?"

say "sockmux's log: one line per connection (client, SNI, ALPN, route, backend, bytes, end)"
sed 's/^/    /' "$dir/sockmux.log" | grep -E 'conn=|stopp'
