#!/bin/bash
# SPDX-License-Identifier: MIT
# reload.sh - configuration reload (SIGHUP and `sockmux reload`), with either engine: a long
# transfer started before the reload completes intact (sha256) and keeps the route it started
# with; a new route takes effect for the next connection; a listener is added and another
# removed while the one that stays keeps its socket; a broken file is rejected with its
# FILE:LINE error and the old configuration keeps serving.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

CTL=$T_DIR/control.sock
CONF=$T_DIR/smx.conf
LONG=${SMX_TEST_RELOAD_BYTES:-12000000}

write_v1() {
	cat >"$CONF" <<CONF
listen = ( { address = "127.0.0.1:8443"; }, { address = "127.0.0.1:8445"; } );
backends = {
  a    = { address = "127.0.0.1:9001"; };
  b    = { address = "127.0.0.1:9002"; };
  slow = { address = "127.0.0.1:9003"; };
};
routes = (
  { sni = [ "long.example.org" ]; backend = "slow"; },
  { backend = "a"; }
);
control = "$CTL";
CONF
}

# v2: a route to b first (so the long transfer's route changes number), 8444 added, 8445 gone
write_v2() {
	cat >"$CONF" <<CONF
listen = ( { address = "127.0.0.1:8444"; }, { address = "127.0.0.1:8443"; } );
backends = {
  a    = { address = "127.0.0.1:9001"; };
  b    = { address = "127.0.0.1:9002"; };
  slow = { address = "127.0.0.1:9003"; };
};
routes = (
  { sni = [ "new.example.org" ]; backend = "b"; },
  { sni = [ "long.example.org" ]; backend = "slow"; },
  { backend = "a"; }
);
control = "$CTL";
CONF
}

# broken on line 8: a route names a backend that does not exist
write_broken() {
	write_v2
	sed -i 's/{ sni = \[ "new.example.org" \]; backend = "b"; }/{ sni = [ "new.example.org" ]; backend = "nope"; }/' "$CONF"
}

start_peer_server 127.0.0.1:9001 a || not_ok "peer a starts"
start_peer_server 127.0.0.1:9002 b || not_ok "peer b starts"
# reads 4 MB/s: the long transfer lasts about 3 s, across the reload
start_peer_server 127.0.0.1:9003 slow --read-rate 4000000 || not_ok "peer slow starts"

# to PORT SNI TAG: a short transfer through sockmux reaches backend TAG
to() {
	"$PEER" client --connect "127.0.0.1:$1" --sni "$2" --up 10000 --down 10000 --seed 5 \
		--expect-tag "$3" >/dev/null 2>&1
}

for engine in sockmap splice; do
	write_v1
	if ! start_sockmux "$CONF" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi
	check "$engine: before: new.example.org takes the default route to a" \
		to 8443 new.example.org a
	check "$engine: before: listener 8445 serves" to 8445 x.example.org a

	"$PEER" client --connect 127.0.0.1:8443 --sni long.example.org --up "$LONG" \
		--down "$LONG" --seed 7 --expect-tag slow >"$T_DIR/long.out" 2>&1 &
	lpid=$!
	sleep 0.5

	write_v2
	kill -HUP "$SMX_PID"
	check "$engine: SIGHUP: the log says configuration 2 applies" \
		wait_for "$SMX_LOG" 'reload: .*configuration 2: 2 listener' 5
	sleep 0.2
	check "$engine: after: new.example.org now goes to b (new route)" to 8443 new.example.org b
	check "$engine: after: other names still go to a" to 8443 other.example.org a
	check "$engine: after: the added listener 8444 serves" to 8444 new.example.org b
	check "$engine: after: the removed listener 8445 refuses" \
		bash -c "! (exec 3<>/dev/tcp/127.0.0.1/8445) 2>/dev/null"
	check "$engine: the log names the added and removed listeners, not the kept one" \
		sh -c "grep -q 'now listening on 127.0.0.1:8444' '$SMX_LOG' &&
		       grep -q 'no longer listening on 127.0.0.1:8445' '$SMX_LOG' &&
		       ! grep -q 'now listening on 127.0.0.1:8443' '$SMX_LOG'"
	check "$engine: the long transfer is still running during the reload" \
		kill -0 "$lpid"

	write_broken
	"$SOCKMUX" reload --control "$CTL" >"$T_DIR/r.out" 2>&1
	rc=$?
	diag "$(cat "$T_DIR/r.out")"
	check "$engine: sockmux reload of a broken file: exit 1, FILE:LINE: message" \
		sh -c "test $rc = 1 && grep -q 'smx.conf:8: routes.\[0\].backend: no backend named' '$T_DIR/r.out'"
	check "$engine: ... and the log says the running configuration stays" \
		grep -q 'smx.conf:8: .*the running configuration stays' "$SMX_LOG"
	kill -HUP "$SMX_PID"
	for ((i = 0; i < 40; i++)); do
		[ "$(grep -c 'the running configuration stays' "$SMX_LOG")" -ge 2 ] && break
		sleep 0.05
	done
	check "$engine: SIGHUP with the broken file: rejected in the log too" \
		test "$(grep -c 'smx.conf:8: .*the running configuration stays' "$SMX_LOG")" = 2
	sleep 0.2
	check "$engine: after the rejected reloads, configuration 2 still routes new to b" \
		to 8443 new.example.org b

	wait "$lpid"
	lrc=$?
	diag "$(cat "$T_DIR/long.out")"
	check "$engine: the long transfer started before the reload completes intact" test "$lrc" = 0
	srv=$(grep -E "recv=$LONG " "$T_DIR/peer-slow.log" | tail -n 1)
	csent=$(grep -oE 'sent_sha256=[0-9a-f]+' "$T_DIR/long.out" | cut -d= -f2)
	crecv=$(grep -oE 'recv_sha256=[0-9a-f]+' "$T_DIR/long.out" | cut -d= -f2)
	check "$engine: ... sha256 equal both ways" \
		sh -c "grep -q 'recv_sha256=$csent' <<EOF
$srv
EOF
		grep -q 'sent_sha256=$crecv' <<EOF
$srv
EOF"
	sleep 0.2
	line=$(conn_lines | grep 'sni=long.example.org' | tail -n 1)
	diag "$line"
	check "$engine: ... logged under the configuration it started with (route=1 backend=slow)" \
		test "$(field "$line" route)" = 1 -a "$(field "$line" backend)" = slow \
		-a "$(field "$line" end)" = closed -a "$(field "$line" bytes_up)" -gt "$LONG"

	write_v1
	"$SOCKMUX" reload -c "$CONF" >"$T_DIR/r.out" 2>&1
	rc=$?
	diag "$(cat "$T_DIR/r.out")"
	check "$engine: sockmux reload of a good file: exit 0, configuration 3" \
		sh -c "test $rc = 0 && grep -q 'configuration 3' '$T_DIR/r.out'"
	sleep 0.2
	check "$engine: back to v1: new.example.org goes to a, 8445 serves again" \
		sh -c "$(declare -f to); PEER='$PEER'; to 8443 new.example.org a && to 8445 x.example.org a"
	"$SOCKMUX" stats --json --control "$CTL" >"$T_DIR/s.json"
	check "$engine: stats: configuration 3, 2 reloads rejected, route 1 counted across" \
		perl -MJSON::PP -e 'my $d = decode_json(do { local $/; <STDIN> });
			exit !($d->{config_generation} == 3 && $d->{reloads_failed} == 2 &&
			       $d->{routes}[0]{connections} >= 3)' <"$T_DIR/s.json"
	stop_sockmux "$engine"
done
