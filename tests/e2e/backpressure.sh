#!/bin/bash
# SPDX-License-Identifier: MIT
# backpressure.sh - the sockmap engine keeps the kernel memory a connection can pin bounded
# by its socket buffers when the backend reads slower than the client sends, as a direct TCP
# connection would: 1 GiB sent as fast as possible into a backend reading 4 MB/s for its first
# seconds, MemAvailable sampled meanwhile, every byte checked at the end. Then a backend that
# alternately reads and stops makes the engine switch between kernel and user-space carriage
# many times within one transfer, in both directions, with every byte checked.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

GIB=1073741824
SLOW_S=8
LIMIT_MB=${SMX_BACKPRESSURE_LIMIT_MB:-64}

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
backends = {
  slow   = { address = "127.0.0.1:9001"; };
  choppy = { address = "127.0.0.1:9002"; };
};
routes = (
  { sni = [ "choppy.example.org" ]; backend = "choppy"; },
  { backend = "slow"; }
);
CONF
start_peer_server 127.0.0.1:9001 slow --read-rate 4000000 --slow-for "$SLOW_S" ||
	not_ok "slow peer starts"
start_peer_server 127.0.0.1:9002 choppy --pause-ms 40 --burst-ms 30 || not_ok "choppy peer starts"

mem_avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# lowest_mem_kb SECONDS: the lowest MemAvailable sampled every 0.1 s for that long
lowest_mem_kb() {
	local low m end=$((SECONDS + $1))
	low=$(mem_avail_kb)
	while [ "$SECONDS" -lt "$end" ]; do
		m=$(mem_avail_kb)
		[ "$m" -lt "$low" ] && low=$m
		sleep 0.1
	done
	echo "$low"
}

start_sockmux "$T_DIR/smx.conf" sockmap || not_ok "sockmux starts"
base=$(mem_avail_kb)
"$PEER" client --connect 127.0.0.1:8443 --sni bulk.example.org --up "$GIB" --down 1000 \
	--seed 21 --expect-tag slow >"$T_DIR/c1.out" 2>&1 &
cpid=$!
low=$(lowest_mem_kb $((SLOW_S - 1)))
drop_mb=$(((base - low) / 1024))
diag "MemAvailable: $((base / 1024)) MiB before, lowest $((low / 1024)) MiB while the backend read 4 MB/s"
check "slow reader: kernel memory stayed within $LIMIT_MB MiB (dropped $drop_mb MiB)" \
	test "$drop_mb" -le "$LIMIT_MB"
wait "$cpid"
check "slow reader: 1 GiB arrived intact once the backend sped up" test $? = 0
check "slow reader: sha256 at the backend equals the client's" \
	upload_arrived "$T_DIR/c1.out" "$GIB" "$T_DIR/peer-slow.log"
sleep 0.2
line=$(conn_lines | tail -n 1)
diag "$line"
check "slow reader: the engine spilled to user space at least once" \
	test "$(field "$line" spills)" -ge 1

# both directions congested at once: the backend reads the upload slowly while the client
# reads the download slowly; neither direction may queue without bound
base=$(mem_avail_kb)
"$PEER" client --connect 127.0.0.1:8443 --sni bulk.example.org --up 536870912 --down 536870912 \
	--read-rate 4000000 --slow-for "$SLOW_S" --seed 23 --expect-tag slow >"$T_DIR/c3.out" 2>&1 &
cpid=$!
low=$(lowest_mem_kb $((SLOW_S - 1)))
drop_mb=$(((base - low) / 1024))
check "slow reader on both sides: kernel memory stayed within $LIMIT_MB MiB (dropped $drop_mb MiB)" \
	test "$drop_mb" -le "$LIMIT_MB"
wait "$cpid"
check "slow reader on both sides: 512 MiB each way arrived intact" test $? = 0
diag "$(conn_lines | tail -n 1)"

# both directions at once; the backend reads in 40 ms bursts with 40 ms pauses and sends in
# 30 ms bursts, the client sends in 25 ms bursts: congestion comes and goes many times
"$PEER" client --connect 127.0.0.1:8443 --sni choppy.example.org --up 300000000 \
	--down 300000000 --seed 22 --burst-ms 25 --expect-tag choppy >"$T_DIR/c2.out" 2>&1
rc=$?
diag "$(cat "$T_DIR/c2.out")"
check "switching: 300 MB each way arrive intact through many switches" \
	test "$rc" = 0
sleep 0.2
line=$(conn_lines | tail -n 1)
diag "$line"
check "switching: the engine switched to user space and back many times ($(field "$line" spills))" \
	test "$(field "$line" spills)" -ge 6
check "switching: each byte counted exactly once (down: 300000000 + 11-byte tag)" \
	test "$(field "$line" bytes_down)" = 300000011
stop_sockmux sockmap

# control: the same measurement on the kernel's own behaviour (no back-pressure) must see the
# memory grow, or the checks above would prove nothing
printf 'listen = ( { address = "127.0.0.1:8444"; } );\nbackends = { slow = { address = "127.0.0.1:9003"; }; };\nroutes = ( { backend = "slow"; } );\n' \
	>"$T_DIR/unbounded.conf"
start_peer_server 127.0.0.1:9003 stalled --read-rate 1000 --slow-for 4 || not_ok "stalled peer starts"
start_sockmux "$T_DIR/unbounded.conf" sockmap-unbounded smx-unbounded || not_ok "unbounded starts"
base=$(mem_avail_kb)
"$PEER" client --connect 127.0.0.1:8444 --sni bulk.example.org --up 536870912 --down 0 \
	--seed 24 >"$T_DIR/c4.out" 2>&1 &
cpid=$!
low=$(lowest_mem_kb $((3)))
drop_mb=$(((base - low) / 1024))
check "control: without back-pressure the kernel queues what the backend does not read ($drop_mb MiB)" \
	test "$drop_mb" -ge 200
wait "$cpid"
check "control: ... and the bytes still arrive" test $? = 0
stop_sockmux sockmap-unbounded
