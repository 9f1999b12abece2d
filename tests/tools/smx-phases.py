#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""smx-phases.py - one connection in phases, against an echo server, for the sockmap engine's
take-over (engine.sh, handover.sh).

  smx-phases.py echo --listen HOST:PORT
      an echo server: every byte back, a FIN for a FIN; one thread per connection
  smx-phases.py client --connect HOST:PORT --small N --bulk N [--pause-ms MS] [--fifo PATH]
      sends N small bytes and reads their echo, writes "small done" and waits for a line on
      PATH (or pause-ms), then sends --bulk random bytes while reading their echo, checks
      every byte came back in order, writes "bulk done", waits again, then half-closes and
      reads to EOF; prints "ok sent=... echoed=..." or "bad ..." and exits 0 or 1.
"""
import hashlib
import os
import socket
import sys
import threading
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def echo(listen):
    host, port = addr(listen)
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(64)
    print("listening", flush=True)

    def serve(c):
        try:
            while True:
                b = c.recv(262144)
                if not b:
                    break
                c.sendall(b)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def wait_step(fifo, pause_ms, label):
    print(label, flush=True)
    if fifo:
        with open(fifo) as f:
            f.readline()
    else:
        time.sleep(pause_ms / 1000)


def recv_exact(s, n):
    got = bytearray()
    while len(got) < n:
        b = s.recv(min(262144, n - len(got)))
        if not b:
            break
        got += b
    return bytes(got)


def client(connect, small, bulk, pause_ms, fifo):
    s = socket.create_connection(addr(connect), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    first = os.urandom(small)
    s.sendall(first)
    if recv_exact(s, small) != first:
        print("bad small echo", flush=True)
        return 1
    wait_step(fifo, pause_ms, "small done")
    data = os.urandom(bulk)
    back = hashlib.sha256()
    got = [0]

    def reader():
        while got[0] < bulk:
            b = s.recv(min(262144, bulk - got[0]))
            if not b:
                break
            back.update(b)
            got[0] += len(b)

    t = threading.Thread(target=reader)
    t.start()
    for off in range(0, bulk, 65536):
        s.sendall(data[off:off + 65536])
    t.join()
    if got[0] != bulk or back.digest() != hashlib.sha256(data).digest():
        print(f"bad bulk echo: {got[0]} of {bulk} bytes, sha256 "
              f"{'same' if back.digest() == hashlib.sha256(data).digest() else 'differs'}",
              flush=True)
        return 1
    wait_step(fifo, pause_ms, "bulk done")
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(1)
    s.close()
    if rest:
        print("bad: bytes after the echo", flush=True)
        return 1
    print(f"ok sent={small + bulk} echoed={small + got[0]}", flush=True)
    return 0


def main():
    a = sys.argv[1:]
    opts = {}
    for i in range(1, len(a), 2):
        opts[a[i].lstrip("-")] = a[i + 1] if i + 1 < len(a) else ""
    if a and a[0] == "echo":
        echo(opts["listen"])
        return 0
    if a and a[0] == "client":
        return client(opts["connect"], int(opts.get("small", "100")),
                      int(opts.get("bulk", "1048576")), int(opts.get("pause-ms", "300")),
                      opts.get("fifo"))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
