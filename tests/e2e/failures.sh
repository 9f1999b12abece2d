#!/bin/bash
# SPDX-License-Identifier: MIT
# failures.sh - bad connections are closed and logged with the right reason, and the daemon
# keeps serving everyone else, with either engine: refused backend, backend that never
# answers (connect timeout), a hello never finished (whole-handshake timeout, even when
# bytes keep trickling in), not TLS without a default route, no matching route, a malformed
# hello, a client reset passed on to the backend; and no descriptor or map entry leaks.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

cat >"$T_DIR/smx.conf" <<CONF
listen = ( { address = "127.0.0.1:8443"; } );
timeouts = { handshake_ms = 400; connect_ms = 300; };
backends = {
  good    = { address = "127.0.0.1:9001"; };
  refused = { address = "127.0.0.1:9009"; };
  silent  = { address = "127.0.0.1:9010"; };
};
routes = (
  { sni = [ "good.example.org" ]; backend = "good"; },
  { sni = [ "refused.example.org" ]; backend = "refused"; },
  { sni = [ "silent.example.org" ]; backend = "silent"; }
);
CONF

start_peer_server 127.0.0.1:9001 good || not_ok "peer good starts"
start_peer_server 127.0.0.1:9010 silent --no-accept || not_ok "peer silent starts"
# fill the silent backend's accept queue, so sockmux's SYNs go unanswered
exec 7<>/dev/tcp/127.0.0.1/9010

# last_line: sockmux's newest connection log line (waits briefly for it to appear)
last_line() {
	local want=$1 i
	for ((i = 0; i < 40; i++)); do
		[ "$(conn_lines | wc -l)" -ge "$want" ] && break
		sleep 0.05
	done
	conn_lines | sed -n "${want}p"
}

for engine in sockmap sockmap-now splice; do
	start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" || { not_ok "$engine: starts"; continue; }
	fds0=$(ls /proc/"$SMX_PID"/fd | wc -l)
	n=0

	"$PEER" client --connect 127.0.0.1:8443 --sni refused.example.org --hold-ms 2000 \
		>"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	check "$engine: refused backend: client closed" grep -q closed_after "$T_DIR/out"
	check "$engine: refused backend: logged end=connect_refused" \
		test "$(field "$line" end)" = connect_refused

	"$PEER" client --connect 127.0.0.1:8443 --sni silent.example.org --hold-ms 3000 \
		>"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	ms=$(grep -oE 'closed_after_ms=[0-9]+' "$T_DIR/out" | cut -d= -f2)
	check "$engine: silent backend: closed after connect_ms ($ms ms)" \
		test "${ms:-0}" -ge 250 -a "${ms:-9999}" -lt 1500
	check "$engine: silent backend: logged end=connect_timeout" \
		test "$(field "$line" end)" = connect_timeout

	"$PEER" client --connect 127.0.0.1:8443 --sni good.example.org --hello-truncate 30 \
		--hold-ms 3000 >"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	ms=$(grep -oE 'closed_after_ms=[0-9]+' "$T_DIR/out" | cut -d= -f2)
	check "$engine: unfinished hello: closed after handshake_ms ($ms ms)" \
		test "${ms:-0}" -ge 350 -a "${ms:-9999}" -lt 1500
	check "$engine: unfinished hello: logged end=handshake_timeout" \
		test "$(field "$line" end)" = handshake_timeout

	# one byte every 50 ms: the timeout bounds the whole handshake, not the gaps
	"$PEER" client --connect 127.0.0.1:8443 --sni good.example.org --drip-ms 50 \
		--hold-ms 3000 >"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	ms=$(grep -oE 'closed_after_ms=[0-9]+' "$T_DIR/out" | cut -d= -f2)
	check "$engine: trickled hello: closed after handshake_ms in all ($ms ms)" \
		test "${ms:-0}" -ge 350 -a "${ms:-9999}" -lt 1500
	check "$engine: trickled hello: logged end=handshake_timeout" \
		test "$(field "$line" end)" = handshake_timeout

	printf 'GET / HTTP/1.0\r\nHost: good.example.org\r\n\r\n' >"$T_DIR/http.bin"
	"$PEER" client --connect 127.0.0.1:8443 --hello-file "$T_DIR/http.bin" --hold-ms 2000 \
		>"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	check "$engine: an HTTP request, no route for it: logged end=no_route protocol=http" \
		test "$(field "$line" end)" = no_route -a "$(field "$line" protocol)" = http

	"$PEER" client --connect 127.0.0.1:8443 --sni nowhere.example.net --hold-ms 2000 \
		>"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	check "$engine: unknown SNI, no default route: logged end=no_route with the SNI" \
		test "$(field "$line" end)" = no_route -a "$(field "$line" sni)" = nowhere.example.net

	# a record claiming a 20000-byte handshake message: over the 16 KiB cap
	printf '\x16\x03\x01\x4e\x24\x01\x00\x4e\x20' >"$T_DIR/bad.bin"
	"$PEER" client --connect 127.0.0.1:8443 --hello-file "$T_DIR/bad.bin" --hold-ms 2000 \
		>"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	check "$engine: oversize hello: closed at once" grep -q closed_after "$T_DIR/out"
	check "$engine: oversize hello: logged end=bad_hello" test "$(field "$line" end)" = bad_hello

	# client resets mid-transfer: the backend sees the reset too
	fails0=$(grep -c FAIL "$T_DIR/peer-good.log")
	"$PEER" client --connect 127.0.0.1:8443 --sni good.example.org --up 2000000 --down 0 \
		--rst >"$T_DIR/out" 2>&1
	n=$((n + 1)); line=$(last_line $n)
	check "$engine: client reset: logged end=reset" test "$(field "$line" end)" = reset
	for ((i = 0; i < 60; i++)); do
		[ "$(grep -c FAIL "$T_DIR/peer-good.log")" -gt "$fails0" ] && break
		sleep 0.05
	done
	check "$engine: client reset reaches the backend" \
		test "$(grep -c FAIL "$T_DIR/peer-good.log")" -gt "$fails0"

	"$PEER" client --connect 127.0.0.1:8443 --sni good.example.org --up 100000 \
		--down 100000 --expect-tag good >"$T_DIR/out" 2>&1
	check "$engine: after all that, a good client is still served" test $? = 0
	n=$((n + 1)); last_line $n >/dev/null

	check "$engine: one log line per connection ($n)" test "$(conn_lines | wc -l)" = "$n"
	fds1=$(ls /proc/"$SMX_PID"/fd | wc -l)
	check "$engine: no descriptor leaked ($fds0 before, $fds1 after)" test "$fds0" = "$fds1"
	if [ "${engine%-now}" = sockmap ]; then
		check "$engine: no map entry leaked" \
			test "$(smx_map_entries peer_of)" = 0
	fi
	stop_sockmux "$engine"
done
