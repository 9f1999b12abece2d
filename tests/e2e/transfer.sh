#!/bin/bash
# SPDX-License-Identifier: MIT
# transfer.sh - bytes through both engines (and splice-copy, the splice engine with no pipe to
# be had) arrive intact: 256 MiB each way at once, a
# half-closed client that still gets its answer, an IPv6 client to an IPv4 backend and back;
# and proof that the sockmap engine really carries them (program attached, sockets in the
# map during the transfer, the kernel's redirect counters in the log line).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

BIG=${SMX_TEST_BIG:-268435456}

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; }, { address = "[::1]:8443"; } );
backends = {
  v4 = { address = "127.0.0.1:9001"; };
  v6 = { address = "[::1]:9002"; };
  slow = { address = "127.0.0.1:9003"; };
};
routes = (
  { sni = [ "v6.example.org" ]; backend = "v6"; },
  { sni = [ "slow.example.org" ]; backend = "slow"; },
  { backend = "v4"; }
);
CONF

start_peer_server 127.0.0.1:9001 v4 || not_ok "peer v4 starts"
start_peer_server "[::1]:9002" v6 || not_ok "peer v6 starts"
# reads 4 MB/s: a transfer through it lasts long enough to look inside the kernel during it
start_peer_server 127.0.0.1:9003 slow --read-rate 4000000 || not_ok "peer slow starts"


for engine in ${SMX_ENGINES:-sockmap sockmap-now splice splice-copy}; do
	if ! start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi
	ok "$engine: sockmux starts"
	check "$engine: first log line names the engine" \
		grep -q "engine: ${engine%-now}" "$SMX_LOG"

	# 256 MiB each way at once
	"$PEER" client --connect 127.0.0.1:8443 --sni www.example.org --alpn h2,http/1.1 \
		--up "$BIG" --down "$BIG" --seed 7 --expect-tag v4 >"$T_DIR/c1.out" 2>&1 &
	cpid=$!
	wait "$cpid"
	rc=$?
	diag "$(cat "$T_DIR/c1.out")"
	check "$engine: $BIG bytes each way arrive intact" test "$rc" = 0
	srv=$(grep -E "recv=$BIG " "$T_DIR/peer-v4.log" | tail -n 1)
	csent=$(grep -oE 'sent_sha256=[0-9a-f]+' "$T_DIR/c1.out" | cut -d= -f2)
	crecv=$(grep -oE 'recv_sha256=[0-9a-f]+' "$T_DIR/c1.out" | cut -d= -f2)
	check "$engine: sha256 of what the client sent equals what the backend received" \
		grep -q "recv_sha256=$csent" <<<"$srv"
	check "$engine: sha256 of what the backend sent equals what the client received" \
		grep -q "sent_sha256=$crecv" <<<"$srv"

	# half-close: the client sends, shuts down its write side, then gets the answer
	"$PEER" client --connect 127.0.0.1:8443 --sni www.example.org --up 1000000 \
		--down 3000000 --seed 8 --mode halfclose --expect-tag v4 >"$T_DIR/c2.out" 2>&1
	check "$engine: half-closed client still gets the backend's answer" test $? = 0

	# IPv6 client, IPv6 backend; IPv6 client, IPv4 backend
	"$PEER" client --connect "[::1]:8443" --sni v6.example.org --up 5000000 --down 5000000 \
		--seed 9 --expect-tag v6 >"$T_DIR/c3.out" 2>&1
	check "$engine: IPv6 client reaches IPv6 backend" test $? = 0
	"$PEER" client --connect "[::1]:8443" --sni other.example.org --up 100000 \
		--down 100000 --seed 10 --expect-tag v4 >"$T_DIR/c4.out" 2>&1
	check "$engine: IPv6 client reaches IPv4 backend" test $? = 0

	if [ "$engine" = splice ]; then
		# many directions moving at once, readers at 4 MB/s on both ends: pipes are taken
		# and given back all the time (the socket buffers of loopback absorb most bytes, so
		# the pools rarely run out here: splice-copy is what checks the copy)
		pids=()
		for ((i = 0; i < 64; i++)); do
			"$PEER" client --connect 127.0.0.1:8443 --sni slow.example.org --up 2000000 \
				--down 2000000 --read-rate 4000000 --seed $((100 + i)) \
				--expect-tag slow >"$T_DIR/m$i.out" 2>&1 &
			pids+=($!)
		done
		bad=0
		for p in "${pids[@]}"; do
			wait "$p" || bad=$((bad + 1))
		done
		check "splice: 64 slow connections at once, 2 MB each way, every one intact ($bad failed)" \
			test "$bad" = 0
		sleep 0.2
		diag "splice: $(grep -c ' copied=' "$SMX_LOG") of them copied some bytes for want of a pipe"
	fi

	if [ "${engine%-now}" = sockmap ]; then
		"$PEER" client --connect 127.0.0.1:8443 --sni slow.example.org --up 8000000 \
			--down 1000 --seed 11 --expect-tag slow >"$T_DIR/c5.out" 2>&1 &
		cpid=$!
		sleep 0.5
		n=$(smx_map_entries peer_of)
		check "$engine: both sockets in the map during a transfer ($n entries)" test "$n" = 2
		check "$engine: its verdict program is loaded as sk_skb" \
			sh -c "bpftool prog show id '$(smx_prog_id)' | grep -q sk_skb"
		wait "$cpid"
		check "$engine: transfer to a slow reader arrives intact" test $? = 0
	fi

	if [ "${engine%-now}" = sockmap ]; then
		# past 4 GiB the peer's 32-bit sequence numbers wrap: the verdict's accounting
		# (write_seq - snd_una) and the end-of-stream counts must not
		huge=${SMX_TEST_HUGE:-4831838208}
		"$PEER" client --connect 127.0.0.1:8443 --sni www.example.org --up "$huge" \
			--down 1000 --seed 12 --expect-tag v4 >"$T_DIR/c6.out" 2>&1
		check "$engine: $huge bytes (> 4 GiB) in one connection arrive intact" test $? = 0
		sleep 0.2
		hline=$(conn_lines | tail -n 1)
		diag "$hline"
		check "$engine: ... counted exactly, connection closed normally" \
			test "$(field "$hline" bytes_down)" = 1007 -a "$(field "$hline" end)" = closed \
			-a "$(field "$hline" bytes_up)" -gt "$huge"
	fi

	# the log lines: one per connection, with the bytes each way
	sleep 0.2
	line=$(conn_lines | awk -v b="$BIG" '{ for (i = 1; i <= NF; i++)
		if ($i ~ /^bytes_up=/ && substr($i, 10) + 0 >= b) print }' | head -n 1)
	diag "$line"
	check "$engine: log line counts the bytes each way and ends closed" \
		test "$(field "$line" bytes_up)" -ge "$BIG" -a "$(field "$line" bytes_down)" -ge "$BIG" \
		-a "$(field "$line" end)" = closed -a "$(field "$line" engine)" = "${engine%-*}"
	want=4
	[ "${engine%-now}" = sockmap ] && want=6
	[ "$engine" = splice ] && want=68
	check "$engine: $want connections, $want log lines" test "$(conn_lines | wc -l)" = "$want"

	if [ "${engine%-now}" = sockmap ]; then
		check "$engine: map empty once the connections ended" test "$(smx_map_entries peer_of)" = 0
	fi
	fds_before=$(ls /proc/"$SMX_PID"/fd | wc -l)
	stop_sockmux "$engine"
	diag "descriptors at stop: $fds_before"
done
