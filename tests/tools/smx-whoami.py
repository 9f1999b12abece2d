#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smx-whoami.py - a backend that tells each client who it sees, for tests/e2e/transparent.sh
(Debian's python3 only).
serve TAG ADDR:PORT... [--proxy]  one listener per address; each connection gets, at once,
                                  "TAG PEER_IP PEER_PORT\\n" (getpeername()), then is closed.
                                  --proxy: reads a PROXY v1 line first and adds "pp=SRC_IP".
                                  Prints "listening TAG ADDR" for each, and one line
                                  "conn TAG PEER_IP PEER_PORT [pp=..]" per connection.
count ADDR:PORT N [--src IP] [--expect IP] [--expect-pp IP] [--send-proxy TEXT]
                                  N connections one after another (from --src if given); each
                                  sends "TEXT\r\n" first if given (a PROXY v1 line), then
                                  reads the line. Prints "ok=K wrong=W failed=F" where ok
                                  means the server saw IP (--expect, default the client's
                                  own address; "*": any), and the first wrong line.
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


def serve(tag, specs, proxy):
    lock = threading.Lock()

    def one(where):
        host, port = hostport(where)
        ls = socket.socket(family(host))
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family(host) == socket.AF_INET6:
            ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        ls.bind((host, port))
        ls.listen(1024)
        with lock:
            print("listening", tag, where, flush=True)
        while True:
            conn, peer = ls.accept()
            threading.Thread(target=answer, args=(conn, peer), daemon=True).start()

    def answer(conn, peer):
        try:
            extra = ""
            if proxy:
                line = b""
                while not line.endswith(b"\r\n") and len(line) < 108:
                    b = conn.recv(1)
                    if not b:
                        break
                    line += b
                parts = line.decode(errors="replace").split()
                extra = " pp=" + (parts[2] if len(parts) > 2 else "?")
            msg = "%s %s %d%s" % (tag, peer[0], peer[1], extra)
            conn.sendall(msg.encode() + b"\n")
            with lock:
                print("conn", msg, flush=True)
        except OSError:
            pass
        conn.close()

    for where in specs:
        threading.Thread(target=one, args=(where,), daemon=True).start()
    while True:
        time.sleep(3600)


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(256)
        if not b:
            break
        data += b
    return data.decode(errors="replace").strip()


def count(addr, n, src, expect, expect_pp, send):
    host, port = hostport(addr)
    ok = wrong = failed = 0
    first = ""
    for _ in range(n):
        s = socket.socket(family(host))
        s.settimeout(5)
        try:
            if src:
                s.bind((src, 0))
            s.connect((host, port))
            if send:
                s.sendall(send.encode() + b"\r\n")
            me = s.getsockname()[0]
            words = read_line(s).split()
            want = expect or me
            good = len(words) >= 3 and (want == "*" or words[1] == want)
            if expect_pp:
                good = good and ("pp=" + expect_pp) in words
            if good:
                ok += 1
            else:
                wrong += 1
                first = first or " ".join(words) or "(nothing)"
        except OSError as e:
            failed += 1
            first = first or str(e)
        s.close()
    print("ok=%d wrong=%d failed=%d%s" % (ok, wrong, failed,
                                          (" first_wrong=" + first.replace(" ", "_")) if first else ""),
          flush=True)
    return 0 if ok == n else 1


def main():
    args = sys.argv[1:]
    if args and args[0] == "serve" and len(args) >= 3:
        proxy = "--proxy" in args
        specs = [a for a in args[2:] if a != "--proxy"]
        serve(args[1], specs, proxy)
    if args and args[0] == "count" and len(args) >= 3:
        opts = {"--src": None, "--expect": None, "--expect-pp": None, "--send-proxy": None}
        rest = args[3:]
        while rest:
            if rest[0] in opts and len(rest) > 1:
                opts[rest[0]] = rest[1]
                rest = rest[2:]
            else:
                sys.exit(__doc__)
        sys.exit(count(args[1], int(args[2]), opts["--src"], opts["--expect"],
                       opts["--expect-pp"], opts["--send-proxy"]))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
