#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""smx-segments.py - what a client's socket saw of a server's answer: how long it took and in
how many TCP segments it came (segments.sh).

  smx-segments.py server --listen HOST:PORT --mode pieces|merged [--proxy]
      reads a request of 200 bytes (with --proxy, behind a PROXY v1 header, whose line it
      prints with the data segments the header and request came in: "request_segs=N
      header=..."), then answers on a socket left with Nagle's algorithm on (no
      TCP_NODELAY), as many servers do:
        pieces   100 bytes, then 100 more at once (write, write), then waits for the
                 client's close: the second piece leaves only once the first is acknowledged
        merged   300 bytes and its FIN in one segment (TCP_CORK, send, shutdown)
  smx-segments.py client --connect HOST:PORT --mode pieces|merged [--n N]
      N connections one after another (default 5), each a 200-byte request (TCP_NODELAY)
      and its whole answer; prints one line: "ok median_ms=... max_ms=... segs_in=...
      bytes=..." with the answers' median and slowest time and, for merged, the segments the
      client's socket had received
      by its EOF (tcpi_segs_in: SYN-ACK, the request's ACK, the answer) of the last
      connection; or "bad ...".
"""
import argparse
import socket
import struct
import threading
import time

REQUEST = 200
ANSWER = {"pieces": 200, "merged": 300}
TCPI_SEGS_IN = 140		# offset of tcpi_segs_in in struct tcp_info (linux/tcp.h)
TCPI_DATA_SEGS_IN = 152		# of tcpi_data_segs_in


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def read_exactly(c, n):
    got = b""
    while len(got) < n:
        b = c.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def read_proxied(c):
    """Reads a PROXY v1 line and the request behind it; prints both's data segments."""
    got = b""
    while b"\r\n" not in got:
        b = c.recv(4096)
        if not b:
            return False
        got += b
    line, rest = got.split(b"\r\n", 1)
    rest += read_exactly(c, REQUEST - len(rest))
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    segs = struct.unpack_from("I", info, TCPI_DATA_SEGS_IN)[0]
    print(f"request_segs={segs} header={line.decode(errors='replace')}", flush=True)
    return len(rest) == REQUEST


def serve(c, mode, proxy):
    try:
        if proxy:
            if not read_proxied(c):
                return
        elif len(read_exactly(c, REQUEST)) != REQUEST:
            return
        if mode == "pieces":
            c.send(b"a" * 100)
            c.send(b"b" * 100)
            c.recv(1)		# the client's close
        else:
            # corked, not MSG_MORE: an ACK arriving between the send and the shutdown
            # would push the bytes out alone, their FIN behind them
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            c.send(b"m" * 300)
            c.shutdown(socket.SHUT_WR)
            c.recv(1)
    except OSError:
        pass
    finally:
        c.close()


def server(a):
    host, port = addr(a.listen)
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c, a.mode, a.proxy), daemon=True).start()


def one(a):
    host, port = addr(a.connect)
    c = socket.create_connection((host, port), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    c.sendall(b"r" * REQUEST)
    got = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
        if a.mode == "pieces" and len(got) >= ANSWER["pieces"]:
            break
    ms = (time.monotonic() - t0) * 1000
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    segs = struct.unpack_from("I", info, TCPI_SEGS_IN)[0]
    c.close()
    return ms, segs, len(got)


def client(a):
    times, segs, size = [], 0, 0
    for _ in range(a.n):
        try:
            ms, segs, size = one(a)
        except OSError as e:
            print(f"bad {e}", flush=True)
            return 1
        if size != ANSWER[a.mode]:
            print(f"bad bytes={size} (want {ANSWER[a.mode]})", flush=True)
            return 1
        times.append(ms)
    times.sort()
    print(f"ok median_ms={times[len(times) // 2]:.1f} max_ms={times[-1]:.1f} segs_in={segs} "
          f"bytes={size}", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--listen")
    p.add_argument("--connect")
    p.add_argument("--mode", choices=["pieces", "merged"], required=True)
    p.add_argument("--n", type=int, default=5)
    p.add_argument("--proxy", action="store_true")
    a = p.parse_args()
    return server(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    raise SystemExit(main())
