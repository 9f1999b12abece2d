#!/bin/sh
# SPDX-License-Identifier: MIT
#
# capture-hello.sh - re-capture the ClientHello fixtures of tests/fixtures/hello/.
#
# For each client, a one-shot listener on 127.0.0.1 accepts one connection, reads what the
# client sends for about a second, writes those raw bytes to NAME.bin and closes; the client
# then fails its handshake, which is expected. Needs python3, openssl, curl and chromium.
#
# With --seeds, it captures nothing: it copies the fixtures of OUTDIR to CORPUS as fuzz seeds
# and adds hostile seeds derived from them (tiny records, lying lengths, duplicates, limits).
#
# usage: scripts/capture-hello.sh [OUTDIR]                (default: tests/fixtures/hello)
#        scripts/capture-hello.sh --seeds OUTDIR CORPUS   (the repo's: tests/fuzz/seeds/tls_hello)
set -eu

SEEDS=
if [ "${1:-}" = --seeds ]; then
	SEEDS=1
	shift
fi
OUT=${1:-tests/fixtures/hello}
CORPUS=${2:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# seeds: copy the fixtures to $CORPUS as seeds, and add hostile ones.
seeds() {
	mkdir -p "$CORPUS"
	cp "$OUT"/*.bin "$CORPUS"/
	python3 - "$OUT" "$CORPUS" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]

def u16(v): return v.to_bytes(2, "big")
def u24(v): return v.to_bytes(3, "big")

def unframe(raw):
    hs, pos = b"", 0
    while len(hs) < 4 or len(hs) < 4 + int.from_bytes(hs[1:4], "big"):
        n = int.from_bytes(raw[pos + 3:pos + 5], "big")
        hs += raw[pos + 5:pos + 5 + n]
        pos += 5 + n
    return hs[:4 + int.from_bytes(hs[1:4], "big")]

def frame(hs, size):
    return b"".join(b"\x16\x03\x01" + u16(len(hs[i:i + size])) + hs[i:i + size]
                    for i in range(0, len(hs), size))

def ext(t, data): return u16(t) + u16(len(data)) + data
def sni(name): return ext(0, u16(len(name) + 3) + b"\x00" + u16(len(name)) + name)
def alpn(*names):
    lst = b"".join(bytes([len(n)]) + n for n in names)
    return ext(16, u16(len(lst)) + lst)

def hello(exts):
    body = (b"\x03\x03" + bytes(32) + b"\x20" + b"\x5a" * 32 + u16(4) + b"\x13\x01\x13\x02" +
            b"\x01\x00")
    if exts is not None:
        body += u16(len(exts)) + exts
    return b"\x01" + u24(len(body)) + body

def write(name, data):
    with open(os.path.join(dst, name), "wb") as f:
        f.write(data)

curl = unframe(open(os.path.join(src, "curl.bin"), "rb").read())
chromium = unframe(open(os.path.join(src, "chromium.bin"), "rb").read())
write("curl-records-1", frame(curl, 1))
write("chromium-records-7", frame(chromium, 7))
write("chromium-then-ccs", frame(chromium, 16384) + b"\x14\x03\x03\x00\x01\x01")
write("grease-unknown", frame(hello(ext(0x0a0a, b"") + ext(0x1234, b"x") + sni(b"Example.ORG.") +
                                    ext(0x0a0a, b"\x00") + alpn(b"\x0a\x0a", b"h2")), 16384))
write("dup-sni", frame(hello(sni(b"a.example") + sni(b"b.example")), 16384))
write("dup-alpn", frame(hello(alpn(b"h2") + alpn(b"h2")), 16384))
write("dup-host-name", frame(hello(ext(0, u16(8) + b"\x00" + u16(1) + b"a" + b"\x00" + u16(1) +
                                       b"b")), 16384))
write("sni-nul", frame(hello(sni(b"exa\x00mple.org")), 16384))
write("sni-dot", frame(hello(sni(b".")), 16384))
write("sni-256", frame(hello(sni(b"a" * 256)), 16384))
write("alpn-empty-name", frame(hello(ext(16, u16(4) + b"\x00\x02h2")), 16384))
write("oversize-header", b"\x16\x03\x01\x40\x00\x01\x00\x40\x00")
write("appdata-second-record", frame(curl, 100)[:105] + b"\x17" + frame(curl, 100)[106:])
write("record-length-0", b"\x16\x03\x01\x00\x00")
write("no-extensions", frame(hello(None), 16384))
write("http", b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n")
write("ssh", b"SSH-2.0-OpenSSH_9.2p1\r\n")
PY
	echo "seed corpus: $(ls "$CORPUS" | wc -l) files in $CORPUS"
}

if [ -n "$SEEDS" ]; then
	seeds
	exit 0
fi

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

S_CLIENT="timeout 10 openssl s_client -connect 127.0.0.1:@PORT@"
capture openssl-xmpp "" "$S_CLIENT -servername example.org -alpn xmpp-client"
capture openssl-h2 "" "$S_CLIENT -servername www.example.org -alpn h2,http/1.1"
# with an IP address to connect to and no -servername, openssl sends no server_name
capture openssl-nosni "" "$S_CLIENT"
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

