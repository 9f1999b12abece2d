#!/bin/sh
# SPDX-License-Identifier: MIT
#
# capture-hello.sh - re-capture the ClientHello fixtures of tests/fixtures/hello/.
#
# For each client, a one-shot listener on 127.0.0.1 accepts one connection, reads what the
# client sends for about a second, writes those raw bytes to NAME.bin and closes; the client
# then fails its handshake, which is expected. Needs python3, openssl, curl and chromium.
#
# usage: scripts/capture-hello.sh [OUTDIR]   (default: tests/fixtures/hello)
set -eu

OUT=${1:-tests/fixtures/hello}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# listen FILE [WANT]: start the listener in the background; set LISTENER and PORT once it
# listens. It keeps the first connection that starts like TLS (and holds the bytes WANT).
listen() {
	rm -f "$TMP/port"
	python3 - "$1" "$TMP/port" "${2:-}" >/dev/null <<'EOF' &
import os, socket, sys, time
out, portfile, want = sys.argv[1], sys.argv[2], sys.argv[3].encode()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
srv.settimeout(60)
# a browser also opens connections of its own (plain HTTP, update checks): skip them
while True:
    conn, _ = srv.accept()
    data, reads = b"", []
    end = time.time() + 1.0
    while time.time() < end:
        conn.settimeout(max(0.01, end - time.time()))
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        reads.append(len(chunk))
    conn.close()
    if (data[:1] == b"\x16" or data[:1] >= b"\x80") and want in data:
        break
srv.close()
print("%s: reads of %s bytes" % (os.path.basename(out), reads), file=sys.stderr)
with open(out, "wb") as f:
    f.write(data)
EOF
	LISTENER=$!
	while [ ! -s "$TMP/port" ]; do sleep 0.05; done
	PORT=$(cat "$TMP/port")
}

# capture NAME WANT CMD...: run CMD (with @PORT@ replaced) against a fresh listener.
capture() {
	name=$1
	want=$2
	shift 2
	listen "$OUT/$name.bin" "$want"
	cmd=$(printf '%s\n' "$*" | sed "s/@PORT@/$PORT/g")
	sh -c "$cmd" </dev/null >/dev/null 2>&1 || true
	wait "$LISTENER"
	echo "$name.bin: $(wc -c <"$OUT/$name.bin") bytes"
}

capture openssl-xmpp "" \
	"timeout 10 openssl s_client -connect 127.0.0.1:@PORT@ -servername example.org -alpn xmpp-client"
capture openssl-h2 "" \
	"timeout 10 openssl s_client -connect 127.0.0.1:@PORT@ -servername www.example.org -alpn h2,http/1.1"
capture openssl-nosni "" \
	"timeout 10 openssl s_client -connect 127.0.0.1:@PORT@"
capture curl "" \
	"timeout 10 curl -sk --resolve example.org:@PORT@:127.0.0.1 https://example.org:@PORT@/"
capture chromium chat.example.org \
	"timeout 20 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	 --disable-background-networking --disable-component-update --disable-sync \
	 --user-data-dir=$TMP/chromium --host-resolver-rules='MAP * 127.0.0.1:@PORT@' \
	 --dump-dom https://chat.example.org/"

# Synthetic: an SSLv2-format CLIENT-HELLO (2-byte header, version 0x0301 as a TLS 1.0 client in
# SSLv2 compatibility mode sent it), built from the SSLv2 spec: seven cipher specs, no
# session id, a fixed 16-byte challenge.
python3 - "$OUT/sslv2.bin" <<'PY'
import sys
specs = bytes.fromhex("000039" "000038" "000035" "000033" "00002f" "010080" "0000ff")
challenge = bytes(range(0x40, 0x50))
body = (b"\x01" + b"\x03\x01" + len(specs).to_bytes(2, "big") + b"\x00\x00" +
        len(challenge).to_bytes(2, "big") + specs + challenge)
with open(sys.argv[1], "wb") as f:
    f.write(bytes([0x80 | len(body) >> 8, len(body) & 0xff]) + body)
PY
echo "sslv2.bin: $(wc -c <"$OUT/sslv2.bin") bytes (synthetic)"
