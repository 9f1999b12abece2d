#!/bin/bash
# SPDX-License-Identifier: MIT
# repeats.sh - bytes the kernel receives twice are carried once. Every packet towards
# sockmux is duplicated on the test's loopback (tc u32 + mirred, ingress mirror). TCP drops a
# pure duplicate, but one that meets the next segment in the socket backlog is coalesced
# with it and queued whole, its start before rcv_nxt; tcp_read_skb() hands such skbs to the
# sockmap program as they are. Without the program's sequence check the backend gets those
# bytes twice (measured with the previous program: the backend's sha256 differs); with it,
# 256 MiB each way arrive intact and the log line counts the repeats it cut off.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

# Fixed, not SMX_TEST_BIG: repeats need the socket busy when a duplicate arrives, which 32 MiB
# did not always give (about a second per engine either way).
BIG=268435456
TRIES=3

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = { b = { address = "127.0.0.1:9001"; }; };
routes = ( { backend = "b"; } );
CONF

dup_on() {
	tc qdisc add dev lo clsact &&
	tc filter add dev lo egress protocol ip u32 match ip dport 8443 0xffff \
		action mirred ingress mirror dev lo &&
	tc filter add dev lo egress protocol ip u32 match ip sport 9001 0xffff \
		action mirred ingress mirror dev lo
}
# packets mirrored so far (both filters)
dup_count() { tc -s filter show dev lo egress | awk '/Sent .* pkt/ { n += $4 } END { print n + 0 }'; }

if ! dup_on 2>"$T_DIR/tc.err"; then
	echo "ok 1 # SKIP tc cannot duplicate packets here (needs clsact, cls_u32, act_mirred): $(head -c 120 "$T_DIR/tc.err")"
	T_N=1
	exit 0
fi
start_peer_server 127.0.0.1:9001 b || not_ok "peer starts"
declare -A counts

# sockmap-now: the program from the hand-off (taken over after 64 KiB, a transfer the
# duplicates keep busy may stay with splice)
for engine in sockmap-now splice; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || not_ok "$engine: sockmux starts"
	# Transfers until the kernel handed the program a repeat (the first one does, as a
	# rule); each of them must arrive intact.
	copies=0 repeated=0 intact=0 exact=0
	for ((try = 1; try <= TRIES; try++)); do
		out=$T_DIR/c-$engine-$try.out
		before=$(dup_count)
		timeout 120 "$PEER" client --connect 127.0.0.1:8443 --sni www.example.org \
			--up "$BIG" --down "$BIG" --seed $((30 + try)) --expect-tag b >"$out" 2>&1 &&
			intact=$((intact + 1))
		diag "$(cat "$out")"
		copies=$((copies + $(dup_count) - before))
		upload_arrived "$out" "$BIG" "$T_DIR/peer-b.log" && exact=$((exact + 1))
		sleep 0.2
		line=$(conn_lines | tail -n 1)
		diag "$line"
		r=$(field "$line" repeated_skbs)
		repeated=$((repeated + ${r:-0}))
		[ "$engine" = splice ] || [ "$repeated" -ge 1 ] && break
	done
	try=$((try > TRIES ? TRIES : try))
	check "$engine: packets were duplicated ($copies copies)" test "$copies" -ge 100
	check "$engine: $BIG bytes each way arrive intact although every packet came twice ($intact of $try)" \
		test "$intact" = "$try"
	check "$engine: the backend received exactly what the client sent ($exact of $try)" \
		test "$exact" = "$try"
	# up: the payload plus the hello; down: the payload plus the backend's 6-byte tag line
	counts[$engine]="$(($(field "$line" bytes_up) - BIG))/$(($(field "$line" bytes_down) - BIG))"
	if [ "$engine" = sockmap-now ]; then
		check "sockmap-now: the program met repeated skbs and cut them ($repeated in $try transfer(s))" \
			test "$repeated" -ge 1
	fi
	stop_sockmux "$engine"
done
check "the log's byte counts are exact: both engines counted the same bytes (${counts[sockmap-now]} and ${counts[splice]} over $BIG), the payload only once" \
	test "${counts[sockmap-now]}" = "${counts[splice]}" -a "${counts[sockmap-now]#*/}" = 6
