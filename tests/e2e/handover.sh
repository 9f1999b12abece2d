#!/bin/bash
# SPDX-License-Identifier: MIT
# handover.sh - the sockmap engine takes a connection over from splice once it has carried
# sockmap_after_bytes (both ways together): one connection in phases against an echo server
# (tests/tools/smx-phases.py), first a few bytes, then megabytes both ways at once, then a
# half-close. While it has carried less, the connection holds no psock (no entry in the
# sockmap); past the threshold the engine adopts it between two reads with both directions
# flowing, and every byte comes back in order; its log line says engine=sockmap with the share
# moved in the kernel. A connection that stays under the threshold ends as engine=splice, and
# with sockmap_after_bytes = 0 the sockets enter the maps at the hand-off. The same client run
# directly against the echo server is the oracle.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

PHASES=$SMX_TOP/tests/tools/smx-phases.py
BULK=${SMX_HANDOVER_BULK:-8388608}

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = { b = { address = "127.0.0.1:9001"; }; };
routes = ( { backend = "b"; } );
CONF
bg "$T_DIR/echo.log" python3 "$PHASES" echo --listen 127.0.0.1:9001
wait_for "$T_DIR/echo.log" '^listening' 10 || not_ok "echo server starts"

# phases NAME ADDR SMALL BULK: runs the client in steps; after each of its two phases the
# sockmap's entries are recorded in $NAME.maps (one number per step); its output in NAME.out
phases() {
	local name=$1 fifo=$T_DIR/$1.step pid
	mkfifo "$fifo"
	python3 "$PHASES" client --connect "$2" --small "$3" --bulk "$4" --fifo "$fifo" \
		>"$T_DIR/$name.out" 2>&1 &
	pid=$!
	: >"$T_DIR/$name.maps"
	for step in 'small done' 'bulk done'; do
		if ! wait_for "$T_DIR/$name.out" "$step" 60; then
			kill "$pid" 2>/dev/null
			break
		fi
		if [ -n "${SMX_LOG:-}" ]; then
			sleep 0.1
			smx_map_entries peer_of >>"$T_DIR/$name.maps"
		fi
		echo go >"$fifo"
	done
	wait "$pid"
}

phases direct 127.0.0.1:9001 100 "$BULK"
check "direct: $BULK bytes echoed in order after 100 ($(tail -n 1 "$T_DIR/direct.out"))" \
	grep -q '^ok ' "$T_DIR/direct.out"

start_sockmux "$T_DIR/smx.conf" sockmap smx || not_ok "sockmap starts"
phases big 127.0.0.1:8443 100 "$BULK"
maps=$(tr '\n' ' ' <"$T_DIR/big.maps")
line=$(sleep 0.2; conn_lines | tail -n 1)
diag "big: maps after each phase: $maps; $line"
check "after 100 bytes each way: still carried by splice, no socket in the sockmap" \
	test "$(sed -n 1p "$T_DIR/big.maps")" = 0
check "after $BULK more each way: adopted by the sockmap engine (both sockets in its maps)" \
	test "$(sed -n 2p "$T_DIR/big.maps")" = 2
check "every byte echoed in order through the take-over, as directly" \
	grep -q '^ok ' "$T_DIR/big.out"
total=$((100 + BULK))
check "log: engine=sockmap, bytes_up=bytes_down=$total, end=closed" \
	test "$(field "$line" engine)" = sockmap -a "$(field "$line" bytes_up)" = "$total" \
	-a "$(field "$line" bytes_down)" = "$total" -a "$(field "$line" end)" = closed
k=$(field "$line" kernel)
check "log: most bytes moved in the kernel (kernel=$k)" test "${k%\%}" -ge 50
check "after the close: no socket left in the sockmap" test "$(smx_map_entries peer_of)" = 0

# under the threshold (64 KiB both ways): 100 + 30000 echoed is 60200
phases under 127.0.0.1:8443 100 30000
line=$(sleep 0.2; conn_lines | tail -n 1)
check "60200 bytes both ways, under 64 KiB: splice carried it to its end, echoed in order" \
	test "$(field "$line" engine)" = splice -a "$(grep -c "^ok " "$T_DIR/under.out")" = 1 \
	-a "$(cat "$T_DIR/under.maps" | tr '\n' ' ')" = "0 0 "
# just over: 100 + 32800 echoed is 65800
phases over 127.0.0.1:8443 100 32800
line=$(sleep 0.2; conn_lines | tail -n 1)
diag "over: maps $(tr '\n' ' ' <"$T_DIR/over.maps"); $line"
check "65800 bytes both ways, over 64 KiB: the sockmap engine took it, echoed in order" \
	test "$(field "$line" engine)" = sockmap -a "$(sed -n 2p "$T_DIR/over.maps")" = 2 \
	-a "$(grep -c '^ok ' "$T_DIR/over.out")" = 1
check "sockmap: no connection ended by an internal error" \
	sh -c "! grep -q 'end=internal_error' '$SMX_LOG'"
stop_sockmux sockmap

start_sockmux "$T_DIR/smx.conf" sockmap-now smx-now || not_ok "sockmap-now starts"
phases now 127.0.0.1:8443 100 "$BULK"
line=$(sleep 0.2; conn_lines | tail -n 1)
check "sockmap_after_bytes = 0: in the sockmap from the hand-off, echoed in order" \
	test "$(sed -n 1p "$T_DIR/now.maps")" = 2 -a "$(field "$line" engine)" = sockmap \
	-a "$(grep -c '^ok ' "$T_DIR/now.out")" = 1
stop_sockmux sockmap-now

