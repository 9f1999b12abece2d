#!/bin/bash
# SPDX-License-Identifier: MIT
# pipeswitch.sh - one connection whose directions switch between pipe and copy mid-stream,
# with the direct connection as the oracle. The splice engine takes a pipe from its worker's
# pool (at most PIPE_POOL_MAX, 32) only while a direction has bytes in flight, and copies when
# none can be had. Here one worker serves two kinds of connections at once:
#   - hogs (tests/tools/smx-pipehog.py): 40 connections that, in turns of STALL_MS, fill up
#     to a backend that does not read, so that each stalled direction keeps its pipe and all
#     32 are taken, then drain, so that every pipe goes back;
#   - the connection under test (smx-fault, fault_lib.sh): MBs paced over PACE_MS (chunks of
#     at most 64 KiB), so that each chunk finds the pool either empty (copy) or not (pipe).
# Each scenario (both ways with half-closes, a half-close either way with the other way
# flowing, resets after data either way, a reset behind an answer while the client sends)
# must end as it does directly: every byte checked against its stream, the same counts, the
# same kind of end (EOF or reset), no later than the direct run by more than a bound. The
# switch is proven per connection from its log line (copied=N switches=K: bytes copied, and
# how often a direction moved bytes otherwise than the time before; bytes through pipes are
# the rest) and for the run from `sockmux stats --json` (pipes: taken, refused, switches).
# The hogs' own bytes, which switch as well, are checked too.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

. "$(dirname "$0")/fault_lib.sh"
HOG=$SMX_TOP/tests/tools/smx-pipehog.py
HOGS=40
STALL_MS=${SMX_PIPESWITCH_STALL_MS:-250}
PACE_MS=${SMX_PIPESWITCH_PACE_MS:-2000}
SIZE=${SMX_PIPESWITCH_SIZE:-8388608}
SCENARIOS="reply_fin halfclose_client halfclose_server server_reset_down client_reset_up
server_reset_up reply_close"
CTL=$T_DIR/control.sock

cat >"$T_DIR/smx.conf" <<CONF
workers = 1;
control = "$CTL";
listen = ( { address = "127.0.0.1:8443"; name = "test"; },
           { address = "127.0.0.1:8444"; name = "hog"; } );
timeouts = { handshake_ms = 3000; connect_ms = 1000; };
backends = { srv = { address = "127.0.0.1:9100"; }; hog = { address = "127.0.0.1:9200"; }; };
routes = ( { listener = [ "hog" ]; backend = "hog"; }, { backend = "srv"; } );
CONF

jget() {
	perl -MJSON::PP -e 'my $d = decode_json(do { local $/; <STDIN> }); my $v = eval $ARGV[0];
		print defined $v ? $v : "undef"' "$2" <"$1"
}

# this namespace's own TCP buffers, small: a stalled hog fills up to its pipe with ~0.5 MB
# (with the default 4 MiB send buffers, 40 of them would need 200 MB each turn)
sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" net.ipv4.tcp_rmem="4096 65536 131072"

declare -A DCL DSV
t0=$SECONDS
for scen in $SCENARIOS; do
	run_case 127.0.0.1:9100 "$scen" "$SIZE" --pace "$PACE_MS"
	DCL[$scen]=$CL
	DSV[$scen]=$SV
	[ -n "$CL" ] && [ -n "$SV" ] || not_ok "direct $scen: both ends report"
done
ok "direct runs: $(echo $SCENARIOS | wc -w) scenarios, $SIZE bytes paced over $PACE_MS ms ($((SECONDS - t0)) s)"

start_sockmux "$T_DIR/smx.conf" splice smx-splice || { not_ok "splice: starts"; exit 1; }
sleep 0.2
fds0=$(ls /proc/"$SMX_PID"/fd | wc -l)
bg "$T_DIR/hog.out" "$HOG" run --listen 127.0.0.1:9200 --connect 127.0.0.1:8444 \
	--count $HOGS --stall-ms "$STALL_MS" --drain-ms "$STALL_MS"
HOG_PID=$BG_PID
wait_for "$T_DIR/hog.out" '^drain 0 ' 15
"$SOCKMUX" stats --json --control "$CTL" >"$T_DIR/s1.json"
check "hogs: after one stall and drain, the pool ran dry (pipes.refused $(jget "$T_DIR/s1.json" '$d->{pipes}{refused}')) and pipes went back (taken $(jget "$T_DIR/s1.json" '$d->{pipes}{taken}'))" \
	test "$(jget "$T_DIR/s1.json" '$d->{pipes}{refused}')" -gt 0 \
	-a "$(jget "$T_DIR/s1.json" '$d->{pipes}{taken}')" -gt $HOGS

n=$HOGS
for scen in $SCENARIOS; do
	run_case 127.0.0.1:8443 "$scen" "$SIZE" --pace "$PACE_MS"
	n=$((n + 1))
	wait_for "$SMX_LOG" " conn=$n " 5
	line=$(conn_lines | grep " conn=$n ")
	d=$(compare "$scen" "$SIZE" "${DCL[$scen]}" "${DSV[$scen]}")
	if [ -n "$d" ]; then
		diag "$scen direct: ${DCL[$scen]} | ${DSV[$scen]}"
		diag "$scen sockmux: $CL | $SV"
		diag "$scen log: $line"
	fi
	check "$scen: as directly while the pipes come and go$d" test -z "$d"
	copied=$(field "$line" copied)
	switches=$(field "$line" switches)
	total=$(($(field "$line" bytes_up) + $(field "$line" bytes_down)))
	check "$scen: one connection moved bytes by pipe and by copy, switching (copied=${copied:-0} of $total, switches=${switches:-0})" \
		test "${copied:-0}" -gt 0 -a "${copied:-0}" -lt "$total" -a "${switches:-0}" -ge 2
done

stop_pid "$HOG_PID"
hog=$(grep '^hog ' "$T_DIR/hog.out")
diag "$hog"
check "hogs: every byte of theirs arrived, in order, through the same switches ($hog)" \
	test -n "$hog" -a "$(field "$hog" bad)" = 0 -a "$(field "$hog" sent)" = "$(field "$hog" read)"
sleep 0.3
"$SOCKMUX" stats --json --control "$CTL" >"$T_DIR/s2.json"
p=$(jget "$T_DIR/s2.json" 'join " ", map { "$_=$d->{pipes}{$_}" } sort keys %{$d->{pipes}}')
check "stats: pipes taken, refused, copied and switched ($p)" \
	test "$(jget "$T_DIR/s2.json" '$d->{pipes}{switches}')" -gt 0 \
	-a "$(jget "$T_DIR/s2.json" '$d->{pipes}{copied_bytes}')" -gt 0
check "splice: no connection ended by an internal error" \
	sh -c "! grep -q 'end=internal_error' '$SMX_LOG'"
fds1=$(ls /proc/"$SMX_PID"/fd | wc -l)
check "splice: no descriptor leaked ($fds0 before, $fds1 after)" test "$fds1" -le "$fds0"
stop_sockmux splice
diag "run time $SECONDS s"
