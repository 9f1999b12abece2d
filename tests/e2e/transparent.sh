#!/bin/bash
# SPDX-License-Identifier: MIT
# transparent.sh - `transparent = true;` backends (docs/transparent.md): the backend sees each
# client's own address, without a PROXY header (and with one), IPv4 and IPv6, on both
# engines (the sockmap one as sockmap-now, its sockets in the sockmap from the hand-off: taken
# over after 64 KiB, these short connections would all be splice's), in both topologies:
#
#   client (198.18.1.2/.3, 2001:db8:1::2/::3)
#      | vc
#   sockmux host, this test's namespace (198.18.1.1, 2001:db8:1::1)
#      | vb                        lo: 198.18.127.40, 2001:db8:127::40 (topology 2's backend)
#   backend host (198.18.2.2, 2001:db8:2::2), default route via the sockmux host (topology 1)
#
# The backends are tests/tools/smx-whoami.py (each connection is told the peer address the
# server's accept() returned) and nginx, whose access log holds $remote_addr. First `sockmux check` must report what is missing, with the
# commands (the capability, both rules and routes, the nftables mark); the test then runs the
# very commands check printed, and check must be content. `run` must refuse to start without
# the capability. A client on the sockmux host itself (its address, loopback) is served
# without transparency; an IPv6 client of an IPv4-only transparent backend is refused with a
# reason; `user = "nobody"` keeps CAP_NET_ADMIN (and a daemon that dropped it refuses a reload
# that adds a transparent backend). SMX_TRANSPARENT_CONNS (default 1000) connections in a row
# per family and engine for topology 1 (100 with a PROXY header, 100 for topology 2). About
# 45 s on 2 idle cores.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

N=${SMX_TRANSPARENT_CONNS:-1000}
WHOAMI=$SMX_TOP/tests/tools/smx-whoami.py
CONF=$T_DIR/smx.conf
CTL=$T_DIR/control.sock

skip() {
	echo "ok 1 # SKIP $*"
	T_N=1
	exit 0
}
for tool in nft nsenter setpriv python3; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (nftables, util-linux, python3)"
done

# --- namespaces: client (c) and backend host (b); "p" is this test's own ------------------
declare -A NS
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = p ]; then "$@"; else nsenter -t "${NS[$ns]}" -n -- "$@"; fi
}
ns_new() {
	local i
	bg /dev/null unshare -n sleep infinity
	NS[$1]=$BG_PID
	for ((i = 0; i < 200; i++)); do
		[ "$(readlink "/proc/$BG_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.01
	done
	in_ns "$1" ip link set lo up
}
# veth DEV_HERE PEER_NS PEER_DEV: a pair between this namespace and PEER_NS, both up
veth() {
	ip link add "$1" type veth peer name "$3" netns "${NS[$2]}" &&
	ip link set "$1" up && in_ns "$2" ip link set "$3" up
}
addr() { in_ns "$1" ip addr add "$2" dev "$3" ${4:+nodad}; }

setup() {
	ns_new c && ns_new b &&
	veth vc c vc0 && veth vb b vb0 &&
	addr p 198.18.1.1/24 vc && addr p 2001:db8:1::1/64 vc 6 &&
	addr p 198.18.2.1/24 vb && addr p 2001:db8:2::1/64 vb 6 &&
	addr c 198.18.1.2/24 vc0 && addr c 198.18.1.3/24 vc0 &&
	addr c 2001:db8:1::2/64 vc0 6 && addr c 2001:db8:1::3/64 vc0 6 &&
	addr b 198.18.2.2/24 vb0 && addr b 2001:db8:2::2/64 vb0 6 &&
	in_ns c ip route add default via 198.18.1.1 &&
	in_ns c ip -6 route add default via 2001:db8:1::1 &&
	in_ns b ip route add default via 198.18.2.1 &&
	in_ns b ip -6 route add default via 2001:db8:2::1 &&
	# strict reverse-path filtering, as hardened hosts have it: replies still get in
	sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 &&
	sysctl -q -w net.ipv4.conf.vc.rp_filter=1 net.ipv4.conf.vb.rp_filter=1 &&
	# topology 2: the backend on extra addresses of lo, as docs/transparent.md adds them
	ip addr add 198.18.127.40/32 dev lo scope host &&
	ip addr add 2001:db8:127::40/128 dev lo nodad
}
setup || { not_ok "namespaces and veths are set up"; exit 1; }
ok "namespaces and veths are set up (client, sockmux host, backend host)"

# started through nsenter itself, not the in_ns function: bg's PID is then the server's own
IN_B=(nsenter -t "${NS[b]}" -n --)
bg "$T_DIR/whoami-b.log" "${IN_B[@]}" python3 "$WHOAMI" serve B 198.18.2.2:8080 \
	"[2001:db8:2::2]:8080"
bg "$T_DIR/whoami-bpp.log" "${IN_B[@]}" python3 "$WHOAMI" serve B 198.18.2.2:8081 \
	"[2001:db8:2::2]:8081" --proxy
bg "$T_DIR/whoami-l.log" python3 "$WHOAMI" serve L 198.18.127.40:8080 "[2001:db8:127::40]:8080"
bg "$T_DIR/whoami-lpp.log" python3 "$WHOAMI" serve L 198.18.127.40:8081 \
	"[2001:db8:127::40]:8081" --proxy
for f in b bpp l lpp; do
	wait_for "$T_DIR/whoami-$f.log" 'listening .*\]:808' 5 || not_ok "backend $f listens"
done

# nginx on the backend host, logging $remote_addr: what a real service sees
HAVE_NGINX=""
if command -v nginx >/dev/null && command -v curl >/dev/null; then
	mkdir -p "$T_DIR/nginx-tmp"
	cat >"$T_DIR/nginx.conf" <<NGINX
user root;
worker_processes 1;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log;
daemon off;
events { worker_connections 256; }
http {
  log_format addr 'remote_addr=\$remote_addr';
  access_log $T_DIR/nginx-access.log addr;
  client_body_temp_path $T_DIR/nginx-tmp/body;
  proxy_temp_path $T_DIR/nginx-tmp/proxy;
  fastcgi_temp_path $T_DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $T_DIR/nginx-tmp/uwsgi;
  scgi_temp_path $T_DIR/nginx-tmp/scgi;
  server { listen 198.18.2.2:8090; listen [2001:db8:2::2]:8090;
           location / { return 200 "hello\n"; } }
}
NGINX
	bg "$T_DIR/nginx.log" "${IN_B[@]}" nginx -e "$T_DIR/nginx-error.log" -p "$T_DIR" \
		-c "$T_DIR/nginx.conf"
	for ((i = 0; i < 100; i++)); do
		in_ns b ss -ltn | grep -q '198.18.2.2:8090' && HAVE_NGINX=1 && break
		sleep 0.05
	done
	[ -n "$HAVE_NGINX" ] || not_ok "nginx starts on the backend host"
fi

# write_conf PP [EXTRA]: PP "" or "v1" (then the backends' PROXY ports)
write_conf() {
	local port=8080 pp=""
	if [ -n "$1" ]; then port=8081; pp="proxy_protocol = \"$1\";"; fi
	cat >"$CONF" <<CONF
listen = (
  { address = "198.18.1.1:443"; name = "remote"; }, { address = "[2001:db8:1::1]:443"; name = "remote"; },
  { address = "127.0.0.1:443"; name = "remote"; },
  { address = "198.18.1.1:444"; name = "local"; }, { address = "[2001:db8:1::1]:444"; name = "local"; },
  { address = "[2001:db8:1::1]:446"; name = "v4only"; },
  { address = "198.18.1.1:448"; name = "web"; }, { address = "[2001:db8:1::1]:448"; name = "web"; },
  { address = "[2001:db8:1::1]:447"; name = "remote"; accept_proxy = true;
    trusted = [ "2001:db8:1::/64" ]; }
);
backends = {
  remote = { servers = ( { address = "198.18.2.2:$port"; }, { address = "[2001:db8:2::2]:$port"; } );
             transparent = true; $pp };
  local = { servers = ( { address = "198.18.127.40:$port"; }, { address = "[2001:db8:127::40]:$port"; } );
            transparent = true; $pp };
  v4only = { address = "198.18.2.2:$port"; transparent = true; $pp };
  web = { servers = ( { address = "198.18.2.2:8090"; }, { address = "[2001:db8:2::2]:8090"; } );
          transparent = true; };
};
routes = ( { listener = [ "remote" ]; backend = "remote"; },
           { listener = [ "local" ]; backend = "local"; },
           { listener = [ "v4only" ]; backend = "v4only"; },
           { listener = [ "web" ]; backend = "web"; } );
control = "$CTL";
# an accept_proxy listener routes a client that sends nothing after its header only after
# probe_ms, even on a route that needs no byte (main's behaviour): short here
timeouts = { probe_ms = 100; };
$2
CONF
	chmod 644 "$CONF"
}

# --- sockmux check and run before the host is ready -----------------------------------------
write_conf ""
"$SOCKMUX" check -c "$CONF" >"$T_DIR/check1.out" 2>&1
check_rc=$?
# has FILE STRING...: FILE holds every STRING
has() {
	local f=$1 s
	shift
	for s in "$@"; do grep -qF -- "$s" "$f" || return 1; done
}
check "check: the missing fwmark rule is reported with its command" \
	has "$T_DIR/check1.out" "ip rule add fwmark 1 lookup 100"
check "check: ... and for IPv6" has "$T_DIR/check1.out" "ip -6 rule add fwmark 1 lookup 100"
check "check: the local routes of table 100, IPv4 and IPv6" \
	has "$T_DIR/check1.out" "ip route add local 0.0.0.0/0 dev lo table 100" \
	"ip -6 route add local ::/0 dev lo table 100"
check "check: topology 2's rules from the backend's addresses" \
	has "$T_DIR/check1.out" "ip rule add from 198.18.127.40 lookup 100" \
	"ip -6 rule add from 2001:db8:127::40 lookup 100"
check "check: the nftables mark for replies to transparent sockets" \
	has "$T_DIR/check1.out" "socket transparent 1 meta mark set 1 accept"
check "check: 6 problems counted" has "$T_DIR/check1.out" "transparent: 6 problem(s)"
check "check: exit status 3 (valid, the host not ready)" test "$check_rc" = 3
check "check: each command once (nothing a paste would add twice)" \
	test "$(grep -E '^ +(ip|nft) ' "$T_DIR/check1.out" | sort | uniq -d | wc -l)" = 0
check "check: the IPv4-only backend's IPv6 clients are said to fail" \
	has "$T_DIR/check1.out" "backend v4only has no IPv6 server"

NOCAP=(setpriv --inh-caps=-all --bounding-set=-net_admin,-net_raw --)
"${NOCAP[@]}" "$SOCKMUX" check -c "$CONF" >"$T_DIR/check-nocap.out" 2>&1
check "check without CAP_NET_ADMIN/CAP_NET_RAW: says IP_TRANSPARENT may not be set" \
	has "$T_DIR/check-nocap.out" "MISSING  IP_TRANSPARENT may not be set"
check "check without the capability: gives the setcap command" \
	has "$T_DIR/check-nocap.out" "setcap cap_net_admin,cap_net_bind_service+ep"
timeout 10 "${NOCAP[@]}" "$SOCKMUX" run -c "$CONF" >"$T_DIR/run-nocap.log" 2>&1
rc=$?
check "run without the capability: refuses to start (exit $rc), naming the backend" \
	test "$rc" = 1 -a -n "$(grep -F 'backend "remote"' "$T_DIR/run-nocap.log" |
		grep -F 'needs CAP_NET_ADMIN')"

# the commands check printed, as a user would paste them (each once, in order)
grep -E '^ +(ip|nft) ' "$T_DIR/check1.out" | sed 's/^ *//' | awk '!seen[$0]++' >"$T_DIR/fix.sh"
diag "running what check printed: $(tr '\n' ';' <"$T_DIR/fix.sh")"
check "check's commands run without error" bash -e "$T_DIR/fix.sh"
"$SOCKMUX" check -c "$CONF" >"$T_DIR/check2.out" 2>&1
check_rc=$?
check "check after them: no problem left" has "$T_DIR/check2.out" "transparent: 0 problem(s)"
check "check after them: exit status 0" test "$check_rc" = 0
grep -E 'MISSING|unknown' "$T_DIR/check2.out" | sed 's/^/# /'

# a mark that the fwmark rule does not want, then a table ip that leaves IPv6 unmarked
nft flush chain inet sockmux divert
nft add rule inet sockmux divert meta l4proto tcp socket transparent 1 meta mark set 3 accept
"$SOCKMUX" check -c "$CONF" >"$T_DIR/check3.out" 2>&1
check "check: an nftables mark the fwmark rule does not want is reported" \
	has "$T_DIR/check3.out" "IPv4 backends on other hosts: nftables marks replies with 3, but the fwmark rule wants 1"
nft delete table inet sockmux
nft add table ip smxv4
nft add chain ip smxv4 divert '{ type filter hook prerouting priority mangle; }'
nft add rule ip smxv4 divert meta l4proto tcp socket transparent 1 meta mark set 1 accept
"$SOCKMUX" check -c "$CONF" >"$T_DIR/check4.out" 2>&1
check "check: a table ip marks IPv4 only: IPv6 reported missing" \
	has "$T_DIR/check4.out" "ok       IPv4 backends on other hosts: nftables marks" \
	"MISSING  IPv6 backends on other hosts: no nftables rule"
nft delete table ip smxv4
grep -E '^ +nft ' "$T_DIR/check1.out" | sed 's/^ *//' | bash -e
# a same-host backend on an interface's address, not lo: no rule from it is given
sed -e 's/"198.18.127.40:[0-9]*"/"198.18.1.1:9999"/' "$CONF" >"$T_DIR/onif.conf"
"$SOCKMUX" check -c "$T_DIR/onif.conf" >"$T_DIR/check5.out" 2>&1
check "check: a backend on an interface's address: told to use one on lo, given no rule from it" \
	sh -c "grep -qF '198.18.1.1:9999 (backend local, this host): the address is on' '$T_DIR/check5.out' &&
	       ! grep -qF 'rule add from 198.18.1.1 ' '$T_DIR/check5.out'"
grep -E '9999|:[0-9]+: ' "$T_DIR/check5.out" | sed 's/^/# /'

"$SOCKMUX" route -c "$CONF" --listener remote --src 2001:db8:1::2 >"$T_DIR/route6.out" 2>&1
check "route: an IPv6 client of the transparent backend may use its IPv6 server only" \
	grep -qxF "transparent: connected from the client's own address; for [2001:db8:1::2]: [2001:db8:2::2]:8080" \
	"$T_DIR/route6.out"

# --- connections ------------------------------------------------------------------------------
# runs NS ADDR N SRC [EXPECT [EXPECT_PP [PROXY_LINE]]]: N connections, every one must see
# what it expects
runs() {
	local out
	out=$(in_ns "$1" python3 "$WHOAMI" count "$2" "$3" --src "$4" ${5:+--expect "$5"} \
		${6:+--expect-pp "$6"} ${7:+--send-proxy "$7"} 2>&1)
	LAST=$out
	[ "$out" = "ok=$3 wrong=0 failed=0" ]
}
tcount() { conn_lines | grep -c ' transparent=1 '; }

for engine in splice sockmap-now; do
	for pp in "" v1; do
		tag="$engine${pp:+, PROXY $pp}"
		n1=$N
		[ -n "$pp" ] && n1=100
		write_conf "$pp"
		if ! start_sockmux "$CONF" "$engine" "smx-$engine$pp"; then
			not_ok "$tag: sockmux starts"
			continue
		fi
		want=0
		for c in 198.18.1.2 2001:db8:1::2; do
			l=198.18.1.1:443
			[ "$c" = 2001:db8:1::2 ] && l="[2001:db8:1::1]:443"
			check "$tag: topology 1, $n1 connections in a row from $c: the backend sees $c" \
				runs c "$l" "$n1" "$c" "$c" "${pp:+$c}"
			[ "$LAST" = "ok=$n1 wrong=0 failed=0" ] || diag "$LAST"
			want=$((want + n1))
		done
		check "$tag: topology 1, a second client 198.18.1.3 is seen as itself" \
			runs c 198.18.1.1:443 50 198.18.1.3 198.18.1.3 "${pp:+198.18.1.3}"
		check "$tag: ... and 2001:db8:1::3" \
			runs c "[2001:db8:1::1]:443" 50 2001:db8:1::3 2001:db8:1::3 \
			"${pp:+2001:db8:1::3}"
		want=$((want + 100))
		check "$tag: topology 2 (backend on lo), 100 from 198.18.1.2: seen as itself" \
			runs c 198.18.1.1:444 100 198.18.1.2 198.18.1.2 "${pp:+198.18.1.2}"
		check "$tag: topology 2, 100 from 2001:db8:1::2: seen as itself" \
			runs c "[2001:db8:1::1]:444" 100 2001:db8:1::2 2001:db8:1::2 \
			"${pp:+2001:db8:1::2}"
		[ "$LAST" = "ok=100 wrong=0 failed=0" ] || diag "$LAST"
		want=$((want + 200))
		# clients on the sockmux host itself: no transparency, the backend sees the host
		check "$tag: a local client (198.18.1.1) is served, seen as the host's 198.18.2.1" \
			runs p 198.18.1.1:443 20 198.18.1.1 198.18.2.1 "${pp:+198.18.1.1}"
		check "$tag: a loopback client (127.0.0.1) is served, seen as 198.18.2.1" \
			runs p 127.0.0.1:443 20 127.0.0.1 198.18.2.1 "${pp:+127.0.0.1}"
		check "$tag: a local client of the backend on lo is served" \
			runs p 198.18.1.1:444 20 198.18.1.1 "*"
		# a PROXY header naming an IPv4-mapped client, on an IPv6 listener: the client
		# goes over IPv4, from its IPv4 address, to the IPv4 server (the header sockmux
		# sends on keeps the mapped form: its destination, the listener, is IPv6)
		check "$tag: a client named ::ffff:198.18.1.3 by a PROXY header is connected over IPv4" \
			runs c "[2001:db8:1::1]:447" 20 2001:db8:1::3 198.18.1.3 \
			"${pp:+::ffff:198.18.1.3}" \
			"PROXY TCP6 ::ffff:198.18.1.3 2001:db8:1::1 40000 447"
		[ "$LAST" = "ok=20 wrong=0 failed=0" ] || diag "$LAST"
		want=$((want + 20))
		if [ -n "$HAVE_NGINX" ] && [ -z "$pp" ]; then
			: >"$T_DIR/nginx-access.log"
			for i in $(seq 20); do
				in_ns c curl -s -o /dev/null --interface 198.18.1.2 http://198.18.1.1:448/
				in_ns c curl -s -o /dev/null --interface 2001:db8:1::2 \
					"http://[2001:db8:1::1]:448/"
			done
			check "$tag: nginx logs \$remote_addr 198.18.1.2 for 20 requests through sockmux" \
				test "$(grep -cx 'remote_addr=198.18.1.2' "$T_DIR/nginx-access.log")" = 20
			check "$tag: ... and 2001:db8:1::2 for 20 over IPv6" \
				test "$(grep -cx 'remote_addr=2001:db8:1::2' "$T_DIR/nginx-access.log")" = 20
			want=$((want + 40))
		fi
		in_ns c python3 "$WHOAMI" count "[2001:db8:1::1]:446" 1 --src 2001:db8:1::2 \
			>/dev/null 2>&1
		want=$((want + 1))	# its failure is a transparent connection's too
		sleep 0.3
		check "$tag: every transparent connection's log line says transparent=1 ($want)" \
			test "$(tcount)" = "$want"
		check "$tag: no local client's line says transparent=1" \
			test -z "$(conn_lines | grep -E 'client=(198\.18\.1\.1|127\.0\.0\.1):' |
				grep ' transparent=1 ')"
		check "$tag: an IPv6 client of an IPv4-only transparent backend is refused, saying why" \
			grep -q 'detail="transparent: an IPv6 client, no IPv6 server"' "$SMX_LOG"
		check "$tag: the log names the engine" \
			test "$(conn_lines | grep ' transparent=1 ' | grep -c " engine=${engine%-now} ")" -gt 0
		stop_sockmux "$tag"
	done
done

# --- user = "nobody" keeps what IP_TRANSPARENT needs --------------------------------------
if id nobody >/dev/null 2>&1; then
	chmod 755 "$T_DIR"
	write_conf "" 'user = "nobody";'
	if start_sockmux "$CONF" splice smx-nobody; then
		eff=$(awk '$1 == "CapEff:" { print $2 }' "/proc/$SMX_PID/status")
		check "user = nobody: CAP_NET_ADMIN and CAP_NET_BIND_SERVICE kept (CapEff $eff)" \
			test "$eff" = 0000000000001400
		check "user = nobody: the log says what it kept" \
			grep -q 'keeping only CAP_NET_BIND_SERVICE and CAP_NET_ADMIN' "$SMX_LOG"
		check "user = nobody: 100 transparent connections, each seen as its client" \
			runs c 198.18.1.1:443 100 198.18.1.2 198.18.1.2
		stop_sockmux "user = nobody"
	else
		not_ok "user = nobody: sockmux starts"
	fi
	# started without a transparent backend, the drop keeps no CAP_NET_ADMIN: a reload
	# that adds one is refused, and says to restart
	write_conf "" 'user = "nobody";'
	sed -i 's/transparent = true;//' "$CONF"
	if start_sockmux "$CONF" splice smx-nobody2; then
		write_conf "" 'user = "nobody";'
		"$SOCKMUX" reload --control "$CTL" >"$T_DIR/reload.out" 2>&1
		rc=$?
		check "user = nobody: a reload adding a transparent backend is refused (exit $rc)" \
			test "$rc" = 1 -a -n "$(grep 'may no longer set IP_TRANSPARENT' "$SMX_LOG")"
		stop_sockmux "user = nobody, reload refused"
	else
		not_ok "user = nobody, no transparent backend: sockmux starts"
	fi
fi
