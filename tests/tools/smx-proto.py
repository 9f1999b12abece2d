#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smx-proto.py - small peers for tests/e2e/protocols.sh (Debian's python3 only).

serve DIR SPEC...        servers, one thread per port; SPEC is one of
                           TAG=ADDR:PORT         a tagging echo server: reads until the client's
                                                 EOF, stores the bytes in DIR/TAG.N.bin, answers
                                                 "tag=TAG len=N sha256=HEX\\n" then the bytes
                           banner:TAG=ADDR:PORT  a server-first server: "220 TAG banner\\r\\n" at
                                                 once, then "250 LINE\\r\\n" for each line
                         prints "listening TAG ADDR:PORT" for each, then serves until killed.
send ADDR:PORT FILE      sends FILE's bytes in one write, then its EOF; prints the reply's
                         first line and whether the rest echoed FILE exactly.
     [--gap-ms N]        one byte per write, N ms apart (TCP_NODELAY)
     [--src IP]          connects from IP
banner ADDR:PORT         sends nothing until the server's first line; prints it and the time
                         it took ("ms=N", on a line of its own), then one line and its answer.
trickle SPEC...          relays, SPEC LISTEN_PORT=ADDR:PORT (listening on 127.0.0.1): the
     [--gap-ms N]        client's bytes go on one per write, N ms apart, until the server's
     [--src IP]          first byte comes back, then as they come; from IP when given.
xmpp ADDR:PORT JID PASSWORD CAFILE
                         slixmpp client: STARTTLS (verifying against CAFILE), authenticates,
                         fetches its roster, sends itself a message and reads it back; prints a
                         line per step and exits 0 when all of them happened within 8 s.
"""
import argparse
import hashlib
import os
import socket
import sys
import threading
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def connect(addr, src=None):
    sock = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET)
    if src:
        sock.bind((src, 0))
    sock.settimeout(5)
    sock.connect(addr)
    return sock


# --- servers ------------------------------------------------------------------------------
def tag_conn(conn, tag, path):
    data = b""
    conn.settimeout(5)
    try:
        while len(data) < (1 << 20):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        with open(path, "wb") as f:
            f.write(data)
        head = "tag=%s len=%d sha256=%s\n" % (tag, len(data), hashlib.sha256(data).hexdigest())
        conn.sendall(head.encode() + data)
    except OSError:
        pass
    finally:
        conn.close()


def banner_conn(conn, tag):
    conn.settimeout(10)
    try:
        conn.sendall(b"220 %s banner\r\n" % tag.encode())
        buf = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                conn.sendall(b"250 " + line.rstrip(b"\r") + b"\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def serve_port(lsock, tag, kind, outdir):
    n = 0
    while True:
        conn, _ = lsock.accept()
        n += 1
        if kind == "banner":
            args = (conn, tag)
            target = banner_conn
        else:
            args = (conn, tag, os.path.join(outdir, "%s.%d.bin" % (tag, n)))
            target = tag_conn
        threading.Thread(target=target, args=args, daemon=True).start()


def cmd_serve(args):
    threads = []
    for spec in args.spec:
        kind = "tag"
        if spec.startswith("banner:"):
            kind, spec = "banner", spec[len("banner:"):]
        tag, _, addr = spec.partition("=")
        host, port = hostport(addr)
        lsock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((host, port))
        lsock.listen(64)
        threads.append(threading.Thread(target=serve_port, args=(lsock, tag, kind, args.dir),
                                        daemon=True))
        print("listening %s %s" % (tag, addr), flush=True)
    for t in threads:
        t.start()
    threading.Event().wait()


# --- clients ------------------------------------------------------------------------------
def send_slowly(sock, data, gap_ms):
    if not gap_ms:
        sock.sendall(data)
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(gap_ms / 1000)


def cmd_send(args):
    with open(args.file, "rb") as f:
        data = f.read()
    sock = connect(hostport(args.addr), args.src)
    send_slowly(sock, data, args.gap_ms)
    sock.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    head, _, rest = reply.partition(b"\n")
    print(head.decode(errors="replace"))
    print("echo=%s" % ("same" if rest == data else "differs (%d bytes)" % len(rest)))
    return 0 if head else 1


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").rstrip("\r\n")


def cmd_banner(args):
    sock = connect(hostport(args.addr))
    t0 = time.monotonic()
    banner = read_line(sock)
    ms = (time.monotonic() - t0) * 1000
    sock.sendall(b"EHLO client.test\r\n")
    answer = read_line(sock)
    print("banner=%s" % banner)
    print("answer=%s" % answer)
    print("ms=%d" % ms, file=sys.stderr)
    return 0 if banner and answer else 1


def pump(src, dst, gap_ms=0, first_reply=None):
    """Copies src to dst until EOF, then passes the EOF on. With gap_ms, one byte per write
    until first_reply is set (the server answered)."""
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            if gap_ms and not first_reply.is_set():
                for i in range(len(chunk)):
                    dst.sendall(chunk[i:i + 1])
                    if not first_reply.is_set():
                        time.sleep(gap_ms / 1000)
            else:
                dst.sendall(chunk)
            if first_reply is not None and not gap_ms:
                first_reply.set()
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def trickle_conn(client, target, gap_ms, src):
    try:
        server = connect(target, src)
    except OSError:
        client.close()
        return
    server.settimeout(None)
    client.settimeout(None)
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    replied = threading.Event()
    down = threading.Thread(target=pump, args=(server, client, 0, replied), daemon=True)
    down.start()
    pump(client, server, gap_ms, replied)
    down.join()
    client.close()
    server.close()


def trickle_port(lsock, target, gap_ms, src):
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=trickle_conn, args=(conn, target, gap_ms, src),
                         daemon=True).start()


def cmd_trickle(args):
    threads = []
    for spec in args.spec:
        port, _, target = spec.partition("=")
        lsock = socket.socket()
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", int(port)))
        lsock.listen(16)
        threads.append(threading.Thread(target=trickle_port, daemon=True,
                                        args=(lsock, hostport(target), args.gap_ms, args.src)))
        print("listening trickle %s -> %s" % (port, target), flush=True)
    for t in threads:
        t.start()
    threading.Event().wait()


def cmd_xmpp(args):
    import asyncio
    import logging
    from pathlib import Path

    import slixmpp

    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the pending task at the end
    token = "smx-%d" % os.getpid()
    done = asyncio.Event()
    client = slixmpp.ClientXMPP(args.jid, args.password)
    client.ca_certs = Path(args.cafile)
    steps = []

    def step(what):
        steps.append(what)
        print(what, flush=True)

    async def session_start(event):
        step("session started")
        await client.get_roster(timeout=5)
        step("roster received")
        client.send_presence()
        client.send_message(mto=client.boundjid.full, mbody=token, mtype="chat")

    def message(msg):
        if msg["body"] == token:
            step("message to itself received")
            done.set()

    client.add_event_handler("session_start", session_start)
    client.add_event_handler("message", message)
    client.add_event_handler("tls_success", lambda _: step("starttls done"))
    client.add_event_handler("auth_success", lambda _: step("authenticated"))
    client.add_event_handler("failed_auth", lambda _: (step("authentication failed"),
                                                       done.set()))
    host, port = hostport(args.addr)
    client.connect((host, port), use_ssl=False, force_starttls=True)

    async def run():
        try:
            await asyncio.wait_for(done.wait(), 8)
        except asyncio.TimeoutError:
            step("timed out")
        client.disconnect()
        try:
            await asyncio.wait_for(client.disconnected, 3)
        except asyncio.TimeoutError:
            pass

    client.loop.run_until_complete(run())
    want = ["starttls done", "authenticated", "session started", "roster received",
            "message to itself received"]
    return 0 if steps == want else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("dir")
    s.add_argument("spec", nargs="+")
    s = sub.add_parser("send")
    s.add_argument("addr")
    s.add_argument("file")
    s.add_argument("--gap-ms", type=float, default=0)
    s.add_argument("--src")
    s = sub.add_parser("banner")
    s.add_argument("addr")
    s = sub.add_parser("trickle")
    s.add_argument("spec", nargs="+")
    s.add_argument("--gap-ms", type=float, default=20)
    s.add_argument("--src")
    s = sub.add_parser("xmpp")
    for a in ("addr", "jid", "password", "cafile"):
        s.add_argument(a)
    args = p.parse_args()
    return globals()["cmd_" + args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
