# SPDX-License-Identifier: MIT
# fault_lib.sh - running one smx-fault scenario and judging it against the direct run (the
# oracle), shared by tests/e2e/faults.sh and tools/soak/fault-soak.sh. Sourced after lib.sh
# (it uses field and wait_for).

FAULT=${FAULT:-$SMX_TOP/.output/tests/smx-fault}

# run_case CONNECT SCENARIO SIZE [ARGS...]: one run of smx-fault, its server on FAULT_SERVER
# (default 127.0.0.1:9100), files in FAULT_DIR (default $T_DIR); ARGS go to both ends
# (--at, --read-rate), CLIENT_ARGS to the client only (--bind). Sets CL and SV to the lines
# the client and the server printed.
run_case() {
	local connect=$1 scen=$2 size=$3 spid i dir=${FAULT_DIR:-$T_DIR}
	shift 3
	: >"$dir/srv.out"
	"$FAULT" server --listen "${FAULT_SERVER:-127.0.0.1:9100}" --scenario "$scen" \
		--size "$size" "$@" >"$dir/srv.out" 2>"$dir/srv.err" &
	spid=$!
	wait_for "$dir/srv.out" '^listening' 5
	# kill -9 scenarios end one of them by SIGKILL: keep bash's job report out of the log
	{ timeout 30 "$FAULT" client --connect "$connect" --scenario "$scen" --size "$size" \
		"$@" ${CLIENT_ARGS:-} >"$dir/cli.out" 2>"$dir/cli.err"; } 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$spid" 2>/dev/null
	{ wait "$spid"; } 2>/dev/null
	CL=$(grep '^role=client' "$dir/cli.out" | tail -n 1)
	SV=$(grep '^role=server' "$dir/srv.out" | tail -n 1)
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

