#!/usr/bin/env python3
"""net_check.py - checks for the HTTP API tests (tests/qemu_net.sh, tests/host_nginx.sh).

Each command prints "ok" (plus any value it was asked for) or the reason it
failed, and exits 0 or 1. Only the standard library is used.

  ref N                     the reference continuation of "Once upon a time"
                            (stories260K, greedy) cut to its first N tokens,
                            N=0: all; printed as a JSON string; env MODELS
  ntokens                   how many tokens that continuation has
  completion FILE N         a text_completion whose text is ref N, finish length
  stream FILE N             SSE text_completion chunks: text is ref N, a
                            finish_reason "length" chunk, then [DONE]
  chat FILE                 a chat.completion: assistant, non-empty content
  chat_stream FILE          SSE chat.completion.chunk events, same checks
  models FILE NAME          /v1/models lists NAME
  health FILE               {"status":"ok",...}
  error FILE                an OpenAI error object {"error":{"message":...}}
  png FILE W H RRGGBB       a WxH PNG with many colours, RRGGBB among them
  cdp CHROMIUM URL PNG TEXT  loads the chat page in headless Chromium
                            (DevTools protocol over --remote-debugging-pipe),
                            waits for the model name, sends TEXT through the
                            form and waits for the streamed reply; saves a
                            screenshot to PNG; prints "ok MODEL|TOKENS|REPLY"
"""
import base64
import fcntl
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

PROMPT = "Once upon a time"


def models_dir():
    return os.environ.get("MODELS") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models")


def reference():
    """(generated token ids, generated_text) of the reference row."""
    path = os.path.join(models_dir(), "reference", "stories260K_greedy.tsv")
    with open(path, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f]
    head = rows[0]
    for r in rows[1:]:
        row = dict(zip(head, r))
        if unescape(row["prompt"]) == PROMPT:
            return ([int(t) for t in row["generated_token_ids"].split()],
                    unescape(row["generated_text"]))
    raise SystemExit("no reference row for " + PROMPT)


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def vocab():
    """The llama2.c tokenizer file: max_len, then (score, len, bytes) each."""
    data = open(os.path.join(models_dir(), "tok512.bin"), "rb").read()
    pos, pieces = 4, []
    while pos < len(data):
        _score, n = struct.unpack_from("<fi", data, pos)
        pieces.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    return pieces


def decode(ids, prev=None):
    """run.c's decode + safe_printf for the generated ids (prev: the last
    prompt token, never BOS for a non-empty prompt)."""
    pieces, out = vocab(), b""
    for t in ids:
        p = pieces[t]
        if prev == 1 and p.startswith(b" "):
            p = p[1:]
        if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
            p = bytes([int(p[3:5], 16)])
        if len(p) == 1 and not (32 <= p[0] < 127 or p[0] in b" \t\n\v\f\r"):
            p = b""
        out += p
        prev = t
    return out.decode("utf-8", "replace")


def ref(n):
    ids, text = reference()
    full = decode(ids, prev=0)
    if full != text:
        raise SystemExit("decoder disagrees with the reference text")
    return full if n == 0 else decode(ids[:n], prev=0)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def events(path):
    """The "data:" payloads of an SSE body, in order."""
    body = open(path, encoding="utf-8").read().replace("\r\n", "\n")
    if not body.endswith("\n\n"):
        raise AssertionError("the stream does not end with a blank line: %r" % body[-40:])
    out = []
    for ev in body.split("\n\n")[:-1]:
        data = [l[5:].lstrip(" ") if l.startswith("data:") else None for l in ev.split("\n")]
        if None in data or not data:
            raise AssertionError("not an SSE data event: %r" % ev[:80])
        out.append("\n".join(data))
    return out


def check_stream(path, chat):
    evs = events(path)
    if len(evs) < 3 or evs[-1] != "[DONE]":
        raise AssertionError("%d events, last %r" % (len(evs), evs[-1:] and evs[-1][:60]))
    chunks = [json.loads(e) for e in evs[:-1]]
    want = "chat.completion.chunk" if chat else "text_completion"
    ids = {c["id"] for c in chunks}
    if len(ids) != 1:
        raise AssertionError("chunk ids differ: %s" % ids)
    text, role = "", None
    for i, c in enumerate(chunks):
        if c["object"] != want or len(c["choices"]) != 1 or c["choices"][0]["index"] != 0:
            raise AssertionError("bad chunk %d: %s" % (i, c))
        ch = c["choices"][0]
        last = i == len(chunks) - 1
        if (ch["finish_reason"] is not None) != last:
            raise AssertionError("finish_reason %r in chunk %d of %d" % (ch["finish_reason"], i, len(chunks)))
        if chat:
            d = ch["delta"]
            if i == 0:
                role = d.get("role")
            elif "role" in d:
                raise AssertionError("role repeated in chunk %d" % i)
            text += d.get("content", "")
        else:
            text += ch["text"]
    fin = chunks[-1]["choices"][0]["finish_reason"]
    if chat and role != "assistant":
        raise AssertionError("first delta's role is %r" % role)
    return text, fin, len(chunks)


def cmd_completion(path, n):
    j = load(path)
    ch = j["choices"][0]
    assert j["object"] == "text_completion" and j["id"].startswith("cmpl-"), j
    assert isinstance(j["created"], int) and j["model"] == "stories260K.bin", j
    want = ref(n)
    assert ch["text"] == want, "text %r\n  want %r" % (ch["text"], want)
    assert ch["finish_reason"] == "length", ch
    u = j["usage"]
    assert u["completion_tokens"] == n and u["total_tokens"] == u["prompt_tokens"] + n, u
    return "ok"


def cmd_stream(path, n):
    text, fin, _ = check_stream(path, chat=False)
    want = ref(n)
    assert text == want, "text %r\n  want %r" % (text, want)
    assert fin == "length", fin
    return "ok"


def cmd_chat(path):
    j = load(path)
    assert j["object"] == "chat.completion" and j["id"].startswith("chatcmpl-"), j
    ch = j["choices"][0]
    m = ch["message"]
    assert m["role"] == "assistant" and isinstance(m["content"], str) and m["content"].strip(), m
    assert ch["finish_reason"] in ("stop", "length"), ch
    assert j["usage"]["completion_tokens"] > 0, j
    return "ok"


def cmd_chat_stream(path):
    text, fin, n = check_stream(path, chat=True)
    assert text.strip(), "empty content"
    assert fin in ("stop", "length") and n >= 2, (fin, n)
    return "ok"


def cmd_models(path, name):
    j = load(path)
    assert j["object"] == "list", j
    ids = [m["id"] for m in j["data"]]
    assert name in ids and all(m["object"] == "model" for m in j["data"]), ids
    return "ok"


def cmd_health(path):
    j = load(path)
    assert j["status"] == "ok", j
    return "ok"


def cmd_error(path):
    j = load(path)
    e = j["error"]
    assert isinstance(e["message"], str) and e["message"], j
    return "ok"


def png_pixels(path):
    """(width, height, set of (r,g,b)) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack_from(">I4s", data, pos)
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, colours, pos = bytearray(stride), set(), 0
    for _ in range(h):
        f, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for i in range(0, stride, bpp):
            colours.add(bytes(line[i:i + 3]))
        prev = line
    return w, h, colours


def cmd_png(path, w, h, rgb):
    pw, ph, colours = png_pixels(path)
    assert (pw, ph) == (w, h), "size %dx%d, want %dx%d" % (pw, ph, w, h)
    assert len(colours) >= 16, "only %d colours" % len(colours)
    assert bytes.fromhex(rgb) in colours, "no #%s pixel (the page's CSS did not apply?)" % rgb
    return "ok %d colours" % len(colours)


class Cdp:
    """The DevTools protocol over --remote-debugging-pipe: JSON messages, each
    ended by a NUL byte, written to the browser's fd 3 and read from its fd 4."""

    def __init__(self, argv):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():  # in the child: the ends at 3 and 4 (via high numbers:
            # either may be 3 or 4 already, and dup2 onto itself keeps CLOEXEC)
            r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(argv + ["--remote-debugging-pipe"], preexec_fn=fds,
                                     close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf, self.next_id = b"", 0

    def call(self, method, session=None, timeout=30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == self.next_id:
                    if "error" in m:
                        raise AssertionError("%s: %s" % (method, m["error"]))
                    return m["result"]
            if time.monotonic() > end:
                raise AssertionError("%s: no answer in %ds" % (method, timeout))
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise AssertionError("the browser closed the pipe during " + method)
            self.buf += chunk

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cmd_cdp(chromium, url, png, text):
    profile = tempfile.mkdtemp(prefix="llm-chromium.")
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile, "--window-size=1000,700", "about:blank"]
    b = Cdp(argv)
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        s = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Page.enable", session=s)
        b.call("Page.navigate", session=s, url=url)

        def js(expr):
            r = b.call("Runtime.evaluate", session=s, expression=expr, returnByValue=True)
            if "exceptionDetails" in r:
                raise AssertionError("script error: %s" % r["exceptionDetails"])
            return r["result"].get("value")

        def until(expr, what, limit):
            end = time.monotonic() + limit
            while time.monotonic() < end:
                v = js(expr)
                if v:
                    return v
                time.sleep(0.2)
            raise AssertionError("%s: nothing after %ds" % (what, limit))

        model = until("document.readyState === 'complete' && "
                      "document.getElementById('model') && "
                      "document.getElementById('model').textContent", "model name", 30)
        js("document.getElementById('prompt').value = %s;"
           "document.getElementById('form').requestSubmit(); true" % json.dumps(text))
        done = until("""(() => {
            const err = document.querySelector('#log .msg.error');
            if (err) return JSON.stringify({error: err.textContent});
            const m = document.querySelector('#log .msg.assistant');
            const meta = m && m.querySelector('.meta');
            if (!meta) return '';
            const user = document.querySelector('#log .msg.user');
            return JSON.stringify({user: user && user.textContent,
                                   reply: m.firstChild.textContent, meta: meta.textContent,
                                   button: document.getElementById('send').disabled});
        })()""", "streamed reply", 120)
        d = json.loads(done)
        assert "error" not in d, "the page shows " + d.get("error", "")
        assert d["user"] == text, d
        tokens = int(d["meta"].split()[0])
        assert d["reply"].strip() and tokens >= 2, d
        shot = b.call("Page.captureScreenshot", session=s, format="png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return "ok %s|%d|%s" % (model, tokens, d["reply"].replace("\n", " "))
    finally:
        b.close()
        subprocess.run(["rm", "-rf", profile])


def main(argv):
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "ref":
            print(json.dumps(ref(int(args[0]))))
            return 0
        if cmd == "ntokens":
            print(len(reference()[0]))
            return 0
        f = {"completion": lambda p, n: cmd_completion(p, int(n)),
             "stream": lambda p, n: cmd_stream(p, int(n)),
             "chat": cmd_chat, "chat_stream": cmd_chat_stream, "models": cmd_models,
             "health": cmd_health, "error": cmd_error,
             "png": lambda p, w, h, rgb: cmd_png(p, int(w), int(h), rgb),
             "cdp": cmd_cdp}[cmd]
        print(f(*args))
        return 0
    except (AssertionError, ValueError, KeyError, TypeError, IndexError, OSError,
            json.JSONDecodeError, zlib.error, struct.error) as e:
        print(("%s: %s" % (type(e).__name__, e)).replace("\n", " "))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
