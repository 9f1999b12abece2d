#!/bin/bash
# SPDX-License-Identifier: MIT
# protocols.sh - issue 12 end to end: everything users put behind one port, with real Debian
# clients and servers, each scenario run directly (client -> server, the oracle: it must pass
# there) and then through sockmux on each engine, where the client must see what it saw
# directly:
#  1. sslh's classic: OpenSSH `ssh` logs in to an `sshd` of the test's own through the port
#     that serves TLS to curl (nginx): routes { protocol = [ "ssh" ]; } and a default one.
#  2. HTTP by Host on a second listener: curl with Host app1.example.com and
#     www.app2.example.org reaches two nginx servers; an unknown Host and an HTTP/1.0 request
#     without Host reach the default one.
#  3. XMPP: a slixmpp client does STARTTLS, logs in to Prosody, gets its roster and a message
#     it sent itself, through { protocol = [ "xmpp" ]; host = [ "example.org" ]; }.
#  4. Server-first: a client that waits for an SMTP-like banner gets it through
#     { protocol = [ "timeout" ]; } after probe_ms (300 ms) and before probe_ms + 1 s.
#  5. Per-listener forwarding: listeners c2s, s2s and proxy65 each reach their own tagging
#     echo server through { listener = [ "..." ]; }; the bytes that a { listener =
#     [ "public" ]; } route takes on the public port are not taken on the others.
#  6. OpenVPN and SOCKS openers: captured first bytes (tests/fixtures/sniff/) reach the backend
#     of the openvpn, socks5 and socks4 routes exactly as sent; a live `openvpn` client's
#     opener reaches the openvpn route; `curl --socks5` fetches a page through microsocks.
#  7. A byte-by-byte client (one byte per write, 20 ms apart, until the server answers) is
#     routed as the whole one, for the TLS, SSH, HTTP and XMPP openers.
#  8. sockmux's log lines say protocol= and host=.
# SMX_DIRECT_ONLY=1 runs only the direct half (the oracles), without sockmux.
# SMX_SNIFF_FIXTURES=DIR replays the captured openers from DIR instead of tests/fixtures/sniff.
# Every server's files live in the test's directory; traffic stays on the namespace's
# loopback.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
trap 'exit 143' TERM INT	# so that the EXIT trap ends what was started

PY=/usr/bin/python3	# Debian's, with python3-slixmpp
PROTO=("$PY" "$SMX_TOP/tests/tools/smx-proto.py")
SNIFF=${SMX_SNIFF_FIXTURES:-$FIXTURES/sniff}
DIRECT_ONLY=${SMX_DIRECT_ONLY:-0}
TOKEN=$RANDOM	# what ssh's command prints, directly and through sockmux alike
TRICKLE_SRC=127.0.0.9	# the byte-by-byte clients' address, to tell their log lines apart

missing=""
for tool in sshd ssh ssh-keygen nginx curl openssl prosody prosodyctl openvpn microsocks; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
"$PY" -c 'import slixmpp' 2>/dev/null || missing="$missing python3-slixmpp"
if [ -n "$missing" ]; then
	not_ok "installed:$missing (scripts/install-deps.sh --test)"
	exit 1
fi

cd "$T_DIR" || exit 1
mkdir -p out recv nginx-tmp ssh prosody/data prosody/certs

# wait_listen PORT...: until something listens on each TCP port (5 s at most).
wait_listen() {
	local port i
	for port in "$@"; do
		for ((i = 0; i < 100; i++)); do
			[ -n "$(ss -Hltn "sport = :$port")" ] && break
			sleep 0.05
		done
		[ "$i" -lt 100 ] || return 1
	done
}

# --- the servers, each on its own port ----------------------------------------------------
# sshd: its own host key, config and authorized key; a private mount namespace gives it the
# empty /run/sshd it chroots into, without touching the machine's /run.
ssh-keygen -q -t ed25519 -N '' -C sshd-test -f ssh/host_key
ssh-keygen -q -t ed25519 -N '' -C client-test -f ssh/client_key
cp ssh/client_key.pub ssh/authorized_keys
echo "sshd-test $(cat ssh/host_key.pub)" >ssh/known_hosts
cat >ssh/sshd_config <<SSHD
Port 9022
ListenAddress 127.0.0.1
HostKey $T_DIR/ssh/host_key
PidFile $T_DIR/ssh/sshd.pid
AuthorizedKeysFile $T_DIR/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
UseDNS no
SSHD
bg "$T_DIR/sshd.log" unshare -m -- sh -c 'mount -t tmpfs -o mode=755 smx-sshd /run &&
	mkdir /run/sshd && exec /usr/sbin/sshd -D -e -f "$1"' _ "$T_DIR/ssh/sshd_config"

# nginx: the TLS server of scenario 1, the three HTTP servers of scenario 2 and the page
# fetched through SOCKS; every path in the test's directory
make_cert "$T_DIR/tls" tls.test
cat >nginx.conf <<NGINX
user root;
worker_processes 1;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log;
daemon off;
events { worker_connections 256; }
http {
  access_log $T_DIR/nginx-access.log;
  client_body_temp_path $T_DIR/nginx-tmp/body;
  proxy_temp_path $T_DIR/nginx-tmp/proxy;
  fastcgi_temp_path $T_DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $T_DIR/nginx-tmp/uwsgi;
  scgi_temp_path $T_DIR/nginx-tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:9443 ssl;
    ssl_certificate $T_DIR/tls.crt;
    ssl_certificate_key $T_DIR/tls.key;
    location / { return 200 "server=tls\n"; }
  }
  server { listen 127.0.0.1:9080; location / { return 200 "server=default\n"; } }
  server { listen 127.0.0.1:9081; location / { return 200 "server=app1\n"; } }
  server { listen 127.0.0.1:9082; location / { return 200 "server=app2\n"; } }
  server { listen 127.0.0.1:9090; location / { return 200 "server=files\n"; } }
}
NGINX
bg "$T_DIR/nginx.log" nginx -e "$T_DIR/nginx-error.log" -p "$T_DIR" -c "$T_DIR/nginx.conf"

# Prosody: example.org, c2s with STARTTLS required on 9222, no s2s, a user made by prosodyctl
make_cert "$T_DIR/prosody/certs/example.org" example.org
cat >prosody/prosody.cfg.lua <<LUA
pidfile = "$T_DIR/prosody/prosody.pid"
data_path = "$T_DIR/prosody/data"
certificates = "$T_DIR/prosody/certs"
run_as_root = true
prosody_user = "root"
prosody_group = "root"
interfaces = { "127.0.0.1" }
c2s_ports = { 9222 }
c2s_direct_tls_ports = { }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix" }
modules_disabled = { "s2s" }
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
log = { info = "$T_DIR/prosody.log" }
ssl = { certificate = "$T_DIR/prosody/certs/example.org.crt";
        key = "$T_DIR/prosody/certs/example.org.key" }
VirtualHost "example.org"
LUA
prosodyctl --config "$T_DIR/prosody/prosody.cfg.lua" register alice example.org s3cret \
	>"$T_DIR/prosodyctl.log" 2>&1
bg "$T_DIR/prosody-stdout.log" prosody --config "$T_DIR/prosody/prosody.cfg.lua" -F

# the small peers: a banner server (SMTP's stand-in) and tagging echo servers, which keep
# what each connection sent in recv/TAG.N.bin
bg "$T_DIR/peers.log" "${PROTO[@]}" serve "$T_DIR/recv" banner:smtp=127.0.0.1:9025 \
	home_c2s=127.0.0.1:9522 home_s2s=127.0.0.1:9569 home_proxy65=127.0.0.1:9500 \
	public_echo=127.0.0.1:9600 vpn=127.0.0.1:9194 socks5_tag=127.0.0.1:9108 \
	socks4_tag=127.0.0.1:9104

# a SOCKS5 server
bg "$T_DIR/microsocks.log" microsocks -i 127.0.0.1 -p 9180

if wait_listen 9022 9443 9080 9081 9082 9090 9222 9025 9522 9569 9500 9600 9194 9108 9104 \
	9180; then
	ok "servers listen: sshd, nginx, prosody, microsocks, banner and tagging servers"
else
	not_ok "servers listen: sshd, nginx, prosody, microsocks, banner and tagging servers"
	exit 1
fi

# --- sockmux's configuration: the issue's shape --------------------------------------------
cat >smx.conf <<CONF
listen = (
  { address = "127.0.0.1:8443"; name = "public"; },
  { address = "127.0.0.1:8080"; name = "http"; },
  { address = "127.0.0.1:5222"; name = "c2s"; },
  { address = "127.0.0.1:5269"; name = "s2s"; },
  { address = "127.0.0.1:5000"; name = "proxy65"; },
  { address = "127.0.0.1:1080"; name = "socks"; }
);
# handshake_ms leaves room for a byte-by-byte ClientHello (517 bytes, 20 ms apart)
timeouts = { handshake_ms = 15000; connect_ms = 2000; probe_ms = 300; };
control = "$T_DIR/control.sock";
backends = {
  sshd         = { address = "127.0.0.1:9022"; };
  tls          = { address = "127.0.0.1:9443"; };
  app1         = { address = "127.0.0.1:9081"; };
  app2         = { address = "127.0.0.1:9082"; };
  http_default = { address = "127.0.0.1:9080"; };
  prosody      = { address = "127.0.0.1:9222"; };
  smtp         = { address = "127.0.0.1:9025"; };
  home_c2s     = { address = "127.0.0.1:9522"; };
  home_s2s     = { address = "127.0.0.1:9569"; };
  home_proxy65 = { address = "127.0.0.1:9500"; };
  public_echo  = { address = "127.0.0.1:9600"; };
  vpn          = { address = "127.0.0.1:9194"; };
  socks5_tag   = { address = "127.0.0.1:9108"; };
  socks4_tag   = { address = "127.0.0.1:9104"; };
  microsocks   = { address = "127.0.0.1:9180"; };
};
routes = (
  # first, so that it would take the other listeners' bytes if listener were ignored
  { listener = [ "public" ]; protocol = [ "unknown" ]; backend = "public_echo"; },
  { listener = [ "c2s" ]; backend = "home_c2s"; },
  { listener = [ "s2s" ]; backend = "home_s2s"; },
  { listener = [ "proxy65" ]; backend = "home_proxy65"; },
  { protocol = [ "timeout" ]; listener = [ "public" ]; backend = "smtp"; },
  { protocol = [ "ssh" ]; backend = "sshd"; },
  { protocol = [ "xmpp" ]; host = [ "example.org" ]; backend = "prosody"; },
  { protocol = [ "http" ]; host = [ "app1.example.com" ]; backend = "app1"; },
  { protocol = [ "http" ]; host = [ "*.app2.example.org" ]; backend = "app2"; },
  { listener = [ "http" ]; backend = "http_default"; },
  { listener = [ "socks" ]; protocol = [ "socks5" ]; backend = "microsocks"; },
  { protocol = [ "openvpn" ]; backend = "vpn"; },
  { protocol = [ "socks5" ]; backend = "socks5_tag"; },
  { protocol = [ "socks4" ]; backend = "socks4_tag"; },
  { backend = "tls"; }
);
CONF

# --- helpers --------------------------------------------------------------------------------
# run_client NAME CMD...: CMD's stdout in $OUT/NAME, its stderr in $OUT/NAME.err
run_client() {
	local name=$1
	shift
	"$@" >"$OUT/$name" 2>"$OUT/$name.err"
}

# client_bg NAME CLIENT ARGS...: run_client in the background for one of the client
# functions below, which exec their client there (RUNNER=exec): its PID, in CLIENT_PIDS and
# T_PIDS, is the client's own.
client_bg() {
	local name=$1
	shift
	(RUNNER="exec" run_client "$name" "$@") &
	CLIENT_PIDS+=("$!")
	T_PIDS+=("$!")
}
RUNNER=""	# the client functions run their client as a child, or exec it

# saw NAME PATTERN: the client's output holds a line matching PATTERN (an ERE) and, through
# sockmux, is what it was directly, byte for byte.
saw() {
	grep -qE -- "$2" "$OUT/$1" || return 1
	[ "$MODE" = direct ] || cmp -s "$T_DIR/out/direct/$1" "$OUT/$1"
}

# expect NAME PATTERN DESCRIPTION: one TAP line for saw, with what the client printed.
expect() {
	local shown
	shown=$(head -c 120 "$OUT/$1" | tr '\n' ' ')
	if saw "$1" "$2"; then
		ok "$MODE: $3 ($shown)"
	else
		not_ok "$MODE: $3 ($shown)"
		tail -n 3 "$OUT/$1.err" | sed 's/^/#   stderr: /'
	fi
}

# mark: later log lookups only look at connections logged after this point.
mark() { [ "$MODE" = direct ] || MARK=$(conn_lines | wc -l); }

# logged BACKEND [SRC]: LINE = the last log line since mark of a connection to BACKEND from
# SRC (default 127.0.0.1), waiting up to 2 s for it (written when the connection ends), or
# 0.5 s when SRC's connection was logged with another backend.
logged() {
	local i lines src=${2:-127.0.0.1}
	for ((i = 0; i < 40; i++)); do
		lines=$(conn_lines | tail -n +$((MARK + 1)) | grep -E " client=$src:[0-9]+ ")
		LINE=$(grep -E " backend=$1 " <<<"$lines" | tail -n 1)
		[ -n "$LINE" ] && return 0
		[ "$i" -ge 10 ] && [ -n "$lines" ] && break
		sleep 0.05
	done
	LINE=$(tail -n 1 <<<"$lines")
	return 1
}

# says BACKEND KEY=VALUE...: one TAP line: the connection to BACKEND from $FROM (default
# 127.0.0.1) was logged with these fields (a value "" means the key is absent or "-");
# through sockmux only. Keeps the route it took in ROUTE[BACKEND/FROM].
says() {
	local backend=$1 kv want got bad="" src=${FROM:-127.0.0.1}
	shift
	[ "$MODE" = direct ] && return 0
	if ! logged "$backend" "$src"; then
		not_ok "$MODE: a log line for the connection from $src to backend $backend"
		[ -n "$LINE" ] && diag "instead: $LINE"
		return
	fi
	for kv in "$@"; do
		want=${kv#*=}
		got=$(field "$LINE" "${kv%%=*}")
		[ "$got" = - ] && got=""
		[ "$got" = "$want" ] || bad="$bad ${kv%%=*}=$got"
	done
	ROUTE[$backend/$src]=$(field "$LINE" route)
	if [ -z "$bad" ]; then
		ok "$MODE: logged for $backend: $*"
	else
		not_ok "$MODE: logged for $backend: $* (got$bad)"
		diag "$LINE"
	fi
}

# forget PID...: PIDs that ended leave T_PIDS, so that the cleanup never signals a reused one
forget() {
	local pid gone keep=()
	for pid in "${T_PIDS[@]}"; do
		for gone in "$@"; do
			[ "$pid" = "$gone" ] && continue 2
		done
		keep+=("$pid")
	done
	T_PIDS=("${keep[@]}")
}

# at SERVER_PORT SOCKMUX_PORT: the port a client connects to in this mode
at() { [ "$MODE" = direct ] && echo "$1" || echo "$2"; }

# ssh_run PORT [SECONDS]: ssh root@127.0.0.1 -p PORT "echo ok-$TOKEN" with the test's key
ssh_run() {
	$RUNNER timeout "${2:-5}" ssh -F /dev/null -i "$T_DIR/ssh/client_key" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o HostKeyAlias=sshd-test \
		-o UserKnownHostsFile="$T_DIR/ssh/known_hosts" -o StrictHostKeyChecking=yes \
		-o ConnectTimeout=5 -o LogLevel=ERROR -p "$1" root@127.0.0.1 "echo ok-$TOKEN"
}

# tls_get PORT [SECONDS]: GET https://tls.test:PORT/, verifying nginx's certificate
tls_get() {
	$RUNNER curl -sS --max-time "${2:-3}" --cacert "$T_DIR/tls.crt" \
		--resolve "tls.test:$1:127.0.0.1" "https://tls.test:$1/"
}

# http_get PORT HOST [curl args]: GET / with that Host (through --resolve: HOST:PORT); a
# later --max-time wins
http_get() {
	local port=$1 host=$2
	shift 2
	$RUNNER curl -sS --max-time 3 --resolve "$host:$port:127.0.0.1" "$@" \
		"http://$host:$port/"
}

xmpp_login() {
	$RUNNER "${PROTO[@]}" xmpp "127.0.0.1:$1" alice@example.org s3cret \
		"$T_DIR/prosody/certs/example.org.crt"
}

XMPP_STEPS='^message to itself received$'

# --- the scenarios ----------------------------------------------------------------------
# 7 starts first and runs beside the others: its clients take seconds to trickle their
# openers; they go through a relay that sends the client's bytes one per write, 20 ms apart,
# until the server answers, from $TRICKLE_SRC.
trickle_start() {
	bg "$T_DIR/trickle-$MODE.log" "${PROTO[@]}" trickle --gap-ms 20 --src "$TRICKLE_SRC" \
		7001="127.0.0.1:$(at 9022 8443)" 7002="127.0.0.1:$(at 9443 8443)" \
		7003="127.0.0.1:$(at 9082 8080)" 7004="127.0.0.1:$(at 9222 8443)"
	TRICKLE_PID=$BG_PID
	wait_listen 7001 7002 7003 7004 || diag "the trickle relay does not listen"
	CLIENT_PIDS=()
	client_bg slow-ssh ssh_run 7001 8
	client_bg slow-tls tls_get 7002 15	# curl's 517 bytes take 10.4 s
	client_bg slow-http http_get 7003 www.app2.example.org --max-time 8
	client_bg slow-xmpp xmpp_login 7004
}

trickle_check() {
	local pid
	for pid in "${CLIENT_PIDS[@]}"; do
		wait "$pid"
	done
	stop_pid "$TRICKLE_PID"
	forget "$TRICKLE_PID" "${CLIENT_PIDS[@]}"
	expect slow-ssh "^ok-$TOKEN\$" "7: byte-by-byte ssh logs in as the whole one"
	expect slow-tls '^server=tls$' "7: byte-by-byte curl (TLS) reaches the TLS server"
	expect slow-http '^server=app2$' "7: byte-by-byte curl (HTTP) reaches app2 by its Host"
	expect slow-xmpp "$XMPP_STEPS" "7: byte-by-byte slixmpp logs in to Prosody"
	[ "$MODE" = direct ] && return
	MARK=0	# they ended while the others ran
	FROM=$TRICKLE_SRC says sshd protocol=ssh
	FROM=$TRICKLE_SRC says tls protocol=tls host=tls.test
	FROM=$TRICKLE_SRC says app2 protocol=http host=www.app2.example.org
	FROM=$TRICKLE_SRC says prosody protocol=xmpp host=example.org
	local b
	for b in sshd tls app2 prosody; do
		check "$MODE: 7: the byte-by-byte client to $b took the whole one's route" \
			test "${ROUTE[$b/$TRICKLE_SRC]:-x}" = "${ROUTE[$b/127.0.0.1]:-y}"
	done
}

scenario_sslh() {
	local port
	port=$(at 9022 8443)
	mark
	run_client ssh ssh_run "$port"
	expect ssh "^ok-$TOKEN\$" "1: ssh (key, BatchMode) runs a command on sshd on port $port"
	says sshd protocol=ssh
	port=$(at 9443 8443)
	mark
	run_client tls tls_get "$port"
	expect tls '^server=tls$' "1: curl (TLS, the test CA) reaches nginx on port $port"
	says tls protocol=tls host=tls.test sni=tls.test
}

scenario_http() {
	mark
	run_client app1 http_get "$(at 9081 8080)" app1.example.com
	expect app1 '^server=app1$' "2: curl with Host app1.example.com reaches app1"
	says app1 protocol=http host=app1.example.com
	mark
	run_client app2 http_get "$(at 9082 8080)" www.app2.example.org
	expect app2 '^server=app2$' "2: curl with Host www.app2.example.org reaches app2"
	says app2 protocol=http host=www.app2.example.org
	mark
	run_client other http_get "$(at 9080 8080)" unknown.example.net
	expect other '^server=default$' "2: curl with an unknown Host reaches the default server"
	says http_default protocol=http host=unknown.example.net
	mark
	run_client nohost http_get "$(at 9080 8080)" 127.0.0.1 -0 -H 'Host:'
	expect nohost '^server=default$' "2: an HTTP/1.0 request without Host reaches the default"
	says http_default protocol=http host=
}

scenario_xmpp() {
	mark
	run_client xmpp xmpp_login "$(at 9222 8443)"
	expect xmpp "$XMPP_STEPS" "3: slixmpp: STARTTLS, login, roster, a message to itself"
	says prosody protocol=xmpp host=example.org
}

scenario_banner() {
	local ms
	mark
	run_client banner "${PROTO[@]}" banner "127.0.0.1:$(at 9025 8443)"
	ms=$(sed -n 's/^ms=//p' "$OUT/banner.err")
	expect banner '^answer=250 EHLO client.test$' "4: a silent client gets the banner first"
	if [ "$MODE" = direct ]; then
		check "$MODE: 4: ... at once (${ms:-?} ms)" test "${ms:-9999}" -lt 300
	else
		check "$MODE: 4: ... after probe_ms, within 1 s more (300 <= ${ms:-?} ms < 1300)" \
			test "${ms:-0}" -ge 300 -a "${ms:-9999}" -lt 1300
		says smtp protocol=timeout
	fi
}

scenario_listeners() {
	local spec name server_port smx_port route port
	printf '@hello from a client\n' >"$T_DIR/hello.txt"
	# listener:server's port:sockmux's port:the route that takes it
	for spec in c2s:9522:5222:2 s2s:9569:5269:3 proxy65:9500:5000:4 public:9600:8443:1; do
		IFS=: read -r name server_port smx_port route <<<"$spec"
		port=$(at "$server_port" "$smx_port")
		mark
		run_client "listener-$name" "${PROTO[@]}" send "127.0.0.1:$port" "$T_DIR/hello.txt"
		if [ "$name" = public ]; then
			expect "listener-$name" '^tag=public_echo ' \
				"5: on public, the listener = public route takes the same bytes"
			says public_echo protocol=unknown route=1
		else
			expect "listener-$name" "^tag=home_$name " \
				"5: listener $name (port $port) reaches its own echo server"
			says "home_$name" "route=$route"
		fi
	done
}

# replay FILE TAG SERVER_PORT: FILE's bytes reach TAG's server exactly as sent, and come back
replay() {
	local file=$1 tag=$2 name before
	name=$(basename "$file" .bin)
	if [ ! -f "$file" ]; then
		not_ok "$MODE: 6: the capture $file exists (or give SMX_SNIFF_FIXTURES=DIR)"
		return
	fi
	before=$(received "$tag")
	mark
	run_client "replay-$name" "${PROTO[@]}" send "127.0.0.1:$(at "$3" 8443)" "$file"
	expect "replay-$name" "^tag=$tag len=$(stat -c %s "$file") " \
		"6: $name's opener reaches $tag"
	check "$MODE: 6: ... which received it byte for byte, and echoed it" \
		received_as_sent "$file" "$tag" "$before" "$OUT/replay-$name"
}

# received_as_sent FILE TAG BEFORE CLIENT_OUT: TAG's server kept a connection more than
# BEFORE, the last one holding FILE's bytes, and the client read them back.
received_as_sent() {
	[ "$(received "$2")" -gt "$3" ] && cmp -s "$1" "$(newest "$2")" &&
		grep -qx echo=same "$4"
}

# newest TAG: the file TAG's server wrote for its last connection
newest() { find "$T_DIR/recv" -name "$1.*.bin" | sort -V | tail -n 1; }

# received TAG: how many connections TAG's server kept
received() { find "$T_DIR/recv" -name "$1.*.bin" | wc -l; }

# live_openvpn_reset BEFORE: TAG vpn kept a connection more than BEFORE, whose first packet
# is a P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, in the top 5 bits after the length)
live_openvpn_reset() {
	local i opcode
	for ((i = 0; i < 40; i++)); do
		[ "$(received vpn)" -gt "$1" ] && break
		sleep 0.05
	done
	opcode=$(od -An -tu1 -j2 -N1 "$(newest vpn)" 2>/dev/null | tr -d ' ')
	diag "$MODE: openvpn's first packet has opcode $((${opcode:-0} >> 3))"
	[ "$(received vpn)" -gt "$1" ] && [ "$((${opcode:-0} >> 3))" = 7 ]
}

scenario_openers() {
	replay "$SNIFF/openvpn-client.bin" vpn 9194
	says vpn protocol=openvpn
	replay "$SNIFF/socks5-curl.bin" socks5_tag 9108
	says socks5_tag protocol=socks5
	replay "$SNIFF/socks4-curl.bin" socks4_tag 9104
	says socks4_tag protocol=socks4
	# the variants captured beside them, where there are (tls-auth, tls-crypt, SOCKS4a, ...)
	local file
	for file in "$SNIFF"/openvpn-client-*.bin; do
		[ -f "$file" ] || continue
		replay "$file" vpn 9194
		says vpn protocol=openvpn
	done
	for file in "$SNIFF"/socks4a-*.bin; do
		[ -f "$file" ] || continue
		replay "$file" socks4_tag 9104
		says socks4_tag protocol=socks4
	done

	# a live openvpn client (TLS mode, a throwaway certificate): its first packet reaches
	# the openvpn route and is a P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7)
	local before
	before=$(received vpn)
	mark
	timeout 1.5 openvpn --client --proto tcp-client --remote 127.0.0.1 "$(at 9194 8443)" \
		--dev null --nobind --ca "$T_DIR/tls.crt" --cert "$T_DIR/tls.crt" \
		--key "$T_DIR/tls.key" --connect-retry-max 1 --verb 1 >"$OUT/openvpn.log" 2>&1
	check "$MODE: 6: a live openvpn client's first packet reaches vpn, a reset (opcode 7)" \
		live_openvpn_reset "$before"
	says vpn protocol=openvpn

	mark
	run_client socks curl -sS --max-time 3 --socks5 "127.0.0.1:$(at 9180 1080)" \
		http://127.0.0.1:9090/
	expect socks '^server=files$' "6: curl --socks5 fetches a page through microsocks"
	says microsocks protocol=socks5
}

# run MODE: every scenario once, directly (MODE direct) or through the running sockmux
run() {
	MODE=$1
	OUT=$T_DIR/out/$MODE
	MARK=0
	mkdir -p "$OUT"
	trickle_start
	scenario_sslh
	scenario_http
	scenario_xmpp
	scenario_banner
	scenario_listeners
	scenario_openers
	trickle_check
}

declare -A ROUTE
run direct
[ "$DIRECT_ONLY" = 1 ] && exit 0

smx_check() { "$SOCKMUX" check -c "$T_DIR/smx.conf" >"$T_DIR/check.log" 2>&1; }
check "sockmux check accepts the configuration" smx_check
for engine in splice sockmap; do
	if ! start_sockmux "$T_DIR/smx.conf" "$engine" "smx-$engine" ||
		! wait_listen 8443 8080 5222 5269 5000 1080; then
		not_ok "$engine: sockmux starts"
		stop_pid "$SMX_PID"
		forget "$SMX_PID"
		continue
	fi
	run "$engine"
	stop_sockmux "$engine"
	forget "$SMX_PID"
done
