#!/usr/bin/env python3
"""Slow clients for the slow-client benchmark (Benchmarks/run.sh, SLOW_CLIENTS): holds N connections to a server,
each sending a request head one byte per second (a "slowloris"), and opens a new one whenever the server cuts one
off. Prints "ready N" once all N are connected, and on SIGTERM a summary line:
"slow clients: N held, K opened in all, C cut off by the server, B bytes trickled".
Loopback only."""
import argparse
import selectors
import signal
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--connections", type=int, default=200)
parser.add_argument("--interval", type=float, default=1.0, help="seconds between bytes on one connection")
args = parser.parse_args()

HEAD = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: " + b"s" * 4000 + b"\r\n\r\n"
selector = selectors.DefaultSelector()
state = {}  # socket -> bytes sent
opened = cut_off = trickled = 0
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def open_one():
    global opened
    sock = socket.create_connection(("127.0.0.1", args.port))
    sock.setblocking(False)
    selector.register(sock, selectors.EVENT_READ)
    state[sock] = 0
    opened += 1


def drop(sock):
    selector.unregister(sock)
    del state[sock]
    sock.close()


for _ in range(args.connections):
    open_one()
print(f"ready {len(state)}", flush=True)

next_tick = time.monotonic()
while running:
    timeout = max(0.0, next_tick - time.monotonic())
    for key, _ in selector.select(timeout):
        sock = key.fileobj
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:  # the server closed it: a new slow client takes its place
            cut_off += 1
            drop(sock)
            open_one()
    if time.monotonic() >= next_tick:
        next_tick += args.interval
        for sock in list(state):
            sent = state[sock]
            if sent >= len(HEAD) - 4:
                continue  # never completes the head
            try:
                sock.send(HEAD[sent:sent + 1])
                state[sock] = sent + 1
                trickled += 1
            except OSError:
                cut_off += 1
                drop(sock)
                open_one()

print(f"slow clients: {len(state)} held, {opened} opened in all, {cut_off} cut off by the server, "
      f"{trickled} bytes trickled", flush=True)
for sock in list(state):
    sock.close()
sys.exit(0)
