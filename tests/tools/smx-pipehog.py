#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smx-pipehog.py - connections that take a splice worker's pipes and give them back, in turns,
for tests/e2e/pipeswitch.sh (Debian's python3 only). Both ends in one process:

run --listen ADDR:PORT --connect ADDR:PORT --count N [--stall-ms S] [--drain-ms D]
    listens on --listen (the backend sockmux routes to), opens N connections to --connect
    (sockmux) and takes them all, then alternates until SIGTERM:
      stall: every client sends a stream that the server does not read; each direction
             fills up to the pipe sockmux took for it, which then holds bytes and stays
             taken (a stalled reader keeps its pipe). The clients keep sending what their
             sockets take, every few milliseconds, so that a direction that found no pipe
             tries again as soon as one is given back. With N above the pool's size, every
             pipe is taken. Small TCP buffers (the test's own namespace: net.ipv4.tcp_wmem,
             tcp_rmem) make a direction fill up with little.
      drain: the clients stop and the server reads everything: every pipe empties and goes
             back to the pool.
    Prints "ready N" once connected, one line per phase, and on SIGTERM (after a last drain)
    "hog conns=N cycles=C sent=X read=Y bad=B" where bad counts connections whose bytes
    differ from what was sent (content, order or count); exit 0 if none.
"""
import signal
import socket
import sys
import time

PERIOD = 251                    # the stream: byte i of a connection is i % PERIOD
PATTERN = bytes(i % PERIOD for i in range(PERIOD)) * (1 + 262144 // PERIOD + 1)
BURST = 262144
TICK_MS = 3
QUIET_MS = 40                   # drain: no byte for this long and nothing left to send


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Hog:
    def __init__(self, cli, srv):
        self.cli, self.srv = cli, srv
        self.sent = self.read = 0
        self.ok = True

    def send(self, n):
        while n > 0:
            off = self.sent % PERIOD
            k = min(n, BURST)
            try:
                w = self.cli.send(PATTERN[off:off + k])
            except BlockingIOError:
                return
            self.sent += w
            n -= w

    def drain(self):
        got = 0
        while True:
            try:
                b = self.srv.recv(BURST)
            except BlockingIOError:
                return got
            if not b:
                return got
            off = self.read % PERIOD
            if b != PATTERN[off:off + len(b)]:
                self.ok = False
            self.read += len(b)
            got += len(b)


stop = False


def on_term(signum, frame):
    global stop
    stop = True


def stall(hogs, ms):
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end and not stop:
        for h in hogs:
            h.send(BURST)
        time.sleep(TICK_MS / 1000)


def drain(hogs, ms):
    t0 = time.monotonic()
    last = t0
    total = 0
    while True:
        got = sum(h.drain() for h in hogs)
        total += got
        now = time.monotonic()
        if got:
            last = now
        done = all(h.read == h.sent for h in hogs)
        if done and now - last >= QUIET_MS / 1000 and now - t0 >= ms / 1000:
            return total
        if now - t0 > 5:
            return total
        time.sleep(0.001)


def run(args):
    opts = dict(zip(args[::2], args[1::2]))
    lhost, lport = hostport(opts["--listen"])
    chost, cport = hostport(opts["--connect"])
    count = int(opts["--count"])
    stall_ms = int(opts.get("--stall-ms", 250))
    drain_ms = int(opts.get("--drain-ms", 250))

    lsock = socket.socket(family(lhost), socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # a small receive buffer: a stalled server fills up with little
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    lsock.bind((lhost, lport))
    lsock.listen(count)
    hogs = []
    for _ in range(count):
        c = socket.create_connection((chost, cport), timeout=5)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        s, _ = lsock.accept()
        c.setblocking(False)
        s.setblocking(False)
        hogs.append(Hog(c, s))
    lsock.close()
    signal.signal(signal.SIGTERM, on_term)
    print("ready %d" % count, flush=True)
    cycles = 0
    while not stop:
        stall(hogs, stall_ms)
        sent = sum(h.sent for h in hogs)
        print("stall %d sent=%d" % (cycles, sent), flush=True)
        got = drain(hogs, drain_ms)
        print("drain %d read=%d" % (cycles, got), flush=True)
        cycles += 1
    drain(hogs, 0)
    for h in hogs:
        h.cli.close()
    sent = sum(h.sent for h in hogs)
    read = sum(h.read for h in hogs)
    bad = sum(1 for h in hogs if not h.ok or h.read != h.sent)
    print("hog conns=%d cycles=%d sent=%d read=%d bad=%d" % (count, cycles, sent, read, bad),
          flush=True)
    return 1 if bad else 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        sys.stderr.write(__doc__)
        return 2
    return run(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
