#!/bin/bash
# SPDX-License-Identifier: MIT
# source.sh - `source = [ ... ]` on a backend or a server (issue 13): each connection to the
# server comes from one of the listed local addresses, in turn, with IP_BIND_ADDRESS_NO_PORT,
# so that one backend address takes more connections than one local address has ports. On
# both engines, with two workers, all on this namespace's lo:
#
#   servers 198.18.0.1, [2001:db8::1]      sources 198.18.0.2, .3, 2001:db8::2, ::3
#
#  - `sockmux check` prints each backend's list (per server where they differ) and refuses a
#    transparent server with a list, and a list without an address of the server's family;
#  - a Python server printing getpeername() sees SMX_SOURCE_CONNS connections come from each
#    listed address of the server's family in equal shares (the other family skipped), IPv4
#    and IPv6, and a server's own list over the backend's; the log line says source=...;
#  - an address removed from the host while the daemon runs: the connections go from the
#    other one, none lost; every address removed: the connection fails with its reason;
#  - the headline: net.ipv4.ip_local_port_range narrowed to 200 ports, SMX_SOURCE_HOLD (350)
#    connections held open to one server address with two sources are all established and
#    answered; with one source, exactly the first 200 are, the others end as connect_error
#    "out of ports" in the log, the daemon keeps serving, and a list with that exhausted
#    address and another reaches the same server from the other one;
#  - health checks go from the listed addresses too; a reload's new list applies to new
#    connections; `user = "nobody"` binds them all the same.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

WHOAMI=$SMX_TOP/tests/tools/smx-whoami.py
IDLE=$SMX_TOP/.output/tests/smx-idle
N=${SMX_SOURCE_CONNS:-200}
HOLD=${SMX_SOURCE_HOLD:-350}
PORTS=200
CONF=$T_DIR/smx.conf
CLIENTS=127.0.0.10,127.0.0.11,127.0.0.12,127.0.0.13

for tool in python3 ss; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
[ -x "$IDLE" ] || { echo "1..0 # SKIP $IDLE is not built (make tools)"; exit 0; }

ip addr add 198.18.0.1/32 dev lo && ip addr add 198.18.0.2/32 dev lo &&
	ip addr add 198.18.0.3/32 dev lo && ip addr add 2001:db8::1/128 dev lo nodad &&
	ip addr add 2001:db8::2/128 dev lo nodad && ip addr add 2001:db8::3/128 dev lo nodad
check "server and source addresses on lo" test $? = 0

bg "$T_DIR/whoami.log" python3 "$WHOAMI" serve W 198.18.0.1:9000 "[2001:db8::1]:9000"
wait_for "$T_DIR/whoami.log" 'listening W \[' 5 && wait_for "$T_DIR/whoami.log" 'listening W 1' 5
check "whoami server listens on 198.18.0.1:9000 and [2001:db8::1]:9000" test $? = 0
# the health-checked backend's server: only checks reach it
bg "$T_DIR/whoami-hc.log" python3 "$WHOAMI" serve H 198.18.0.1:9010
wait_for "$T_DIR/whoami-hc.log" 'listening H' 5 || not_ok "whoami server on 198.18.0.1:9010"

# write_conf FILE BASE [V4_SOURCES] [EXTRA]: the backends, the held ones on ports BASE, BASE+1
write_conf() {
	local v4=${3:-'"198.18.0.2", "2001:db8::2", "198.18.0.3"'}
	cat >"$1" <<CONF
listen = (
  { address = "127.0.0.1:8501"; name = "v4"; },
  { address = "127.0.0.1:8502"; name = "v6"; },
  { address = "127.0.0.1:8503"; name = "mix"; },
  { address = "127.0.0.1:8504"; name = "two"; },
  { address = "127.0.0.1:8505"; name = "one"; },
  { address = "127.0.0.1:8506"; name = "hc"; },
  { address = "127.0.0.1:8507"; name = "spill"; }
);
workers = 2;
control = "";
backends = {
  v4  = { address = "198.18.0.1:9000";
          source = [ $v4 ]; };
  v6  = { address = "[2001:db8::1]:9000"; source = [ "2001:db8::2", "198.18.0.2", "2001:db8::3" ]; };
  mix = { servers = ( { address = "198.18.0.1:9000"; },
                      { address = "[2001:db8::1]:9000"; source = [ "2001:db8::3" ]; } );
          source = [ "198.18.0.3" ]; };
  two = { address = "198.18.0.1:$2"; source = [ "198.18.0.2", "198.18.0.3" ]; };
  one = { address = "198.18.0.1:$(($2 + 1))"; source = [ "198.18.0.2" ]; };
  spill = { address = "198.18.0.1:$(($2 + 1))"; source = [ "198.18.0.2", "198.18.0.3" ]; };
  hc  = { address = "198.18.0.1:9010"; source = [ "198.18.0.2", "198.18.0.3" ];
          health = { interval_ms = 250; }; };
};
routes = (
  { listener = [ "v4" ]; backend = "v4"; },
  { listener = [ "v6" ]; backend = "v6"; },
  { listener = [ "mix" ]; backend = "mix"; },
  { listener = [ "two" ]; backend = "two"; },
  { listener = [ "one" ]; backend = "one"; },
  { listener = [ "hc" ]; backend = "hc"; },
  { listener = [ "spill" ]; backend = "spill"; }
);
$4
CONF
	chmod 644 "$1"
}

# --- check: what it prints, what it refuses ------------------------------------------------
write_conf "$CONF" 9100
# line_of TEXT: the line of CONF holding TEXT
line_of() { grep -nF "$1" "$CONF" | head -n 1 | cut -d: -f1; }
"$SOCKMUX" check -c "$CONF" >"$T_DIR/check.out" 2>&1
check "check accepts the file" test $? = 0
check "check prints a backend's list in file order, both families" \
	grep -q "^  v4 198.18.0.1:9000 source=198.18.0.2,2001:db8::2,198.18.0.3 (line $(line_of 'v4  = {'))$" \
	"$T_DIR/check.out"
check "check prints each server's list where they differ (the backend's, the server's own)" \
	grep -q " balance=round_robin retries=1 source=198.18.0.3|2001:db8::3 (line $(line_of 'mix = {'))$" \
	"$T_DIR/check.out"
sed -e 's/source = \[ "2001:db8::3" \];/source = [ "198.18.0.2" ];/' "$CONF" >"$T_DIR/bad1.conf"
"$SOCKMUX" check -c "$T_DIR/bad1.conf" >"$T_DIR/bad1.out" 2>&1
check "check refuses a list without an address of the server's family, naming file and line" \
	grep -q "^$T_DIR/bad1.conf:$(line_of 'source = [ "2001:db8::3" ]'): backends.mix.servers.\[1\].source: no IPv6 address for server \[2001:db8::1\]:9000" \
	"$T_DIR/bad1.out"
sed -e 's/{ address = "198.18.0.1:9000"; },/{ address = "198.18.0.1:9000"; transparent = true; },/' \
	"$CONF" >"$T_DIR/bad2.conf"
"$SOCKMUX" check -c "$T_DIR/bad2.conf" >"$T_DIR/bad2.out" 2>&1
check "check refuses a transparent server with a source list, at its transparent key" \
	grep -q "^$T_DIR/bad2.conf:$(line_of '"198.18.0.1:9000"; },'): backends.mix.servers.\[0\].transparent: server 198.18.0.1:9000: transparent connects from the client's address, source from listed ones" \
	"$T_DIR/bad2.out"

# --- per engine ----------------------------------------------------------------------------
sysctl -q -w net.ipv4.ip_local_port_range="20000 $((20000 + PORTS - 1))"
check "this namespace's ephemeral ports narrowed to $PORTS" \
	test "$(sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')" = "20000 $((20000 + PORTS - 1))"

# count LISTENER N: N connections one after the other through sockmux, each told its peer;
# the peers the whoami server saw for them in PEERS (one address a line)
count() {
	local before
	before=$(wc -l <"$T_DIR/whoami.log")
	COUNT=$(python3 "$WHOAMI" count "127.0.0.1:$1" "$2" --expect '*' 2>&1)
	sleep 0.2
	PEERS=$(tail -n +"$((before + 1))" "$T_DIR/whoami.log" | awk '$1 == "conn" { print $3 }')
}
# peers ADDR: how many of PEERS are ADDR
peers() { grep -cxF "$1" <<<"$PEERS"; }
# logged BACKEND ADDR: the log lines of BACKEND's connections from ADDR
logged() { conn_lines | grep " backend=$1 " | grep -c " source=$2 "; }
# apart A B: how far A and B are (round robin per server, across both workers: 0)
apart() { echo $(($1 > $2 ? $1 - $2 : $2 - $1)); }

base=9098
for engine in sockmap splice; do
	base=$((base + 2))
	write_conf "$CONF" "$base"
	bg "$T_DIR/idle-$base.log" "$IDLE" server --listen "198.18.0.1:$base"
	bg "$T_DIR/idle-$((base + 1)).log" "$IDLE" server --listen "198.18.0.1:$((base + 1))"
	wait_for "$T_DIR/idle-$base.log" '^listening' 5 &&
		wait_for "$T_DIR/idle-$((base + 1)).log" '^listening' 5 ||
		not_ok "$engine: echo servers on 198.18.0.1:$base and $((base + 1))"
	if ! start_sockmux "$CONF" "$engine" "smx-$engine"; then
		not_ok "$engine: sockmux starts"
		continue
	fi

	# health checks go from the source addresses too (HAProxy's checks use `source` alike)
	before=$(wc -l <"$T_DIR/whoami-hc.log")
	sleep 1.5
	hc=$(tail -n +"$((before + 1))" "$T_DIR/whoami-hc.log" | awk '$1 == "conn" { print $3 }')
	a=$(grep -cxF 198.18.0.2 <<<"$hc")
	b=$(grep -cxF 198.18.0.3 <<<"$hc")
	check "$engine: health checks come from 198.18.0.2 ($a) and 198.18.0.3 ($b) in turn, from nowhere else" \
		test "$a" -ge 2 -a "$(apart "$a" "$b")" -le 1 -a $((a + b)) = "$(grep -c . <<<"$hc")"

	count 8501 "$N"
	a=$(peers 198.18.0.2)
	b=$(peers 198.18.0.3)
	check "$engine: IPv4: $N connections answered ($COUNT)" grep -q "^ok=$N wrong=0 failed=0" <<<"$COUNT"
	check "$engine: IPv4: the server saw them from 198.18.0.2 ($a) and 198.18.0.3 ($b) in turn, none from elsewhere" \
		test "$(apart "$a" "$b")" -le 2 -a $((a + b)) = "$N"
	check "$engine: IPv4: the log lines say source= as the server saw it" \
		test "$(logged v4 198.18.0.2)" = "$a" -a "$(logged v4 198.18.0.3)" = "$b"
	diag "$engine: $(conn_lines | grep ' backend=v4 ' | tail -n 1)"

	count 8502 "$N"
	a=$(peers 2001:db8::2)
	b=$(peers 2001:db8::3)
	check "$engine: IPv6: $N connections answered ($COUNT)" grep -q "^ok=$N wrong=0 failed=0" <<<"$COUNT"
	check "$engine: IPv6: the server saw them from 2001:db8::2 ($a) and 2001:db8::3 ($b) in turn, the IPv4 source skipped" \
		test "$(apart "$a" "$b")" -le 2 -a $((a + b)) = "$N"
	check "$engine: IPv6: the log lines say source=" \
		test "$(logged v6 2001:db8::2)" = "$a" -a "$(logged v6 2001:db8::3)" = "$b"

	count 8503 "$N"
	a=$(peers 198.18.0.3)
	b=$(peers 2001:db8::3)
	check "$engine: a server's own list wins: $N connections from the backend's 198.18.0.3 ($a) and the IPv6 server's own 2001:db8::3 ($b)" \
		test "$(grep -c "^ok=$N wrong=0 failed=0" <<<"$COUNT")" = 1 -a $((a + b)) = "$N" \
		-a "$a" -gt 0 -a "$b" -gt 0

	# an address gone from the host: the other one takes every connection
	ip addr del 198.18.0.3/32 dev lo
	fails0=$(conn_lines | grep -c ' end=connect_error')
	count 8501 "$N"
	a=$(peers 198.18.0.2)
	check "$engine: 198.18.0.3 removed from the host: $N connections answered ($COUNT), all from 198.18.0.2 ($a)" \
		test "$(grep -c "^ok=$N wrong=0 failed=0" <<<"$COUNT")" = 1 -a "$a" = "$N"
	check "$engine: ... and none failed on the way" \
		test "$(conn_lines | grep -c ' end=connect_error')" = "$fails0"
	ip addr del 198.18.0.2/32 dev lo
	count 8501 4
	line=$(conn_lines | grep ' backend=v4 ' | tail -n 1)
	diag "$engine: $line"
	check "$engine: every IPv4 source gone: the connections fail ($COUNT), logged as connect_error with the reason" \
		test "$(grep -c '^ok=0 wrong=0 failed=4\|^ok=0 wrong=4 failed=0' <<<"$COUNT")" = 1 \
		-a "$(field "$line" end)" = connect_error \
		-a "$(grep -c 'detail="source: no address of the server.s family can be bound' <<<"$line")" = 1
	ip addr add 198.18.0.2/32 dev lo && ip addr add 198.18.0.3/32 dev lo
	count 8501 10
	check "$engine: addresses back: served again ($COUNT)" grep -q '^ok=10 wrong=0 failed=0' <<<"$COUNT"

	# the headline: more connections to one server address than one source has ports
	bg "$T_DIR/hold2-$engine.log" "$IDLE" hold --connect 127.0.0.1:8504 --sni idle.example \
		--count "$HOLD" --sources "$CLIENTS" --parallel 100 --timeout-s 60
	hold=$BG_PID
	wait_for "$T_DIR/hold2-$engine.log" '^held=' 70
	diag "$engine: two sources: $(head -n 1 "$T_DIR/hold2-$engine.log")"
	check "$engine: two sources, $PORTS ports each: $HOLD connections to 198.18.0.1:$base held" \
		grep -q "^held=$HOLD failed=0 " "$T_DIR/hold2-$engine.log"
	a=$(ss -Htn state established src 198.18.0.2 dst "198.18.0.1:$base" | wc -l)
	b=$(ss -Htn state established src 198.18.0.3 dst "198.18.0.1:$base" | wc -l)
	check "$engine: ... established from 198.18.0.2 ($a) and 198.18.0.3 ($b), each within its $PORTS ports" \
		test $((a + b)) = "$HOLD" -a "$a" -le "$PORTS" -a "$b" -le "$PORTS"
	kill -USR1 "$hold"
	wait_for "$T_DIR/hold2-$engine.log" '^answered=' 30
	check "$engine: ... and every one answers both ways ($(grep '^answered=' "$T_DIR/hold2-$engine.log"))" \
		grep -q "^answered=$HOLD of $HOLD " "$T_DIR/hold2-$engine.log"
	stop_pid "$hold"
	check "$engine: ... the holding client saw all of them held and answered" test $? = 0

	fails0=$(conn_lines | grep -c ' backend=one .* end=connect_error')
	bg "$T_DIR/hold1-$engine.log" "$IDLE" hold --connect 127.0.0.1:8505 --sni idle.example \
		--count "$HOLD" --sources "$CLIENTS" --parallel 100 --timeout-s 60
	hold=$BG_PID
	wait_for "$T_DIR/hold1-$engine.log" '^held=' 70
	diag "$engine: one source: $(head -n 1 "$T_DIR/hold1-$engine.log")"
	check "$engine: one source: exactly $PORTS of $HOLD held (its port range), the others refused" \
		grep -q "^held=$PORTS failed=$((HOLD - PORTS)) " "$T_DIR/hold1-$engine.log"
	sleep 0.3
	line=$(conn_lines | grep ' backend=one .* end=connect_error' | tail -n 1)
	diag "$engine: $line"
	check "$engine: ... each refused one logged as connect_error, out of ports" \
		test "$(($(conn_lines | grep -c ' backend=one .* end=connect_error') - fails0))" = \
		"$((HOLD - PORTS))" \
		-a "$(grep -c 'detail="source: every address of the server.s family is out of ports' <<<"$line")" = 1
	count 8501 20
	check "$engine: ... while the daemon keeps serving others ($COUNT)" \
		grep -q '^ok=20 wrong=0 failed=0' <<<"$COUNT"
	# 198.18.0.2 has no port left towards that server: a list with it goes on to the next
	bg "$T_DIR/spill-$engine.log" "$IDLE" hold --connect 127.0.0.1:8507 --sni idle.example \
		--count 100 --sources "$CLIENTS" --parallel 100 --timeout-s 60
	spill=$BG_PID
	wait_for "$T_DIR/spill-$engine.log" '^held=' 70
	sleep 0.3
	b=$(ss -Htn state established src 198.18.0.3 dst "198.18.0.1:$((base + 1))" | wc -l)
	check "$engine: ... then a list [ 198.18.0.2, 198.18.0.3 ] to the same server: 100 more held, every one from 198.18.0.3 ($b), none refused" \
		test "$(grep -c '^held=100 failed=0 ' "$T_DIR/spill-$engine.log")" = 1 -a "$b" = 100
	stop_pid "$spill"
	kill -USR1 "$hold"
	wait_for "$T_DIR/hold1-$engine.log" '^answered=' 30
	check "$engine: ... and the $PORTS held still answer ($(grep '^answered=' "$T_DIR/hold1-$engine.log"))" \
		grep -q "^answered=$PORTS of $PORTS " "$T_DIR/hold1-$engine.log"
	stop_pid "$hold"

	# a reload: the new list for new connections
	write_conf "$CONF" "$base" '"198.18.0.3"'
	kill -HUP "$SMX_PID"
	wait_for "$SMX_LOG" 'reload: .*configuration 2:' 5
	sleep 0.3
	count 8501 20
	a=$(peers 198.18.0.3)
	check "$engine: after a reload to source = [ \"198.18.0.3\" ]: 20 connections, all from it ($a)" \
		test "$(grep -c '^ok=20 wrong=0 failed=0' <<<"$COUNT")" = 1 -a "$a" = 20

	check "$engine: none ended as internal_error" sh -c "! grep -q 'end=internal_error' '$SMX_LOG'"
	stop_sockmux "$engine"
done

# --- privilege drop: binding the host's own addresses needs no capability -------------------
if id nobody >/dev/null 2>&1; then
	chmod 755 "$T_DIR"
	write_conf "$CONF" 9100 "" 'user = "nobody";'
	if start_sockmux "$CONF" splice smx-nobody; then
		check "user = nobody: running as nobody" grep -q 'running as user nobody' "$SMX_LOG"
		count 8501 50
		a=$(peers 198.18.0.2)
		b=$(peers 198.18.0.3)
		check "user = nobody: 50 connections answered ($COUNT), from 198.18.0.2 ($a) and 198.18.0.3 ($b)" \
			test "$(grep -c '^ok=50 wrong=0 failed=0' <<<"$COUNT")" = 1 \
			-a $((a + b)) = 50 -a "$a" -gt 0 -a "$b" -gt 0
		stop_sockmux "user = nobody"
	else
		not_ok "user = nobody: sockmux starts"
	fi
else
	echo "ok $((T_N += 1)) # SKIP no user nobody"
fi
