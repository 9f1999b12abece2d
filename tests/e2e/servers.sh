#!/bin/bash
# SPDX-License-Identifier: MIT
# servers.sh - backends with several servers (issue 14, first part), on both engines, with
# IPv4 and IPv6 servers mixed:
#  - round_robin shares follow the weights over 1000 connections (2:1:1, within 2 %);
#  - first: the first server that is up takes everything (1000 connections);
#  - least_conn: held connections spread by weight; short ones (ties) by weight too (1000);
#  - source_hash: 1000 client addresses spread evenly; a client address keeps its server; a
#    server going down moves only its own clients;
#  - a refused server is skipped and the client still reaches a live one with its ClientHello
#    intact (curl's TLS handshake with openssl s_server completes), the log naming the server
#    and tries=2; a server whose SYNs are dropped (nftables) costs one connect_ms;
#  - backup servers carry only while every other one is down;
#  - retries = 0: a refused server is not retried (that client fails), and is passed over
#    afterwards while down (passive check).
# Servers are small tagging peers (tests/tools/smx-balance.py) and openssl s_server.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

PY=/usr/bin/python3
BAL=("$PY" "$SMX_TOP/tests/tools/smx-balance.py")
cd "$T_DIR" || exit 1

# tagging servers: a1 a2 on IPv4, a3 on IPv6, b on IPv4 (backup), c1 c2 for source_hash
bg "$T_DIR/servers.log" "${BAL[@]}" serve a1=127.0.0.1:9101 a2=127.0.0.1:9102 a3=[::1]:9103 \
	b1=127.0.0.1:9111
SERVERS_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c listening "$T_DIR/servers.log")" = 4 ] && break
	sleep 0.05
done
bg "$T_DIR/hash.log" "${BAL[@]}" serve h1=127.0.0.1:9121 h2=127.0.0.1:9122 h3=[::1]:9123
HASH_PID=$BG_PID
# TLS: openssl s_server with a self-signed certificate
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
	-subj /CN=tls.example.org >/dev/null 2>&1
bg "$T_DIR/tls.log" openssl s_server -accept 9131 -cert cert.pem -key key.pem -www -quiet
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c listening "$T_DIR/hash.log")" = 3 ] && [ -n "$(ss -Hltn 'sport = :9131')" ] &&
		break
	sleep 0.05
done
# 9199: nothing listens (refused); 9198: SYNs dropped (blackholed)
nft add table inet smxtest
nft add chain inet smxtest out '{ type filter hook output priority 0; }'
nft add rule inet smxtest out tcp dport 9198 drop

cat >smx.conf <<'EOF'
listen = (
  { address = "127.0.0.1:8401"; name = "rr"; },
  { address = "127.0.0.1:8402"; name = "first"; },
  { address = "127.0.0.1:8403"; name = "least"; },
  { address = "127.0.0.1:8404"; name = "hash"; },
  { address = "127.0.0.1:8405"; name = "tls"; },
  { address = "127.0.0.1:8406"; name = "black"; },
  { address = "127.0.0.1:8407"; name = "backup"; },
  { address = "127.0.0.1:8408"; name = "noretry"; }
);
timeouts = { connect_ms = 300; };
backends = {
  rr = { servers = ( { address = "127.0.0.1:9101"; weight = 2; },
                     { address = "127.0.0.1:9102"; },
                     { address = "[::1]:9103"; } ); };
  first = { balance = "first";
            servers = ( { address = "127.0.0.1:9199"; }, { address = "[::1]:9103"; },
                        { address = "127.0.0.1:9101"; } ); };
  least = { balance = "least_conn";
            servers = ( { address = "127.0.0.1:9101"; weight = 3; },
                        { address = "127.0.0.1:9102"; } ); };
  hash = { balance = "source_hash";
           servers = ( { address = "127.0.0.1:9121"; }, { address = "127.0.0.1:9122"; },
                       { address = "[::1]:9123"; } ); };
  tls = { servers = ( { address = "127.0.0.1:9199"; }, { address = "127.0.0.1:9131"; } );
          balance = "first"; };
  black = { balance = "first";
            servers = ( { address = "127.0.0.1:9198"; }, { address = "127.0.0.1:9102"; } ); };
  backup = { servers = ( { address = "127.0.0.1:9102"; },
                         { address = "127.0.0.1:9111"; backup = true; } ); };
  noretry = { balance = "first"; retries = 0;
              servers = ( { address = "127.0.0.1:9199"; }, { address = "127.0.0.1:9101"; } ); };
};
routes = (
  { listener = [ "rr" ]; backend = "rr"; },
  { listener = [ "first" ]; backend = "first"; },
  { listener = [ "least" ]; backend = "least"; },
  { listener = [ "hash" ]; backend = "hash"; },
  { listener = [ "tls" ]; backend = "tls"; },
  { listener = [ "black" ]; backend = "black"; },
  { listener = [ "backup" ]; backend = "backup"; },
  { listener = [ "noretry" ]; backend = "noretry"; }
);
EOF

"$SOCKMUX" check -c smx.conf >check.out 2>&1
check "check: servers, weights, balance and retries printed" \
	grep -q 'rr 127.0.0.1:9101,127.0.0.1:9102,\[::1\]:9103 weights=2,1,1 balance=round_robin retries=2' check.out

out=$("$SOCKMUX" route -c smx.conf --listener rr --protocol unknown)
check "route: a backend of several servers names them all, with its rule" \
	grep -q -- '-> backend rr 127.0.0.1:9101, 127.0.0.1:9102, \[::1\]:9103 (balance round_robin, retries 2)' <<<"$out"

# within N/1000 of the expected share
near() { local got=$1 want=$2 tol=$3; [ "$got" -ge $((want - tol)) ] && [ "$got" -le $((want + tol)) ]; }
count() { "${BAL[@]}" count "$@"; }
field() { grep -oE "(^| )$1=[0-9]+" <<<"$2" | grep -oE '[0-9]+$' || echo 0; }

for engine in splice sockmap; do
	start_sockmux smx.conf "$engine" "smx-$engine" || not_ok "$engine: sockmux starts"

	out=$(count 127.0.0.1:8401 1000)
	diag "$engine: round_robin 2:1:1 over 1000: $out"
	check "$engine: round_robin: shares follow the weights 2:1:1 (500/250/250 within 20)" \
		sh -c "$(declare -f near); near $(field a1 "$out") 500 20 && near $(field a2 "$out") 250 20 &&
		       near $(field a3 "$out") 250 20 && [ $(field failed "$out") = 0 ]"

	out=$(count 127.0.0.1:8402 1000)
	check "$engine: first: a refused first server, then the IPv6 one takes all 1000 ($out)" \
		test "$(field a3 "$out")" = 1000

	# one after another, a closing connection may still count: no exact share, but both
	# servers take some, the heavier more (ties go by weight: test_balance)
	out=$(count 127.0.0.1:8403 1000)
	check "$engine: least_conn 3:1, 1000 one after another: all served, both used, a1 more ($out)" \
		test "$(field failed "$out")" = 0 -a "$(field a2 "$out")" -gt 100 -a \
		"$(field a1 "$out")" -gt "$(field a2 "$out")"

	out=$(count 127.0.0.1:8404 1000 --spread)
	check "$engine: source_hash, 1000 client addresses over 3 servers (333 each within 60: $out)" \
		sh -c "$(declare -f near); near $(field h1 "$out") 333 60 && near $(field h2 "$out") 333 60 &&
		       near $(field h3 "$out") 333 60 && [ $(field failed "$out") = 0 ]"

	out=$("${BAL[@]}" hold 127.0.0.1:8403 400 4.5)
	diag "$engine: least_conn 3:1, 400 held at once: $out"
	check "$engine: least_conn: 400 held connections spread 3:1 (300/100 within 4)" \
		sh -c "$(declare -f near); near $(field a1 "$out") 300 4 && near $(field a2 "$out") 100 4"

	# source_hash: 30 client addresses, 3 connections each
	: >hash1
	for ((i = 10; i < 40; i++)); do
		echo "127.0.0.$i $(count 127.0.0.1:8404 3 --src 127.0.0.$i)" >>hash1
	done
	check "$engine: source_hash: each client address keeps its server (3 of 3)" \
		sh -c "! grep -vE '=3 failed=0\$' hash1"
	check "$engine: source_hash: the clients spread over the three servers" \
		sh -c "grep -q h1=3 hash1 && grep -q h2=3 hash1 && grep -q h3=3 hash1"
	stop_pid "$HASH_PID"
	bg "$T_DIR/hash2.log" "${BAL[@]}" serve h1=127.0.0.1:9121 h3=[::1]:9123
	HASH_PID=$BG_PID
	wait_for "$T_DIR/hash2.log" 'listening h3' 5
	: >hash2
	for ((i = 10; i < 40; i++)); do
		echo "127.0.0.$i $(count 127.0.0.1:8404 1 --src 127.0.0.$i)" >>hash2
	done
	moved=$(paste -d' ' hash1 hash2 | awk '{ split($2, a, "="); split($5, b, "=");
		if (a[1] != "h2" && a[1] != b[1]) n++ } END { print n + 0 }')
	check "$engine: source_hash: h2 down: only its clients move ($moved others moved)" \
		test "$moved" = 0 -a "$(grep -c 'h2=1' hash2)" = 0 -a "$(grep -c failed=1 hash2)" = 0
	stop_pid "$HASH_PID"
	bg "$T_DIR/hash3.log" "${BAL[@]}" serve h1=127.0.0.1:9121 h2=127.0.0.1:9122 h3=[::1]:9123
	HASH_PID=$BG_PID
	wait_for "$T_DIR/hash3.log" 'listening h3' 5

	mark=$(wc -l <"$SMX_LOG")
	body=$(curl -sS -k --max-time 5 --resolve tls.example.org:8405:127.0.0.1 \
		https://tls.example.org:8405/ 2>&1)
	check "$engine: a refused server is skipped: curl's TLS handshake completes on the next" \
		grep -q 's_server' <<<"$body"
	sleep 0.2
	check "$engine: ... the log line names the server and tries=2" \
		sh -c "tail -n +$((mark + 1)) '$SMX_LOG' | grep -q 'backend=tls server=127.0.0.1:9131 tries=2 '"

	out=$("${BAL[@]}" time 127.0.0.1:8406)
	ms=$(grep -oE 'ms=[0-9]+' <<<"$out" | grep -oE '[0-9]+')
	check "$engine: a blackholed server costs one connect_ms (300 ms), then the next ($out)" \
		test "$(cut -d' ' -f1 <<<"$out")" = a2 -a "${ms:-0}" -ge 280 -a "${ms:-0}" -lt 1300
	out=$(count 127.0.0.1:8406 5)
	check "$engine: ... and is then passed over while down, without delay ($out)" \
		test "$(field a2 "$out")" = 5

	out=$(count 127.0.0.1:8407 20)
	check "$engine: backup: idle while its main server is up ($out)" \
		test "$(field a2 "$out")" = 20 -a "$(field b1 "$out")" = 0

	out=$(count 127.0.0.1:8408 3)
	check "$engine: retries = 0: a refused server is not retried, but then passed over ($out)" \
		test "$(field failed "$out")" = 1 -a "$(field a1 "$out")" = 2
	check "$engine: ... logged as connect_refused" \
		sh -c "grep 'backend=noretry' '$SMX_LOG' | grep -q 'tries=1 .*end=connect_refused'"
	stop_sockmux "$engine"
done

# backup takes over while the main server is down: a config of its own, main server refused
cat >backup.conf <<'EOF'
listen = ( { address = "127.0.0.1:8409"; } );
backends = { web = { servers = ( { address = "127.0.0.1:9199"; },
                                 { address = "127.0.0.1:9111"; backup = true; } ); }; };
routes = ( { backend = "web"; } );
EOF
start_sockmux backup.conf splice smx-backup || not_ok "backup: sockmux starts"
out=$(count 127.0.0.1:8409 10)
check "backup: carries every connection while the main server is down ($out)" \
	test "$(field b1 "$out")" = 10
stop_sockmux backup
nft delete table inet smxtest
