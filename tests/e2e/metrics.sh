#!/bin/bash
# SPDX-License-Identifier: MIT
# metrics.sh - the Prometheus endpoint, with either engine: after transfers of known size
# through two routes, /metrics shows those bytes per route and direction, the same figures as
# `sockmux stats --json`, failures by reason and both histograms; `promtool check metrics`
# (Prometheus's own parser and linter) accepts the output; other paths get 404.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

if ! command -v promtool >/dev/null; then
	echo "1..0 # SKIP promtool not installed (Debian package prometheus)"
	exit 0
fi

CTL=$T_DIR/control.sock
URL=http://127.0.0.1:9106/metrics
cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = {
  a    = { address = "127.0.0.1:9001"; };
  b    = { address = "[::1]:9002"; };
  dead = { address = "127.0.0.1:9009"; };
};
routes = (
  { sni = [ "a.example.org" ]; backend = "a"; },
  { sni = [ "b.example.org" ]; backend = "b"; },
  { sni = [ "dead.example.org" ]; backend = "dead"; }
);
control = "$CTL";
metrics = "127.0.0.1:9106";
CONF

start_peer_server 127.0.0.1:9001 a || not_ok "peer a starts"
start_peer_server "[::1]:9002" b || not_ok "peer b starts"

# metric FILE SELECTOR: the value of the sample whose name and labels are exactly SELECTOR
metric() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }

for engine in sockmap splice; do
	if ! start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi
	check "$engine: the log gives the metrics URL" grep -q "metrics: .*$URL" "$SMX_LOG"
	"$PEER" client --connect 127.0.0.1:8443 --sni a.example.org --up 2000000 --down 500000 \
		--seed 1 --expect-tag a >/dev/null 2>&1
	check "$engine: transfer through route 1 intact" test $? = 0
	"$PEER" client --connect 127.0.0.1:8443 --sni b.example.org --up 300000 --down 4000000 \
		--seed 2 --expect-tag b >/dev/null 2>&1
	check "$engine: transfer through route 2 intact" test $? = 0
	"$PEER" client --connect 127.0.0.1:8443 --sni dead.example.org --hold-ms 2000 \
		>/dev/null 2>&1
	sleep 0.3

	M=$T_DIR/metrics-$engine.txt
	code=$(curl -s -o "$M" -w '%{http_code} %{content_type}' "$URL")
	check "$engine: GET /metrics: 200, text format 0.0.4 ($code)" \
		grep -q '^200 text/plain; version=0.0.4' <<<"$code"
	promtool check metrics <"$M" >"$T_DIR/promtool.out" 2>&1
	rc=$?
	diag "promtool: $(tr '\n' ' ' <"$T_DIR/promtool.out")"
	check "$engine: promtool check metrics accepts the output" test "$rc" = 0
	"$SOCKMUX" stats --json --control "$CTL" >"$T_DIR/s.json"

	for r in 1 2; do
		for dir in in out; do
			v=$(metric "$M" "sockmux_bytes_total{route=\"$r\",backend=\"$([ $r = 1 ] && echo a || echo b)\",direction=\"$dir\"}")
			j=$(perl -MJSON::PP -e 'my $d = decode_json(do { local $/; <STDIN> });
				print $d->{routes}[$ARGV[0] - 1]{"bytes_$ARGV[1]"}' "$r" "$dir" <"$T_DIR/s.json")
			eval "b_${r}_$dir=\$v"
			check "$engine: route $r bytes $dir: /metrics ($v) = stats --json ($j)" \
				test -n "$v" -a "$v" = "$j"
		done
	done
	check "$engine: route 1: 2 MB in, 500 kB out, in the right direction" \
		test "$b_1_in" -ge 2000000 -a "$b_1_in" -lt 2001000 \
		-a "$b_1_out" -ge 500000 -a "$b_1_out" -lt 500100
	check "$engine: route 2: 300 kB in, 4 MB out, in the right direction" \
		test "$b_2_in" -ge 300000 -a "$b_2_in" -lt 301000 \
		-a "$b_2_out" -ge 4000000 -a "$b_2_out" -lt 4000100
	check "$engine: connections per route" \
		test "$(metric "$M" 'sockmux_connections_total{route="1",backend="a"}')" = 1 \
		-a "$(metric "$M" 'sockmux_connections_total{route="3",backend="dead"}')" = 1
	check "$engine: failures by reason" \
		test "$(metric "$M" 'sockmux_connection_failures_total{listener="127.0.0.1:8443",reason="connect_refused"}')" = 1 \
		-a "$(metric "$M" 'sockmux_connection_failures_total{listener="127.0.0.1:8443",reason="no_route"}')" = 0
	check "$engine: connections per protocol: the 3 routed TLS ones, labelled tls" \
		test "$(metric "$M" 'sockmux_protocol_connections_total{protocol="tls"}')" = 3 \
		-a "$(metric "$M" 'sockmux_protocol_bytes_total{protocol="tls",direction="in"}')" \
		= $((b_1_in + b_2_in))
	check "$engine: listener bytes = the sum of the routes" \
		test "$(metric "$M" 'sockmux_listener_bytes_total{listener="127.0.0.1:8443",direction="in"}')" \
		= $((b_1_in + b_2_in))
	check "$engine: handshake histogram counts the 3 routed connections" \
		test "$(metric "$M" 'sockmux_handshake_duration_seconds_count')" = 3 \
		-a "$(metric "$M" 'sockmux_handshake_duration_seconds_bucket{le="+Inf"}')" = 3
	check "$engine: connect histogram counts the 2 connected backends" \
		test "$(metric "$M" 'sockmux_backend_connect_duration_seconds_count')" = 2
	check "$engine: sockmux_info names the engine" \
		grep -q "^sockmux_info{version=\".*\",engine=\"$engine\"} 1$" "$M"
	check "$engine: another path is 404" \
		test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9106/)" = 404
	stop_sockmux "$engine"
done

sed 's/^metrics = .*/metrics = "127.0.0.1:9106x";/' "$T_DIR/smx.conf" >"$T_DIR/bad.conf"
"$SOCKMUX" check -c "$T_DIR/bad.conf" >"$T_DIR/bad.out" 2>&1
check "a bad metrics address is a FILE:LINE error" \
	grep -q "bad.conf:[0-9]*: metrics: invalid address" "$T_DIR/bad.out"
