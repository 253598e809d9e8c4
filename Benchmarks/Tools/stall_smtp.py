#!/usr/bin/env python3
"""A stalled SMTP server for Benchmarks/mail-stall.sh: accepts TCP connections on 127.0.0.1 and never sends a
byte (no greeting), holding every connection open until it is killed. Prints its port on the first line, then `accepted` per connection."""
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(128)
print(listener.getsockname()[1], flush=True)
held = []
while True:
    connection, _ = listener.accept()
    held.append(connection)  # never read, never written, never closed
    print("accepted", flush=True)
