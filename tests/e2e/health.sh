#!/bin/bash
# SPDX-License-Identifier: MIT
# health.sh - active health checks of a backend's servers (issue 14), on both engines, IPv4
# and IPv6 servers mixed, with real servers:
#  - TCP checks: a stopped server is taken out within fall x interval_ms plus a margin, and no
#    client reaches it; started again, it is back after rise checks and takes its share;
#  - TLS checks (openssl s_server): a server that answers the ClientHello is up; one that is
#    not TLS (not_tls), one that refuses the check's server name with an alert (tls_alert:
#    the name sent is the route's sni), a blackholed one (timeout) are down and get nothing;
#  - `sockmux stats --json`, text, /metrics and `sockmux route` show each server's state and
#    why; the health changes are logged;
#  - a reload keeps the state of servers whose backend and address stay (down stays down, its
#    check counts go on), and a removed server's live connection runs on to its end while new
#    ones go elsewhere; a reload removing health brings up what the checks held down;
#  - checks of a backend with proxy_protocol send the header first (HAProxy accept-proxy v2,
#    nginx proxy_protocol v1: both up, nginx logs no broken header).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

PY=/usr/bin/python3
BAL=("$PY" "$SMX_TOP/tests/tools/smx-balance.py")
CTL=$T_DIR/ctl.sock
cd "$T_DIR" || exit 1

# serve_one TAG ADDR: a tagging server of its own (so it can be stopped alone); PID in $BG_PID
serve_one() {
	bg "$T_DIR/srv-$1.log" "${BAL[@]}" serve "$1=$2"
	wait_for "$T_DIR/srv-$1.log" "listening $1" 5
}
serve_one s1 127.0.0.1:9201
S1_PID=$BG_PID
serve_one s2 [::1]:9202
serve_one s3 127.0.0.1:9203
S3_PID=$BG_PID
serve_one p1 127.0.0.1:9221
serve_one p2 [::1]:9222
serve_one nt 127.0.0.1:9213	# answers a ClientHello with its tag: not TLS
make_cert tls tls.example.org
make_cert other other.example.org
bg "$T_DIR/tls1.log" openssl s_server -accept 127.0.0.1:9211 -cert tls.crt -key tls.key -www \
	-quiet
bg "$T_DIR/tls2.log" openssl s_server -accept '[::1]:9212' -cert tls.crt -key tls.key -www -quiet
# knows only other.example.org: a ClientHello naming tls.example.org gets a fatal alert
bg "$T_DIR/tls3.log" openssl s_server -accept 127.0.0.1:9214 -cert tls.crt -key tls.key \
	-cert2 other.crt -key2 other.key -servername other.example.org -servername_fatal -www -quiet
for ((i = 0; i < 100; i++)); do
	[ -n "$(ss -Hltn 'sport = :9211')" ] && [ -n "$(ss -Hltn 'sport = :9212')" ] &&
		[ -n "$(ss -Hltn 'sport = :9214')" ] && [ -n "$(ss -Hltn 'sport = :9231')" ] &&
		[ -n "$(ss -Hltn 'sport = :9232')" ] && break
	sleep 0.05
done
# servers that expect a PROXY header before TLS: HAProxy (v2) and nginx (v1)
cat tls.crt tls.key >tls.pem
cat >haproxy.cfg <<HAP
global
  log stderr format raw local0
defaults
  log global
  timeout connect 3s
  timeout client 10s
  timeout server 10s
frontend pp2
  mode http
  bind 127.0.0.1:9231 accept-proxy ssl crt $T_DIR/tls.pem
  http-request return status 200 content-type text/plain lf-string "haproxy %[src]"
HAP
bg "$T_DIR/haproxy.log" haproxy -db -f "$T_DIR/haproxy.cfg"
cat >nginx.conf <<NGINX
user root;
worker_processes 1;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log info;
daemon off;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T_DIR/nginx-tmp;
  server {
    listen [::1]:9232 ssl proxy_protocol;
    ssl_certificate $T_DIR/tls.crt;
    ssl_certificate_key $T_DIR/tls.key;
    location / { default_type text/plain; return 200 "nginx \$proxy_protocol_addr"; }
  }
}
NGINX
bg "$T_DIR/nginx.log" nginx -c "$T_DIR/nginx.conf" -e "$T_DIR/nginx-error.log"
# 9215: SYNs dropped (blackholed)
nft add table inet smxhealth
nft add chain inet smxhealth out '{ type filter hook output priority 0; }'
nft add rule inet smxhealth out tcp dport 9215 drop

write_conf() {	# $1: the pair backend's servers; $2: the tcp backend's health (default on)
	local th='health = { interval_ms = 200; timeout_ms = 150; rise = 2; fall = 3; };'
	[ $# -ge 2 ] && th=$2
	cat >smx.conf <<EOF
listen = (
  { address = "127.0.0.1:8501"; name = "tcp"; },
  { address = "127.0.0.1:8502"; name = "tls"; },
  { address = "127.0.0.1:8503"; name = "pair"; },
  { address = "127.0.0.1:8504"; name = "pp"; }
);
control = "$CTL";
metrics = "127.0.0.1:9106";
timeouts = { connect_ms = 300; };
backends = {
  tcp = { servers = ( { address = "127.0.0.1:9201"; }, { address = "[::1]:9202"; },
                      { address = "127.0.0.1:9203"; } );
          $th };
  tls = { servers = ( { address = "127.0.0.1:9211"; }, { address = "[::1]:9212"; },
                      { address = "127.0.0.1:9213"; }, { address = "127.0.0.1:9214"; },
                      { address = "127.0.0.1:9215"; } );
          health = { interval_ms = 300; timeout_ms = 200; rise = 1; fall = 2; tls = true; }; };
  pair = { balance = "first"; servers = ( $1 );
           health = { interval_ms = 200; rise = 1; fall = 2; }; };
  pp2 = { address = "127.0.0.1:9231"; proxy_protocol = "v2";
          health = { interval_ms = 300; rise = 1; fall = 1; tls = true; }; };
  pp1 = { address = "[::1]:9232"; proxy_protocol = "v1";
          health = { interval_ms = 300; rise = 1; fall = 1; tls = true; }; };
};
routes = (
  { listener = [ "tcp" ]; backend = "tcp"; },
  { listener = [ "tls" ]; sni = [ "tls.example.org" ]; backend = "tls"; },
  { listener = [ "pair" ]; backend = "pair"; },
  { listener = [ "pp" ]; sni = [ "tls.example.org" ]; alpn = [ "h2" ]; backend = "pp1" },
  { listener = [ "pp" ]; sni = [ "tls.example.org" ]; backend = "pp2" }
);
EOF
}

# srv BACKEND ADDRESS KEY: KEY of that server in `sockmux stats --json` (health.KEY inside)
srv() {
	"$SOCKMUX" stats --json --control "$CTL" 2>/dev/null | "$PY" -c '
import json, sys
b, a, k = sys.argv[1:4]
for s in json.load(sys.stdin)["servers"]:
    if s["backend"] == b and s["address"] == a:
        v = s["health"][k[7:]] if k.startswith("health.") else s[k]
        print(str(v).lower())
        break
else:
    print("absent")' "$@"
}
# wait_state BACKEND ADDRESS STATE SECONDS: until the server is in STATE; prints the ms taken
wait_state() {
	local t0 t1 i
	t0=$(date +%s%3N)
	for ((i = 0; i < $4 * 20; i++)); do
		if [ "$(srv "$1" "$2" state)" = "$3" ]; then
			t1=$(date +%s%3N)
			echo $((t1 - t0))
			return 0
		fi
		sleep 0.05
	done
	echo never
	return 1
}
count() { "${BAL[@]}" count "$@"; }
tagn() { grep -oE "(^| )$1=[0-9]+" <<<"$2" | grep -oE '[0-9]+$' || echo 0; }
near() { [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; }

write_conf '{ address = "127.0.0.1:9221"; }, { address = "[::1]:9222"; }'
for engine in splice sockmap; do
	start_sockmux smx.conf "$engine" "smx-$engine" || not_ok "$engine: sockmux starts"
	ms=$(wait_state tls 127.0.0.1:9213 down 5)
	sleep 0.5
	check "$engine: TLS check: both s_servers (IPv4, IPv6) up, answered with a ServerHello" \
		test "$(srv tls 127.0.0.1:9211 state)$(srv tls '[::1]:9212' state)" = upup -a \
		"$(srv tls 127.0.0.1:9211 health.last)" = ok
	check "$engine: TLS check: a server that is not TLS is down (not_tls, after $ms ms)" \
		test "$(srv tls 127.0.0.1:9213 state)$(srv tls 127.0.0.1:9213 health.last)" = \
		downnot_tls
	check "$engine: TLS check: the route's sni is sent: a server without it answers an alert" \
		test "$(srv tls 127.0.0.1:9214 state)$(srv tls 127.0.0.1:9214 health.last)" = \
		downtls_alert
	wait_state tls 127.0.0.1:9215 down 3 >/dev/null
	check "$engine: TLS check: a blackholed server is down (timeout)" \
		test "$(srv tls 127.0.0.1:9215 state)$(srv tls 127.0.0.1:9215 health.last)" = \
		downtimeout
	okc=0
	for ((i = 0; i < 20; i++)); do
		curl -sS -k --max-time 5 --resolve tls.example.org:8502:127.0.0.1 \
			https://tls.example.org:8502/ 2>&1 | grep -q s_server && okc=$((okc + 1))
	done
	c1=$(srv tls 127.0.0.1:9211 connections)
	c2=$(srv tls '[::1]:9212' connections)
	check "$engine: 20 curl TLS handshakes all complete, only on the two up servers ($c1/$c2)" \
		test "$okc" = 20 -a "$c1" = 10 -a "$c2" = 10 -a \
		"$(srv tls 127.0.0.1:9213 connections)$(srv tls 127.0.0.1:9214 connections)" = 00
	check "$engine: a PROXY header goes first in the checks: HAProxy (v2) and nginx (v1) are up" \
		test "$(srv pp2 127.0.0.1:9231 health.last)$(srv pp1 '[::1]:9232' health.last)" = okok -a \
		"$(srv pp2 127.0.0.1:9231 state)$(srv pp1 '[::1]:9232' state)" = upup
	check "$engine: ... nginx saw no broken PROXY header" \
		sh -c "! grep -q 'broken header' '$T_DIR/nginx-error.log'"
	body=$(curl -sS -k --max-time 5 --http1.1 --resolve tls.example.org:8504:127.0.0.1 \
		https://tls.example.org:8504/ 2>&1)
	check "$engine: ... and a client through it is seen by HAProxy with its address ($body)" \
		test "$body" = "haproxy 127.0.0.1"
	check "$engine: the log says which servers went down and why" \
		sh -c "grep -q 'health: server 127.0.0.1:9213 of backend tls is down: 2 check(s) failed in a row (last: not_tls)' '$SMX_LOG' &&
		       grep -q 'health: server 127.0.0.1:9214 of backend tls is down: .*tls_alert' '$SMX_LOG'"

	# TCP checks: every server up; s1 stopped is taken out, started again comes back
	out=$(count 127.0.0.1:8501 300)
	check "$engine: TCP check: three servers up share 300 connections ($out)" \
		sh -c "$(declare -f near); near $(tagn s1 "$out") 100 3 && near $(tagn s2 "$out") 100 3 &&
		       near $(tagn s3 "$out") 100 3"
	stop_pid "$S1_PID"
	ms=$(wait_state tcp 127.0.0.1:9201 down 5)
	diag "$engine: s1 stopped: down after $ms ms (fall 3 x interval 200 ms)"
	check "$engine: a stopped server is down within fall x interval_ms + 1 s ($ms ms)" \
		test "$ms" != never -a "${ms/never/99999}" -le 1660
	check "$engine: ... its last check says refused" \
		test "$(srv tcp 127.0.0.1:9201 health.last)" = refused
	failed0=$(srv tcp 127.0.0.1:9201 connect_failed)
	out=$(count 127.0.0.1:8501 100)
	check "$engine: ... then no client goes to it, none fails, no connect is tried ($out)" \
		test "$(tagn s1 "$out")" = 0 -a "$(tagn failed "$out")" = 0 -a \
		"$(srv tcp 127.0.0.1:9201 connect_failed)" = "$failed0"
	check "$engine: ... and the two others share its turns equally (50/50 within 2)" \
		sh -c "$(declare -f near); near $(tagn s2 "$out") 50 2 && near $(tagn s3 "$out") 50 2"
	route=$("$SOCKMUX" route -c smx.conf --listener tcp --protocol unknown)
	check "$engine: route says the stopped server is skipped and why" \
		grep -qE 'server 127.0.0.1:9201: skipped: down since .*: its health check failed \(last: refused\)' <<<"$route"
	check "$engine: ... and which server is chosen now" \
		grep -qE 'server (\[::1\]:9202|127.0.0.1:9203): chosen now: next in turn' <<<"$route"
	curl -s http://127.0.0.1:9106/metrics >metrics.out
	check "$engine: /metrics: sockmux_server_up is 0 for it, 1 for the others" \
		sh -c "grep -qF 'sockmux_server_up{backend=\"tcp\",server=\"127.0.0.1:9201\"} 0' metrics.out &&
		       grep -qF 'sockmux_server_up{backend=\"tcp\",server=\"[::1]:9202\"} 1' metrics.out &&
		       grep -qE 'sockmux_server_checks_total\{backend=\"tcp\",server=\"127.0.0.1:9201\",result=\"failed\"\} [1-9]' metrics.out"
	text=$("$SOCKMUX" stats --control "$CTL")
	check "$engine: sockmux stats shows the server table" \
		grep -qE '^  tcp 127.0.0.1:9201 +down ' <<<"$text"
	serve_one s1 127.0.0.1:9201
	S1_PID=$BG_PID
	ms=$(wait_state tcp 127.0.0.1:9201 up 5)
	diag "$engine: s1 started again: up after $ms ms (rise 2 x interval 200 ms)"
	check "$engine: started again, it is up within rise x interval_ms + 1 s ($ms ms)" \
		test "$ms" != never -a "${ms/never/99999}" -le 1440
	check "$engine: ... logged as up" \
		grep -q 'health: server 127.0.0.1:9201 of backend tcp is up: 2 check(s) passed' "$SMX_LOG"
	out=$(count 127.0.0.1:8501 300)
	check "$engine: ... and takes its share again ($out)" \
		sh -c "$(declare -f near); near $(tagn s1 "$out") 100 3 && [ $(tagn failed "$out") = 0 ]"

	# reload: the state of a server that stays is kept
	stop_pid "$S3_PID"
	wait_state tcp 127.0.0.1:9203 down 5 >/dev/null
	since=$(srv tcp 127.0.0.1:9203 since)
	fails=$(srv tcp 127.0.0.1:9203 health.checks_failed)
	# a connection held on p1 (balance first) across a reload that removes p1
	rm -f go
	"$PY" -c '
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", 8503))
f = s.makefile("rb")
print(f.readline().decode().strip(), flush=True)
while not os.path.exists("go"):
    time.sleep(0.05)
s.sendall(b"still there\n")
print(f.readline().decode().strip(), flush=True)' >held.out 2>&1 &
	HELD=$!
	T_PIDS+=("$HELD")
	wait_for held.out p1 5
	write_conf '{ address = "[::1]:9222"; }'
	"$SOCKMUX" reload --control "$CTL" >reload.out 2>&1
	check "$engine: reload applied" grep -q 'configuration 2' reload.out
	check "$engine: reload: a server that stays keeps its state (down since $since)" \
		test "$(srv tcp 127.0.0.1:9203 state)" = down -a \
		"$(srv tcp 127.0.0.1:9203 since)" = "$since"
	sleep 0.3
	f2=$(srv tcp 127.0.0.1:9203 health.checks_failed)
	check "$engine: ... and its checks go on counting ($fails, then $f2)" test "$f2" -gt "$fails"
	out=$(count 127.0.0.1:8503 20)
	check "$engine: reload: a removed server takes no new connection ($out)" \
		test "$(tagn p2 "$out")" = 20 -a "$(srv pair 127.0.0.1:9221 state)" = absent
	touch go
	wait "$HELD"
	check "$engine: ... while its live connection runs on to its end" \
		test "$(tr '\n' ' ' <held.out)" = "p1 still there "
	write_conf '{ address = "[::1]:9222"; }' ''
	"$SOCKMUX" reload --control "$CTL" >reload.out 2>&1
	check "$engine: reload without health: the server its checks held down is up" \
		test "$(srv tcp 127.0.0.1:9203 state)" = up
	check "$engine: ... logged" grep -q \
		'health: server 127.0.0.1:9203 of backend tcp is up: its health checks were removed' \
		"$SMX_LOG"
	serve_one s3 127.0.0.1:9203
	S3_PID=$BG_PID
	write_conf '{ address = "127.0.0.1:9221"; }, { address = "[::1]:9222"; }'
	stop_sockmux "$engine"
done

# a bad health group names the file, line and key
cat >bad.conf <<'EOF'
listen = ( { address = "127.0.0.1:8509"; } );
backends = { web = { servers = ( { address = "127.0.0.1:9201"; } );
                     health = { interval_ms = 2000; fal = 3; }; }; };
routes = ( { backend = "web"; } );
EOF
out=$("$SOCKMUX" check -c bad.conf 2>&1)
check "check: an unknown health key is named with file and line ($out)" \
	grep -q 'bad.conf:3: .*unknown key "fal" in backends.web.health' <<<"$out"
nft delete table inet smxhealth
