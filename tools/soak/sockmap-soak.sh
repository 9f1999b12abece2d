#!/bin/bash
# SPDX-License-Identifier: MIT
# sockmap-soak.sh [ROUNDS] - hunts rare integrity faults of the sockmap engine: rounds of
# concurrent transfers under back-pressure (a slow reader, a reader and writer that stop and
# start, slow readers on both sides), every byte checked by sha256 in both directions, and
# the program's own fault counters (dup_skbs, gap_skbs) collected from the log lines.
# Runs in a private network namespace like the e2e tests; not part of `make test` (minutes).
# SMX_SOAK_ENGINE=sockmap-now: the sockets enter the sockmap at the hand-off (default sockmap:
# taken over after sockmap_after_bytes).
. "$(dirname "$0")/../../tests/e2e/lib.sh"
e2e_init "$@"
ROUNDS=${1:-20}
MIB=1048576

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = {
  slow   = { address = "127.0.0.1:9001"; };
  choppy = { address = "127.0.0.1:9002"; };
  both   = { address = "127.0.0.1:9003"; };
};
routes = (
  { sni = [ "choppy.example.org" ]; backend = "choppy"; },
  { sni = [ "both.example.org" ]; backend = "both"; },
  { backend = "slow"; }
);
CONF
start_peer_server 127.0.0.1:9001 slow --read-rate 4000000 --slow-for 3 || not_ok "slow peer"
start_peer_server 127.0.0.1:9002 choppy --pause-ms 20 --burst-ms 15 || not_ok "choppy peer"
start_peer_server 127.0.0.1:9003 both --read-rate 8000000 --slow-for 2 || not_ok "both peer"
start_sockmux "$T_DIR/smx.conf" "${SMX_SOAK_ENGINE:-sockmap}" || not_ok "sockmux starts"

bad=0
for ((r = 1; r <= ROUNDS; r++)); do
	pids=()
	"$PEER" client --connect 127.0.0.1:8443 --sni bulk.example.org --up $((256 * MIB)) \
		--down 1000 --seed $((r * 10 + 1)) --expect-tag slow >"$T_DIR/r$r-a.out" 2>&1 &
	pids+=($!)
	"$PEER" client --connect 127.0.0.1:8443 --sni choppy.example.org --up $((100 * MIB)) \
		--down $((100 * MIB)) --burst-ms 10 --seed $((r * 10 + 2)) --expect-tag choppy \
		>"$T_DIR/r$r-b.out" 2>&1 &
	pids+=($!)
	"$PEER" client --connect 127.0.0.1:8443 --sni both.example.org --up $((128 * MIB)) \
		--down $((128 * MIB)) --read-rate 8000000 --slow-for 2 --seed $((r * 10 + 3)) \
		--expect-tag both >"$T_DIR/r$r-c.out" 2>&1 &
	pids+=($!)
	names=(a b c)
	for i in 0 1 2; do
		wait "${pids[$i]}" ||
			{ bad=$((bad + 1)); diag "round $r client ${names[$i]}: $(cat "$T_DIR/r$r-${names[$i]}.out")"; }
	done
	for f in "$T_DIR"/r$r-*.out; do
		upload_arrived "$f" '[0-9]+' "$T_DIR"/peer-*.log ||
			{ bad=$((bad + 1)); diag "round $r: upload of $f corrupted"; }
	done
	diag "round $r: $(conn_lines | tail -n 3 | grep -oE '(kernel|spills|repeated_skbs)=[^ ]*' | tr '\n' ' ')"
done
faults=$(conn_lines | grep -cE 'repeated_skbs=|skipped bytes')
diag "connections where the program caught repeated bytes: $faults"
conn_lines | grep -E 'repeated_skbs=|skipped bytes' | sed 's/^/# /'
check "$ROUNDS rounds: every transfer intact ($bad bad)" test "$bad" = 0
stop_sockmux
