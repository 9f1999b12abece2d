#!/bin/bash
# SPDX-License-Identifier: MIT
# fault-soak.sh [ROUNDS] [LANES] - random faults through both engines at once, each judged
# against the same case run directly (the oracle, tests/e2e/fault_lib.sh): in every round each
# of LANES concurrent lanes picks a smx-fault scenario (resets of either end at a random
# point, half-closes, kill -9, a reply then a reset, ...), a size from 1 B to 64 MiB, a random
# fault point, sometimes a slow reader, and an engine; some rounds reload both daemons in the
# middle. Ends with the count of bad cases and the descriptor growth of each daemon, which
# must both be 0. Not part of `make test` (`make soak`); runs in a private network namespace.
# SMX_SOAK_ENGINE=sockmap-now: the sockmap daemon takes each connection at its hand-off.
. "$(dirname "$0")/../../tests/e2e/lib.sh"
e2e_init "$@"
. "$SMX_TOP/tests/e2e/fault_lib.sh"
ROUNDS=${1:-20}
LANES=${2:-4}
SIZES=(1 16 1000 65536 1048576 16777216 67108864)
SCENARIOS=($("$FAULT" list))
RANDOM=${SMX_SOAK_SEED:-$$}
diag "fault-soak: $ROUNDS rounds, $LANES lanes, seed $RANDOM"

# one listener per engine; each lane's client comes from its own 127.0.1.L and is routed by
# source to its own server
conf() {
	local l
	echo "listen = ( { address = \"127.0.0.1:$1\"; } );"
	echo "control = \"\";"
	echo "backends = {"
	for ((l = 1; l <= LANES; l++)); do
		echo "  lane$l = { address = \"127.0.0.1:$((9200 + l))\"; };"
	done
	echo "};"
	echo "routes = ("
	for ((l = 1; l <= LANES; l++)); do
		echo "  { source = [ \"127.0.1.$l/32\" ]; backend = \"lane$l\"; },"
	done
	echo "  { backend = \"lane1\"; }"
	echo ");"
}
conf 8443 >"$T_DIR/sockmap.conf"
conf 8444 >"$T_DIR/splice.conf"
start_sockmux "$T_DIR/sockmap.conf" "${SMX_SOAK_ENGINE:-sockmap}" smx-sockmap || { not_ok "sockmap daemon starts"; exit 1; }
PID_SOCKMAP=$SMX_PID
start_sockmux "$T_DIR/splice.conf" splice smx-splice || { not_ok "splice daemon starts"; exit 1; }
PID_SPLICE=$SMX_PID
sleep 0.3
fds() { ls /proc/"$1"/fd | wc -l; }
FDS_SOCKMAP=$(fds $PID_SOCKMAP)
FDS_SPLICE=$(fds $PID_SPLICE)

# lane L: one random case, direct then through sockmux; a line in $T_DIR/lane$L.res
lane() {
	local l=$1 scen size at args=() port engine d
	scen=${SCENARIOS[RANDOM % ${#SCENARIOS[@]}]}
	size=${SIZES[RANDOM % ${#SIZES[@]}]}
	at=$(((RANDOM * 32768 + RANDOM) % (size + 1)))
	args=(--at "$at")
	# a slow reader a third of the time: about two seconds for the whole transfer
	if ((RANDOM % 3 == 0)); then
		args+=(--read-rate $((size / 2 > 65536 ? size / 2 : 65536)))
	fi
	if ((RANDOM % 2)); then engine=sockmap; port=8443; else engine=splice; port=8444; fi
	mkdir -p "$T_DIR/l$l"
	export FAULT_DIR=$T_DIR/l$l FAULT_SERVER=127.0.0.1:$((9200 + l))
	export CLIENT_ARGS="--bind 127.0.1.$l:0"
	run_case "127.0.0.1:$((9200 + l))" "$scen" "$size" "${args[@]}"
	local dcl=$CL dsv=$SV
	run_case "127.0.0.1:$port" "$scen" "$size" "${args[@]}"
	d=$(compare "$scen" "$size" "$dcl" "$dsv")
	if [ -n "$d" ]; then
		echo "BAD $engine $scen size=$size ${args[*]}:$d | direct: $dcl | $dsv | sockmux: $CL | $SV"
	else
		echo "ok $engine $scen size=$size ${args[*]}"
	fi >"$T_DIR/lane$l.res"
}

bad=0
cases=0
for ((r = 1; r <= ROUNDS; r++)); do
	pids=()
	for ((l = 1; l <= LANES; l++)); do
		RANDOM=$((RANDOM + l))
		lane "$l" &
		pids+=($!)
	done
	if ((r % 3 == 0)); then
		sleep 0.$((RANDOM % 9 + 1))
		kill -HUP "$PID_SOCKMAP" "$PID_SPLICE"
	fi
	for p in "${pids[@]}"; do wait "$p"; done
	for ((l = 1; l <= LANES; l++)); do
		cases=$((cases + 1))
		res=$(cat "$T_DIR/lane$l.res" 2>/dev/null)
		case $res in
		ok*) ;;
		*) bad=$((bad + 1)); diag "round $r lane $l: ${res:-no result}" ;;
		esac
	done
	diag "round $r: $cases cases, $bad bad"
done
sleep 1
grow_sockmap=$(($(fds $PID_SOCKMAP) - FDS_SOCKMAP))
grow_splice=$(($(fds $PID_SPLICE) - FDS_SPLICE))
check "fault-soak: $cases random fault cases through both engines, $bad unlike the direct run" \
	test "$bad" = 0
check "fault-soak: descriptor growth sockmap $grow_sockmap, splice $grow_splice" \
	test "$grow_sockmap" -le 0 -a "$grow_splice" -le 0
SMX_PID=$PID_SOCKMAP SMX_LOG=$T_DIR/smx-sockmap.log stop_sockmux sockmap
SMX_PID=$PID_SPLICE SMX_LOG=$T_DIR/smx-splice.log stop_sockmux splice
