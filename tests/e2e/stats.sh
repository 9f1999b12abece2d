#!/bin/bash
# SPDX-License-Identifier: MIT
# stats.sh - `sockmux stats` through the control socket, with either engine: the bytes a
# transfer of known size moved through each route appear in the right direction on its
# listener, route and backend, for live connections and for finished ones; failures are
# counted by reason; the text view, `top`, the socket's mode and a bad request.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

CTL=$T_DIR/control.sock
cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; }, { address = "[::1]:8443"; } );
backends = {
  a    = { address = "127.0.0.1:9001"; };
  b    = { address = "127.0.0.1:9002"; };
  dead = { address = "127.0.0.1:9009"; };
};
routes = (
  { sni = [ "a.example.org" ]; backend = "a"; },
  { sni = [ "b.example.org" ]; backend = "b"; },
  { sni = [ "dead.example.org" ]; backend = "dead"; }
);
control = "$CTL";
CONF

start_peer_server 127.0.0.1:9001 a || not_ok "peer a starts"
# reads 2 MB/s: a transfer through it is still live when the test looks
start_peer_server 127.0.0.1:9002 b --read-rate 2000000 || not_ok "peer b starts"

# jget JSONFILE PERL-EXPR: a value from the stats document ($d is the decoded document)
jget() {
	perl -MJSON::PP -e 'my $d = decode_json(do { local $/; <STDIN> }); my $v = eval $ARGV[0];
		print defined $v ? $v : "undef"' "$2" <"$1"
}

stats_json() { "$SOCKMUX" stats --json --control "$CTL" >"$1"; }

# log_sum ROUTE KEY: the sum of KEY over the log lines of connections on route ROUTE
log_sum() { conn_lines | awk -v r="route=$1" -v k="$2=" '{ for (i = 1; i <= NF; i++) {
	if ($i == r) m = 1; if (index($i, k) == 1) v = substr($i, length(k) + 1) }
	if (m) s += v; m = 0 } END { print s + 0 }'; }

for engine in sockmap splice; do
	if ! start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi
	check "$engine: the control socket is mode 0600" test "$(stat -c %a "$CTL")" = 600
	stats_json "$T_DIR/s0.json"
	check "$engine: stats --json answers, all zero, names the engine" \
		test "$(jget "$T_DIR/s0.json" '$d->{total}{connections}')" = 0 \
		-a "$(jget "$T_DIR/s0.json" '$d->{engine}')" = "$engine"

	# route 1: 1 MB up, 3 MB down; route 1 again from IPv6: 200 kB up, 0 down
	"$PEER" client --connect 127.0.0.1:8443 --sni a.example.org --up 1000000 --down 3000000 \
		--seed 1 --expect-tag a >"$T_DIR/c1.out" 2>&1
	check "$engine: transfer 1 through route 1 intact" test $? = 0
	"$PEER" client --connect "[::1]:8443" --sni a.example.org --up 200000 --down 0 \
		--seed 2 --expect-tag a >"$T_DIR/c2.out" 2>&1
	check "$engine: transfer 2 through route 1 intact" test $? = 0
	# route 2: 6 MB up to a backend reading 2 MB/s, 500 kB down; looked at while live
	"$PEER" client --connect 127.0.0.1:8443 --sni b.example.org --up 6000000 --down 500000 \
		--seed 3 --expect-tag b >"$T_DIR/c3.out" 2>&1 &
	cpid=$!
	sleep 1.2
	stats_json "$T_DIR/live.json"
	live_in=$(jget "$T_DIR/live.json" '$d->{routes}[1]{bytes_in}')
	diag "live: route 2 bytes_in=$live_in active=$(jget "$T_DIR/live.json" '$d->{routes}[1]{active}')"
	check "$engine: a live transfer: route 2 active, its bytes counted as they move" \
		test "$(jget "$T_DIR/live.json" '$d->{routes}[1]{active}')" = 1 \
		-a "$live_in" -gt 1000000 -a "$live_in" -le 6001000
	"$SOCKMUX" top --control "$CTL" >"$T_DIR/top.out" 2>&1 &
	tpid=$!
	sleep 1.5
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	check "$engine: top shows the busiest route first, in Mbit/s" \
		sh -c "grep -A1 '^route' '$T_DIR/top.out' | grep -q '#2 -> b' &&
		       grep -q 'Mb/s' '$T_DIR/top.out'"
	wait "$cpid"
	check "$engine: transfer 3 through route 2 intact" test $? = 0

	# failures: a refused backend, no route, not TLS
	"$PEER" client --connect 127.0.0.1:8443 --sni dead.example.org --hold-ms 2000 \
		>/dev/null 2>&1
	"$PEER" client --connect 127.0.0.1:8443 --sni nowhere.example.org --hold-ms 2000 \
		>/dev/null 2>&1
	printf 'hello, in no protocol sockmux knows\r\n' | timeout 2 bash -c 'cat >/dev/tcp/127.0.0.1/8443'
	sleep 0.3

	stats_json "$T_DIR/s1.json"
	S=$T_DIR/s1.json
	r1_in=$(jget "$S" '$d->{routes}[0]{bytes_in}')
	r1_out=$(jget "$S" '$d->{routes}[0]{bytes_out}')
	r2_in=$(jget "$S" '$d->{routes}[1]{bytes_in}')
	r2_out=$(jget "$S" '$d->{routes}[1]{bytes_out}')
	diag "route 1: in=$r1_in out=$r1_out; route 2: in=$r2_in out=$r2_out"
	# what the clients sent, plus the hello (< 1 kB each) and the backend's tag
	check "$engine: route 1 bytes_in = the 1.2 MB sent (plus two hellos)" \
		test "$r1_in" -ge 1200000 -a "$r1_in" -lt 1202000
	check "$engine: route 1 bytes_out = the 3 MB received (plus the tags)" \
		test "$r1_out" -ge 3000000 -a "$r1_out" -lt 3000100
	check "$engine: route 2 bytes_in = the 6 MB sent, bytes_out = the 500 kB received" \
		test "$r2_in" -ge 6000000 -a "$r2_in" -lt 6001000 \
		-a "$r2_out" -ge 500000 -a "$r2_out" -lt 500100
	check "$engine: route figures equal the sum of the connections' log lines" \
		test "$r1_in" = "$(log_sum 1 bytes_up)" -a "$r1_out" = "$(log_sum 1 bytes_down)" \
		-a "$r2_in" = "$(log_sum 2 bytes_up)" -a "$r2_out" = "$(log_sum 2 bytes_down)"
	check "$engine: backends a and b carry the same figures as routes 1 and 2" \
		test "$(jget "$S" '$d->{backends}[0]{bytes_in}')" = "$r1_in" \
		-a "$(jget "$S" '$d->{backends}[1]{bytes_out}')" = "$r2_out"
	check "$engine: listeners: IPv6 listener 1 connection, 200000+hello bytes in" \
		test "$(jget "$S" '$d->{listeners}[1]{connections}')" = 1 \
		-a "$(jget "$S" '$d->{listeners}[1]{bytes_in}')" -ge 200000 \
		-a "$(jget "$S" '$d->{listeners}[1]{bytes_out}')" -lt 100
	check "$engine: total: 6 connections, none active, bytes sum the routes" \
		test "$(jget "$S" '$d->{total}{connections}')" = 6 \
		-a "$(jget "$S" '$d->{total}{active}')" = 0 \
		-a "$(jget "$S" '$d->{total}{bytes_in}')" = $((r1_in + r2_in + \
			$(jget "$S" '$d->{routes}[2]{bytes_in}')))
	check "$engine: failures by reason: connect_refused on route 3 and backend dead" \
		test "$(jget "$S" '$d->{routes}[2]{failures}{connect_refused}')" = 1 \
		-a "$(jget "$S" '$d->{backends}[2]{failures}{connect_refused}')" = 1
	check "$engine: failures by reason: no_route and not_tls on the listener and total" \
		test "$(jget "$S" '$d->{listeners}[0]{failures}{no_route}')" = 1 \
		-a "$(jget "$S" '$d->{total}{failures}{not_tls}')" = 1 \
		-a "$(jget "$S" '$d->{total}{failures}{connect_refused}')" = 1
	# the routed connections were all TLS (the refused one included): one protocol row
	tls=$(jget "$S" 'join ",", map { $_->{protocol} } grep { $_->{connections} } @{$d->{protocols}}')
	check "$engine: protocols: the routed TLS connections under tls, bytes as the routes'" \
		test "$tls" = tls \
		-a "$(jget "$S" '(grep { $_->{protocol} eq "tls" } @{$d->{protocols}})[0]{bytes_in}')" \
		= $((r1_in + r2_in + $(jget "$S" '$d->{routes}[2]{bytes_in}')))
	check "$engine: uptime and version present" \
		test "$(jget "$S" '$d->{uptime_s} > 0 && length($d->{version}) ? 1 : 0')" = 1

	"$SOCKMUX" stats --control "$CTL" >"$T_DIR/text.out"
	check "$engine: text form lists listeners, routes, backends and protocols" \
		sh -c "grep -q '#1 -> a' '$T_DIR/text.out' && grep -q '\[::1\]:8443' '$T_DIR/text.out' &&
		       grep -q 'connect_refused=1' '$T_DIR/text.out' && grep -q '^protocol ' '$T_DIR/text.out'"
	check "$engine: stats -c FILE finds the control socket from the configuration" \
		sh -c "'$SOCKMUX' stats --json -c '$T_DIR/smx.conf' | grep -q '\"engine\"'"
	ans=$(printf 'bogus\n' | timeout 2 perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;
		print $s scalar <STDIN>; print while <$s>' "$CTL")
	diag "bogus request: $ans"
	if grep -q '"error"' <<<"$ans" && "$SOCKMUX" stats --control "$CTL" >/dev/null; then
		ok "$engine: an unknown request gets an error, the daemon keeps serving"
	else
		not_ok "$engine: an unknown request gets an error, the daemon keeps serving"
	fi
	stop_sockmux "$engine"
	check "$engine: the control socket is removed at exit" test ! -e "$CTL"
done

"$SOCKMUX" stats --control "$CTL" >/dev/null 2>"$T_DIR/err.out"
rc=$?
check "stats without a daemon: exit 1, says why" \
	sh -c "test $rc = 1 && grep -q 'cannot reach sockmux' '$T_DIR/err.out'"
