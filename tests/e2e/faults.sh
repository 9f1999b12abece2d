#!/bin/bash
# SPDX-License-Identifier: MIT
# faults.sh - the direct connection is the oracle. Each fault scenario of smx-fault (a reply
# then a reset, a request and its FIN at once, resets and kill -9 of either end mid-transfer
# in both directions, half-closes with the other way flowing for seconds, a backend that never
# reads or closes at once) runs client -> server directly, then through sockmux on each engine,
# with 1 B, 16 B, 64 KiB and 64 MiB payloads; what both ends saw must be the same: the bytes
# (every byte checked against its stream, counts compared), how each end saw the end (EOF or
# reset), and no later than the direct run by more than a bound. Where TCP itself decides
# (how much a writer pushed before a reset), only the kind of end is compared. Afterwards
# sockmux holds no more descriptors or map entries than before.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

FAULT=$SMX_TOP/.output/tests/smx-fault
SIZES=${SMX_FAULT_SIZES:-1 16 65536 67108864}
SCENARIOS=$("$FAULT" list)

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
timeouts = { handshake_ms = 3000; connect_ms = 1000; };
backends = { srv = { address = "127.0.0.1:9100"; }; };
routes = ( { backend = "srv"; } );
CONF

# run_case CONNECT SCENARIO SIZE: one run; sets CL and SV to what the client and server saw.
run_case() {
	local connect=$1 scen=$2 size=$3 spid cpid i
	: >"$T_DIR/srv.out"
	"$FAULT" server --listen 127.0.0.1:9100 --scenario "$scen" --size "$size" \
		>"$T_DIR/srv.out" 2>"$T_DIR/srv.err" &
	spid=$!
	T_PIDS+=("$spid")
	wait_for "$T_DIR/srv.out" '^listening' 5
	timeout 30 "$FAULT" client --connect "$connect" --scenario "$scen" --size "$size" \
		>"$T_DIR/cli.out" 2>"$T_DIR/cli.err"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	CL=$(grep '^role=client' "$T_DIR/cli.out" | tail -n 1)
	SV=$(grep '^role=server' "$T_DIR/srv.out" | tail -n 1)
}

# end_of LINE: how an end saw the conversation end: "reset" if a read or a write failed so
# (with two threads, whichever call comes first takes the error, the other then sees EOF or
# EPIPE), else how its reading ended.
end_of() {
	local s r
	s=$(field "$1" send_end)
	r=$(field "$1" recv_end)
	if [[ $s == reset || $s == pipe || $r == reset ]]; then echo reset; else echo "$r"; fi
}

# compare SCENARIO SIZE DIRECT_CL DIRECT_SV: what differs between the direct run and this
# one (CL, SV), as text; empty when they agree.
compare() {
	local scen=$1 size=$2 dcl=$3 dsv=$4 out="" k
	[ -n "$CL" ] && [ -n "$SV" ] || { echo "a side printed nothing"; return; }
	for k in recv_ok; do
		[ "$(field "$CL" $k)" = 1 ] || out+=" client:corrupt"
		[ "$(field "$SV" $k)" = 1 ] || out+=" server:corrupt"
	done
	# exact: bytes each end received, and how it saw the end
	local exact_cl="recv end" exact_sv="recv end" a b
	case $scen in
	reply_close)       exact_sv="recv" ;;
	client_reset_down) exact_sv="end" ;;
	server_reset_up)   exact_cl="end" ;;
	never_reads)       exact_cl="end" ;;
	close_first)       exact_cl="recv"; exact_sv="" ;;
	esac
	for k in $exact_cl; do
		if [ $k = end ]; then a=$(end_of "$CL"); b=$(end_of "$dcl")
		else a=$(field "$CL" $k); b=$(field "$dcl" $k); fi
		[ "$a" = "$b" ] || out+=" client.$k=$a(direct:$b)"
	done
	for k in $exact_sv; do
		if [ $k = end ]; then a=$(end_of "$SV"); b=$(end_of "$dsv")
		else a=$(field "$SV" $k); b=$(field "$dsv" $k); fi
		[ "$a" = "$b" ] || out+=" server.$k=$a(direct:$b)"
	done
	# a server that closes at once: EOF or reset, as TCP decides
	if [ "$scen" = close_first ]; then
		a=$(end_of "$CL")
		[[ $a == eof || $a == reset ]] || out+=" client.end=$a"
	fi
	# the end comes about as soon as directly (loopback: a bound for the copies in between)
	local dms pms
	dms=$(field "$dcl" ms)
	pms=$(field "$CL" ms)
	[ "${pms:-99999}" -le $((2 * ${dms:-0} + 1000)) ] || out+=" client.ms=$pms(direct:$dms)"
	echo "$out"
}

declare -A DCL DSV
for scen in $SCENARIOS; do
	for size in $SIZES; do
		run_case 127.0.0.1:9100 "$scen" "$size"
		DCL[$scen.$size]=$CL
		DSV[$scen.$size]=$SV
		[ -n "$CL" ] && [ -n "$SV" ] || not_ok "direct $scen $size: both ends report"
	done
done
ok "direct runs: $(echo $SCENARIOS | wc -w) scenarios x $(echo $SIZES | wc -w) sizes"

for engine in sockmap splice; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || { not_ok "$engine: starts"; continue; }
	sleep 0.2
	fds0=$(ls /proc/"$SMX_PID"/fd | wc -l)
	for scen in $SCENARIOS; do
		bad=""
		for size in $SIZES; do
			run_case 127.0.0.1:8443 "$scen" "$size"
			d=$(compare "$scen" "$size" "${DCL[$scen.$size]}" "${DSV[$scen.$size]}")
			if [ -n "$d" ]; then
				bad+=" [$size:$d]"
				diag "$engine $scen $size direct: ${DCL[$scen.$size]} | ${DSV[$scen.$size]}"
				diag "$engine $scen $size sockmux: $CL | $SV"
			fi
		done
		check "$engine: $scen as directly (sizes $SIZES)$bad" test -z "$bad"
	done
	n=$(echo $SCENARIOS | wc -w)
	n=$((n * $(echo $SIZES | wc -w)))
	wait_for "$SMX_LOG" "conn=$n " 5
	check "$engine: every connection carried, none ended by a hand-off failure" \
		sh -c "! grep -q 'end=internal_error' '$SMX_LOG'"
	if [ "$engine" = sockmap ]; then
		# a peer that sent its FIN before the hand-off cannot enter a sockmap: splice carries it
		line=$(conn_lines | grep -m1 'engine=splice')
		check "sockmap: a connection refused by the sockmap is carried by splice, and logged so" \
			test -n "$line"
		check "sockmap: the rest is carried by the sockmap" \
			sh -c "grep -q 'engine=sockmap ' '$SMX_LOG'"
	fi
	sleep 0.5
	fds1=$(ls /proc/"$SMX_PID"/fd | wc -l)
	check "$engine: no descriptor leaked over $n connections ($fds0 before, $fds1 after)" \
		test "$fds1" -le "$fds0"
	if [ "$engine" = sockmap ]; then
		check "sockmap: no map entry left (peer_of $(smx_map_entries peer_of))" \
			test "$(smx_map_entries peer_of)" = 0
	fi
	stop_sockmux "$engine"
done
