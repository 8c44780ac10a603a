#!/usr/bin/env python3
"""relay.py PORT - joins stdin/stdout to a TCP connection to 127.0.0.1:PORT.

QEMU's user network runs it once per guest connection for
guestfwd=tcp:ADDR:PORT-cmd:python3 relay.py PORT (tests/qemu_client.sh), so
a guest behind restrict=on reaches a test server on the host's loopback."""
import os, socket, sys, threading

sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))

def guest_to_server():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)

threading.Thread(target=guest_to_server, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    os.write(1, data)
