#!/bin/bash
# SPDX-License-Identifier: MIT
# segments.sh - what sockmux does to a connection's segments, with the same client run
# directly against the same server as the oracle (tests/tools/smx-segments.py):
# - the connect's last ACK waits for the client's first bytes, so the backend socket is left
#   in delayed-ACK mode by a quick exchange; it must not stay there: a server that writes its
#   answer in two small pieces with Nagle on would wait for that delayed ACK (40 ms and more)
#   before the second piece left. Through sockmux the answer comes as fast as directly.
# - a server's last bytes and its FIN, arriving in one segment, leave towards the client in
#   one segment, as they reached it directly: the client's socket counts as many segments.
# - a PROXY header goes with the client's first bytes: the server reads both from one
#   segment, as it reads the request alone from one directly, and its two-piece answer still
#   comes as fast.
# On the splice engine and on the sockmap engine (which lets splice carry a connection this
# short) and, for the first and the last, on the sockmap engine taking the sockets at the
# hand-off.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

SEG=$SMX_TOP/tests/tools/smx-segments.py

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; name = "pieces"; },
	   { address = "127.0.0.1:8444"; name = "merged"; },
	   { address = "127.0.0.1:8445"; name = "proxied"; } );
backends = { pieces = { address = "127.0.0.1:9001"; }; merged = { address = "127.0.0.1:9002"; };
	     proxied = { address = "127.0.0.1:9003"; proxy_protocol = "v1"; }; };
# routed on the first bytes, as a ClientHello is: the client's bytes are there to send
routes = ( { listener = [ "pieces" ]; regex = "^rrrr"; backend = "pieces"; },
	   { listener = [ "merged" ]; regex = "^rrrr"; backend = "merged"; },
	   { listener = [ "proxied" ]; regex = "^rrrr"; backend = "proxied"; } );
CONF
bg "$T_DIR/pieces.log" python3 "$SEG" server --listen 127.0.0.1:9001 --mode pieces
wait_for "$T_DIR/pieces.log" '^listening' 10 || not_ok "pieces server starts"
bg "$T_DIR/merged.log" python3 "$SEG" server --listen 127.0.0.1:9002 --mode merged
wait_for "$T_DIR/merged.log" '^listening' 10 || not_ok "merged server starts"
bg "$T_DIR/proxied.log" python3 "$SEG" server --listen 127.0.0.1:9003 --mode pieces --proxy
wait_for "$T_DIR/proxied.log" '^listening' 10 || not_ok "proxied server starts"

# run NAME ADDR MODE: the client's line in $T_DIR/NAME.out
run() { python3 "$SEG" client --connect "$2" --mode "$3" --n 5 >"$T_DIR/$1.out" 2>&1; }
kv() { grep -oE "$2=[0-9.]+" "$T_DIR/$1.out" | cut -d= -f2; }

run direct-pieces 127.0.0.1:9001 pieces
run direct-merged 127.0.0.1:9002 merged
d_ms=$(kv direct-pieces median_ms)
d_segs=$(kv direct-merged segs_in)
check "direct: two small pieces answered in ${d_ms:-?} ms (median of 5)" \
	grep -q '^ok ' "$T_DIR/direct-pieces.out"
check "direct: 300 bytes and their FIN in one segment, ${d_segs:-?} segments in by the EOF" \
	grep -q '^ok ' "$T_DIR/direct-merged.out"
# the wait for a delayed ACK adds 40 ms at least (TCP_DELACK_MIN) to every connection: the
# median of 5 sees it, and a busy machine's odd slow answer does not move it
bound=$(awk -v d="${d_ms:-0}" 'BEGIN { printf "%.1f", d + 25 }')

for engine in splice sockmap sockmap-now; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || not_ok "$engine: starts"
	run "$engine-pieces" 127.0.0.1:8443 pieces
	ms=$(kv "$engine-pieces" median_ms)
	check "$engine: two small pieces with Nagle on answered in ${ms:-?} ms (median), no delayed-ACK wait (≤ $bound: direct + 25)" \
		awk -v m="${ms:-999}" -v b="$bound" 'BEGIN { exit !(m <= b) }'
	if [ "$engine" != sockmap-now ]; then
		# the sockmap engine from the hand-off moves the bytes in the kernel and the FIN
		# after them, from user space: two segments, a latitude of its own
		run "$engine-merged" 127.0.0.1:8444 merged
		segs=$(kv "$engine-merged" segs_in)
		check "$engine: the server's last bytes and FIN reach the client in one segment ($segs segments in, direct $d_segs)" \
			test -n "$segs" -a "$segs" = "$d_segs"
	fi
	# a PROXY header in front: one segment with the request (direct: the request in 1)
	n0=$(grep -c '^request_segs=' "$T_DIR/proxied.log")
	run "$engine-proxied" 127.0.0.1:8445 pieces
	ms=$(kv "$engine-proxied" median_ms)
	grep '^request_segs=' "$T_DIR/proxied.log" | tail -n +$((n0 + 1)) >"$T_DIR/$engine-proxied.srv"
	segs=$(grep -oE 'request_segs=[0-9]+' "$T_DIR/$engine-proxied.srv" | cut -d= -f2 | sort -u |
		tr '\n' ' ')
	hdrs=$(grep -c 'header=PROXY TCP4 127.0.0.1 127.0.0.1 ' "$T_DIR/$engine-proxied.srv")
	check "$engine: a PROXY v1 header in front, two small pieces answered in ${ms:-?} ms (median, ≤ $bound)" \
		awk -v m="${ms:-999}" -v b="$bound" 'BEGIN { exit !(m <= b) }'
	if [ "$engine" = sockmap-now ]; then
		check "$engine: the server got 5 headers ($hdrs), each with the request" test "$hdrs" = 5
	else
		check "$engine: the server read each of 5 headers ($hdrs) with its request from one segment (segments: $segs)" \
			test "$hdrs" = 5 -a "$segs" = "1 "
	fi
	want=15
	[ "$engine" = sockmap-now ] && want=10
	sleep 0.2
	lines=$(conn_lines | grep -c ' end=closed')
	check "$engine: every connection logged end=closed ($lines of $want)" test "$lines" = "$want"
	stop_sockmux "$engine"
done
