#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smx-balance.py - peers for tests/e2e/servers.sh (Debian's python3 only).
serve TAG=ADDR:PORT...   servers, one thread per port: each connection gets "TAG\\n" at once,
                         then its bytes echoed until its EOF. Prints "listening TAG" for each.
count ADDR:PORT N        N connections one after another; for each reads the first line (the
     [--src IP]          server's tag) and closes. Prints "TAG=COUNT ..." sorted by tag, and
     [--spread]          "failed=K" for connections that got no tag. --spread: each from an
                         address of its own, 127.1.0.1, 127.1.0.2, ...
hold ADDR:PORT N SECS    N connections at once, each held SECS seconds after its tag; prints
                         the counts as count does.
time ADDR:PORT           one connection: prints "TAG ms=N", the time to the tag.
"""
import socket
import sys
import threading
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve(specs):
    def one(tag, addr):
        ls = socket.socket(family(addr[0]))
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(addr)
        ls.listen(1024)
        print("listening", tag, flush=True)
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=echo, args=(conn, tag), daemon=True).start()

    def echo(conn, tag):
        try:
            conn.sendall(tag.encode() + b"\n")
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        conn.close()

    for spec in specs:
        tag, _, where = spec.partition("=")
        threading.Thread(target=one, args=(tag, hostport(where)), daemon=True).start()
    while True:
        time.sleep(3600)


def first_line(addr, src=None, hold=0.0):
    s = socket.socket(family(addr[0]))
    try:
        if src:
            s.bind((src, 0))
        s.settimeout(5)
        s.connect(addr)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(64)
            if not chunk:
                return None
            buf += chunk
        if hold:
            time.sleep(hold)
        return buf.decode().strip()
    except OSError:
        return None
    finally:
        s.close()


def report(tags):
    counts = {}
    failed = 0
    for t in tags:
        if t is None:
            failed += 1
        else:
            counts[t] = counts.get(t, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())), "failed=%d" % failed)


def main(argv):
    if argv[1] == "serve":
        serve(argv[2:])
    addr = hostport(argv[2])
    if argv[1] == "count":
        src = argv[argv.index("--src") + 1] if "--src" in argv else None
        if "--spread" in argv:
            # each connection from its own address: 127.1.X.Y
            n = int(argv[3])
            report([first_line(addr, "127.1.%d.%d" % (i // 250, i % 250 + 1))
                    for i in range(n)])
        else:
            report([first_line(addr, src) for _ in range(int(argv[3]))])
    elif argv[1] == "hold":
        n, secs = int(argv[3]), float(argv[4])
        out = [None] * n

        def run(i):
            out[i] = first_line(addr, None, secs)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
            time.sleep(0.01)
        for t in threads:
            t.join()
        report(out)
    elif argv[1] == "time":
        t0 = time.monotonic()
        tag = first_line(addr)
        print(tag, "ms=%d" % ((time.monotonic() - t0) * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
