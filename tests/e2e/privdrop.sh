#!/bin/bash
# SPDX-License-Identifier: MIT
# privdrop.sh - `user = "nobody";`, with either engine: after binding port 443 and loading
# the BPF program, the daemon runs as nobody with only CAP_NET_BIND_SERVICE left (permitted,
# effective and bounding sets) and no_new_privs, and keeps routing and splicing new
# connections (the sockmap engine's map updates need no capability on descriptors it holds);
# a reload can still add a listener below port 1024; an unknown user stops the start with
# FILE:LINE.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

if ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP no user nobody"
	exit 0
fi
NOBODY=$(id -u nobody)
CTL=$T_DIR/control.sock
CONF=$T_DIR/smx.conf
# nobody re-reads the file at a reload
chmod 755 "$T_DIR"

# write_conf LISTENERS [EXTRA]: the configuration, EXTRA appended
write_conf() {
	cat >"$CONF" <<CONF
listen = ( $1 );
backends = { a = { address = "127.0.0.1:9001"; }; };
routes = ( { backend = "a"; } );
control = "$CTL";
user = "nobody";
${2:-}
CONF
	chmod 644 "$CONF"
}

start_peer_server 127.0.0.1:9001 a || not_ok "peer a starts"

status_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

for engine in sockmap splice; do
	# the sockmap engine puts each connection's sockets into its maps at the hand-off, as
	# nobody: no take-over to wait for (a transfer both ways may keep splice's pipes busy)
	extra=
	[ "$engine" = sockmap ] && extra='sockmap_after_bytes = 0;'
	write_conf '{ address = "127.0.0.1:443"; }' "$extra"
	rm -f "$CTL"
	if ! start_sockmux "$CONF" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi
	check "$engine: the log says it runs as nobody" grep -q 'running as user nobody' "$SMX_LOG"
	uids=$(status_field "$SMX_PID" Uid)
	check "$engine: real, effective, saved and fs uid are nobody's ($uids)" \
		test "$uids" = "$NOBODY $NOBODY $NOBODY $NOBODY"
	check "$engine: no supplementary groups" test -z "$(status_field "$SMX_PID" Groups)"
	check "$engine: only CAP_NET_BIND_SERVICE is left (effective, permitted, bounding)" \
		test "$(status_field "$SMX_PID" CapEff)" = 0000000000000400 \
		-a "$(status_field "$SMX_PID" CapPrm)" = 0000000000000400 \
		-a "$(status_field "$SMX_PID" CapBnd)" = 0000000000000400 \
		-a "$(status_field "$SMX_PID" CapInh)" = 0000000000000000
	check "$engine: no_new_privs is set" test "$(status_field "$SMX_PID" NoNewPrivs)" = 1
	check "$engine: every thread runs as nobody" \
		sh -c "for t in /proc/$SMX_PID/task/*; do
			grep -q '^Uid:	$NOBODY	' \$t/status || exit 1; done"

	"$PEER" client --connect 127.0.0.1:443 --sni www.example.org --up 8000000 --down 8000000 \
		--seed 3 --expect-tag a >"$T_DIR/c.out" 2>&1
	check "$engine: a new connection is routed and carried intact" test $? = 0
	sleep 0.2
	line=$(conn_lines | tail -n 1)
	diag "$line"
	check "$engine: ... by the $engine engine, every byte counted, closed normally" \
		test "$(field "$line" engine)" = "$engine" -a "$(field "$line" end)" = closed \
		-a "$(field "$line" bytes_down)" -ge 8000000 -a "$(field "$line" bytes_up)" -ge 8000000
	if [ "$engine" = sockmap ]; then
		check "sockmap: the map is empty again (deletes worked without privileges)" \
			test "$(smx_map_entries peer_of)" = 0
	fi
	check "$engine: stats answer through the control socket" \
		sh -c "'$SOCKMUX' stats --json --control '$CTL' | grep -q '\"connections\": 1,'"

	write_conf '{ address = "127.0.0.1:443"; }, { address = "127.0.0.1:444"; }' "$extra"
	"$SOCKMUX" reload --control "$CTL" >"$T_DIR/r.out" 2>&1
	check "$engine: a reload as nobody re-reads the file" test $? = 0
	sleep 0.2
	"$PEER" client --connect 127.0.0.1:444 --sni www.example.org --up 100000 --down 100000 \
		--seed 4 --expect-tag a >/dev/null 2>&1
	check "$engine: ... and opens a new listener on port 444 (< 1024)" test $? = 0
	stop_sockmux "$engine"
done

write_conf '{ address = "127.0.0.1:443"; }'
sed -i 's/user = "nobody";/user = "no-such-user-smx";/' "$CONF"
timeout 10 "$SOCKMUX" run -c "$CONF" --engine splice >"$T_DIR/bad.log" 2>&1
rc=$?
check "an unknown user: exit 1, FILE:LINE: no such user" \
	sh -c "test $rc = 1 && grep -q 'user \"no-such-user-smx\" ($CONF:5): no such user' '$T_DIR/bad.log'"
