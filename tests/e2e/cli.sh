#!/bin/bash
# SPDX-License-Identifier: MIT
# cli.sh - the command line as a user meets it: check prints the config or FILE:LINE errors
# with exit 1, route explains its choice with the documented exit codes, run refuses a bad
# file without starting, --help works on every command.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

conf=$SMX_TOP/examples/sockmux.conf

out=$("$SOCKMUX" check -c "$conf" 2>&1)
check "check: example config is OK (exit 0)" test $? = 0
check "check: prints the routes in order" \
	sh -c "printf '%s\n' \"\$1\" | grep -A3 '^routes:' | sed -n 2p | grep -q 'xmpp-client'" _ "$out"

printf 'listen = ( { address = "0.0.0.0:443"; } );\nbackends = { web = { adress = "127.0.0.1:1"; }; };\nroutes = ( { backend = "web"; } );\n' \
	>"$T_DIR/unknown.conf"
out=$("$SOCKMUX" check -c "$T_DIR/unknown.conf" 2>&1)
rc=$?
diag "$out"
check "check: unknown key -> exit 1" test "$rc" = 1
check "check: unknown key -> FILE:LINE names file, line 2 and the key" \
	grep -q "^$T_DIR/unknown.conf:2: .*adress" <<<"$out"

printf 'listen = ( { address = "0.0.0.0:443"; } );\nbackends = { web = { address = "127.0.0.1:1"; }; };\nroutes = (\n  { sni = [ "a.example" ]; backend = "web"; },\n  { backend = "wbe"; }\n);\n' \
	>"$T_DIR/missing.conf"
out=$("$SOCKMUX" check -c "$T_DIR/missing.conf" 2>&1)
diag "$out"
check "check: route naming a missing backend -> FILE:5 error naming it" \
	grep -q "^$T_DIR/missing.conf:5: .*wbe" <<<"$out"

printf 'listen = ( { address = "localhost:443"; } );\nbackends = { web = { address = "127.0.0.1:1"; }; };\nroutes = ( { backend = "web"; } );\n' \
	>"$T_DIR/addr.conf"
out=$("$SOCKMUX" check -c "$T_DIR/addr.conf" 2>&1)
diag "$out"
check "check: unparsable address -> FILE:1 error" grep -q "^$T_DIR/addr.conf:1: " <<<"$out"

printf 'listen = ( { address = "0.0.0.0:443"; } \n' >"$T_DIR/syntax.conf"
out=$("$SOCKMUX" check -c "$T_DIR/syntax.conf" 2>&1)
diag "$out"
check "check: syntax error -> FILE:LINE error, exit 1" \
	grep -qE "^$T_DIR/syntax.conf:[0-9]+: " <<<"$out"

out=$("$SOCKMUX" check -c "$T_DIR/nonexistent.conf" 2>&1)
check "check: missing file -> error naming it, exit 1" \
	grep -q "nonexistent.conf" <<<"$out"

out=$("$SOCKMUX" run -c "$T_DIR/missing.conf" 2>&1)
rc=$?
check "run: bad config -> exit 1 with FILE:LINE, nothing started" \
	test "$rc" = 1 -a -n "$(grep "^$T_DIR/missing.conf:5: " <<<"$out")"

out=$("$SOCKMUX" route -c "$conf" --sni Example.ORG. --alpn h2,xmpp-client)
rc=$?
diag "$out"
check "route: example.org + xmpp-client -> prosody, exit 0" \
	test "$rc" = 0 -a -n "$(grep -- '-> backend prosody' <<<"$out")"
out=$("$SOCKMUX" route -c "$conf" --sni example.org --alpn h2)
check "route: example.org + h2 -> web" grep -q -- '-> backend web' <<<"$out"
check "route: ... and says why route 1 did not match" grep -q '^#1 .*no match' <<<"$out"

printf 'listen = ( { address = "0.0.0.0:443"; } );\nbackends = { web = { address = "127.0.0.1:1"; }; };\nroutes = ( { sni = [ "a.example" ]; backend = "web"; } );\n' \
	>"$T_DIR/nodefault.conf"
"$SOCKMUX" route -c "$T_DIR/nodefault.conf" --not-tls >/dev/null
check "route: nothing matches -> exit 2" test $? = 2
"$SOCKMUX" route -c "$conf" --sni 'bad name' >/dev/null 2>&1
check "route: invalid --sni -> exit 1" test $? = 1

# every example configuration is valid, and routes as its comments say
for f in "$SMX_TOP"/examples/*.conf; do
	"$SOCKMUX" check -c "$f" >"$T_DIR/check.out" 2>&1
	check "check: ${f##*/} is valid" test $? = 0
done
ex=$SMX_TOP/examples
out=$("$SOCKMUX" route -c "$ex/vps-front.conf" --listener c2s --protocol unknown)
check "route --listener c2s: the c2s forward, whatever the bytes" \
	grep -q -- '-> backend home_c2s 100.64.0.2:5222' <<<"$out"
out=$("$SOCKMUX" route -c "$ex/vps-front.conf" --listener public --sni example.org --alpn xmpp-client)
check "route --listener public, SNI + xmpp-client: Prosody's direct TLS, past the other ports" \
	grep -q -- '-> backend home_xmpps' <<<"$out"
check "route: ... saying why the c2s forward did not take it" \
	grep -q '^#1 .*listener "public" not in \[c2s\] -> no match' <<<"$out"
out=$("$SOCKMUX" route -c "$ex/ssh-and-https.conf" --protocol ssh)
check "route --protocol ssh: sshd" grep -q -- '-> backend sshd' <<<"$out"
out=$("$SOCKMUX" route -c "$ex/ssh-and-https.conf" --protocol timeout)
check "route --protocol timeout: a silent client goes to sshd too" grep -q -- '-> backend sshd' <<<"$out"
out=$("$SOCKMUX" route -c "$ex/http-by-host.conf" --listener http --protocol http --host Eu.App1.Example.com)
check "route --protocol http --host: by Host, case-insensitively, *.suffix" \
	grep -q -- '-> backend app1_http' <<<"$out"
out=$("$SOCKMUX" route -c "$ex/http-by-host.conf" --listener http --protocol http)
check "route --protocol http without a Host: the default server" \
	grep -q -- '-> backend default_http' <<<"$out"
"$SOCKMUX" route -c "$ex/http-by-host.conf" --protocol gopher >/dev/null 2>&1
check "route: unknown --protocol -> exit 1" test $? = 1
"$SOCKMUX" route -c "$ex/http-by-host.conf" --protocol http --sni a.example >/dev/null 2>&1
check "route: --sni with a protocol other than tls -> exit 1" test $? = 1

for cmd in run check route; do
	"$SOCKMUX" "$cmd" --help | grep -q "^usage: sockmux $cmd"
	check "$cmd --help prints its usage" test $? = 0
done
"$SOCKMUX" version | grep -qE '^sockmux [0-9a-f.]+'
check "version prints the version" test $? = 0
"$SOCKMUX" frobnicate >/dev/null 2>&1
check "unknown command -> exit 1" test $? = 1
