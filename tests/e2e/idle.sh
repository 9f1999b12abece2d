#!/bin/bash
# SPDX-License-Identifier: MIT
# idle.sh - long-lived idle connections by the ten thousand, on both engines (and sockmap-now,
# its sockets in the sockmap from the hand-off): as many as the
# open-files limit allows (at least 9 900 under this machine's hard limit of 20 000, which
# nobody here may raise), each after a routed ClientHello (by SNI) and the server's answer,
# held open, then each still answered both ways (a byte out, its echo back); two descriptors
# per idle connection in the daemon, its memory per connection (RSS held minus RSS of an idle
# daemon with max_connections = 1024), a newcomer's set-up time with them held; and once they
# close, the daemon's descriptors back to where they started.
#
# Clients and servers are separate processes (smx-idle), each under the limit; the clients
# connect from four loopback addresses so that no address runs out of ports.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

IDLE=$SMX_TOP/.output/tests/smx-idle
N=${SMX_IDLE_N:-9900}
SOURCES=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5

# two workers: SO_REUSEPORT spreads newcomers by hash, not evenly, so one worker holds more
# than half of them; max_connections counts for the daemon, not per worker
cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
control = "";
workers = 2;
max_connections = 12000;
backends = { srv = { address = "127.0.0.1:9300"; }; };
routes = ( { sni = [ "idle.example" ]; backend = "srv"; } );
CONF

# the baseline of the memory figure: the same daemon idle with max_connections = 1024, so that
# memory sized by max_connections (maps, tables) counts against the connections
sed -e 's/max_connections = 12000;/max_connections = 1024;/' "$T_DIR/smx.conf" >"$T_DIR/small.conf"

bg "$T_DIR/idle-srv.log" "$IDLE" server --listen 127.0.0.1:9300
SRV_PID=$BG_PID
wait_for "$T_DIR/idle-srv.log" '^listening' 5 || not_ok "echo server starts"

fds() { ls /proc/"$SMX_PID"/fd 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' /proc/"$SMX_PID"/status; }
# settle N: wait until the daemon holds no more than N descriptors (up to 20 s)
settle() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(fds)" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# probe: 200 newcomers one after the other, their set-up p99 in PROBE_P99 (µs)
probe() {
	PROBE=$("$IDLE" probe --connect 127.0.0.1:8443 --sni idle.example --count 200 \
		--sources 127.0.0.6 2>&1)
	PROBE_P99=$(grep -oE 'p99_us=[0-9]+' <<<"$PROBE" | cut -d= -f2)
	grep -q ' failed=0 ' <<<"$PROBE"
}

for engine in ${SMX_ENGINES:-sockmap sockmap-now splice}; do
	start_sockmux "$T_DIR/small.conf" "$engine" "small-$engine" ||
		{ not_ok "$engine: starts with max_connections = 1024"; continue; }
	probe
	sleep 0.3
	rss_small=$(rss_kb)
	stop_sockmux "$engine (max_connections = 1024)"

	start_sockmux "$T_DIR/smx.conf" "$engine" "idle-$engine" ||
		{ not_ok "$engine: starts"; continue; }
	max=$(grep -oE 'for max_connections [0-9]+' "$SMX_LOG" | grep -oE '[0-9]+$')
	diag "$engine: $(grep -m1 -oE 'open files: limit.*' "$SMX_LOG")"
	check "$engine: max_connections fits $N idle connections under the open-files limit ($max)" \
		test "${max:-0}" -ge "$N"
	probe
	check "$engine: idle daemon: 200 newcomers served" test $? = 0
	p99_idle=$PROBE_P99
	sleep 0.3
	fds0=$(fds)
	rss0=$(rss_kb)

	bg "$T_DIR/hold-$engine.log" "$IDLE" hold --connect 127.0.0.1:8443 --sni idle.example \
		--count "$N" --sources "$SOURCES" --parallel 256 --timeout-s 90
	hold_pid=$BG_PID
	wait_for "$T_DIR/hold-$engine.log" '^held=' 100
	line=$(grep -m1 '^held=' "$T_DIR/hold-$engine.log")
	diag "$engine: $line"
	check "$engine: $N connections routed by SNI, answered and held" \
		grep -q "^held=$N failed=0 " "$T_DIR/hold-$engine.log"
	sleep 1
	held_fds=$(($(fds) - fds0))
	rss1=$(rss_kb)
	check "$engine: two descriptors per idle connection ($held_fds for $N)" \
		test "$held_fds" -le $((2 * N))
	per=$(((rss1 - rss_small) * 1024 / N))
	if [ -n "${SMX_SANITIZER:-}" ]; then
		echo "ok $((T_N += 1)) - $engine: daemon memory per idle connection # SKIP sanitizer build ($per bytes)"
	else
		check "$engine: daemon memory per idle connection: $per bytes (<= 1024; RSS $rss_small KiB idle with max_connections = 1024, $rss0 idle with $max, $rss1 with $N held)" \
			test "$per" -le 1024
	fi
	probe
	check "$engine: with $N held, 200 newcomers served" test $? = 0
	diag "$engine: newcomers' set-up p99: ${p99_idle} µs idle, ${PROBE_P99} µs with $N held"

	kill -USR1 "$hold_pid"
	wait_for "$T_DIR/hold-$engine.log" '^answered=' 30
	diag "$engine: $(grep -m1 '^answered=' "$T_DIR/hold-$engine.log")"
	check "$engine: every one of the $N still answered both ways" \
		grep -q "^answered=$N of $N " "$T_DIR/hold-$engine.log"
	stop_pid "$hold_pid"
	check "$engine: the holding client saw every connection held and answered" test $? = 0
	settle "$fds0"
	check "$engine: descriptors back to $fds0 once they closed (now $(fds))" \
		test "$(fds)" -le "$fds0"
	check "$engine: none ended as internal_error" \
		sh -c "! grep -q 'end=internal_error' '$SMX_LOG'"
	if [ "${engine%-now}" = sockmap ]; then
		check "$engine: peer_of empty once they closed" \
			test "$(smx_map_entries peer_of)" = 0
		# a worker past its share of the sockmap's slots hands the rest to splice
		diag "$engine: $(conn_lines | grep -c ' engine=splice ') of them carried by splice"
	fi
	stop_sockmux "$engine"
done
stop_pid "$SRV_PID"
