#!/usr/bin/env python3
"""fake_server.py WWW LOG PORT [BIND [DNS_IP]] - the other end of the client
tests (tests/host_net_tap.sh, tests/qemu_client.sh), standard library only.

  GET /drop/NAME   WWW/NAME; the first answer stops after DROP bytes (the
                   connection drops), later ones honour Range (206)
  GET /slow/NAME   WWW/NAME in 32 KiB pieces 30 ms apart
  POST /v1/chat/completions   an OpenAI-style stream of six chunks, the last
                   saying how many messages came; needs "Bearer sekrit"
                   (else 401 with an error message); POST /bad... is a 401
With DNS_IP, a DNS server on DNS_IP:53 answers models.test -> DNS_IP and
NXDOMAIN for the rest. Requests are logged to LOG.
"""
import http.server, json, os, socket, socketserver, struct, sys, threading, time
WWW, LOG, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
BIND = sys.argv[4] if len(sys.argv) > 4 else "10.77.0.1"
DNS_IP = sys.argv[5] if len(sys.argv) > 5 else None
DROP = 700000            # /drop/: the first answer stops after this many bytes
seen = set()

def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"   # the body ends when we close
    def log_message(self, *a): pass

    def do_GET(self):
        kind, _, name = self.path.strip("/").partition("/")
        path = os.path.join(WWW, os.path.basename(name))
        if kind not in ("drop", "slow") or not os.path.exists(path):
            self.send_error(404); return
        data = open(path, "rb").read()
        rng = self.headers.get("Range", "")
        log("GET %s range=%s" % (self.path, rng))
        start = int(rng[6:].split("-")[0]) if rng.startswith("bytes=") else 0
        if start:
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if kind == "drop" and self.path not in seen:
            seen.add(self.path)
            self.wfile.write(body[:DROP]); self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)   # the connection drops
            return
        step = 32768 if kind == "slow" else len(body)
        for i in range(0, len(body), step):
            try:
                self.wfile.write(body[i:i + step]); self.wfile.flush()
            except OSError:
                return   # the client went away (Esc)
            if kind == "slow":
                time.sleep(0.03)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        log("POST %s auth=%s" % (self.path, self.headers.get("Authorization", "")))
        with open(LOG + ".chat", "wb") as f:
            f.write(body)
        if self.path.startswith("/bad") or self.headers.get("Authorization") != "Bearer sekrit":
            msg = json.dumps({"error": {"message": "wrong key for the fake server", "type": "auth"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg); return
        if self.path != "/v1/chat/completions":
            self.send_error(404); return
        req = json.loads(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = ["Hello", " from", " the", " fake", " server", " (%d messages)" % len(req["messages"])]
        for i, w in enumerate(words):
            delta = {"content": w} if i else {"role": "assistant", "content": w}
            ev = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n"); self.wfile.flush()
            time.sleep(0.05)
        self.wfile.write(b"data: [DONE]\n\n")

def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((DNS_IP, 53))
    while True:
        q, addr = s.recvfrom(512)
        qid, = struct.unpack(">H", q[:2])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        log("DNS %s" % name)
        if name == "models.test":
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(DNS_IP)
            s.sendto(struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + ans, addr)
        else:
            s.sendto(struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, addr)

if DNS_IP:
    threading.Thread(target=dns, daemon=True).start()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S((BIND, PORT), H).serve_forever()
