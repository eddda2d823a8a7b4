#!/usr/bin/env python3
"""A fake DashScope text-embedding service for tests and benchmarks.

Serves on 127.0.0.1 the native endpoint
  POST /api/v1/services/embeddings/text-embedding/text-embedding
and the OpenAI-compatible ones
  POST /compatible-mode/v1/embeddings   and   POST /v1/embeddings
with the error envelopes and validation order of docs/dashscope-api notes,
deterministic L2-normalised vectors, sparse output, optional shuffling of
the result order, per-key request and token windows, and faults injected
by magic text: a text containing "@fault:NAME" or "@fault:NAME:K" makes the
first K requests that carry it (default 1; "*" for every one) fail with
NAME, one of 429rate 429quota 429after 500 502 503 504 408 400 401 403
slow trunc garble reset short wrongdim, or one of the hostile answers:
huge (a 200 whose Content-Length is --huge bytes, then as many), hugestream
(as many bytes, no length announced, ended by closing), deep (a 200 nesting
--deep arrays), trickle (a byte every --trickle-gap seconds for --trickle
seconds), redirect (307 to --redirect-to), echo (a 401 whose message
repeats the Authorization header received).  One fault is no failure:
dribble sends the right answer a few bytes at a time, as a slow network
would deliver it.  --tls-cert and --tls-key
serve HTTPS; --host binds another loopback address.  With --fault-rate P,
a fraction P of the valid requests (drawn from --fault-seed and the
request's number) fail with one of RANDOM_FAULTS, chosen at random; the log
names the fault.

It prints its port on standard output (and writes it to --port-file),
logs one JSON line per request to --log, and stops by itself after --idle
seconds without a request or when the --parent process is gone.
Python 3 standard library only.
"""
import argparse
import hashlib
import http.server
import json
import math
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid

NATIVE = "/api/v1/services/embeddings/text-embedding/text-embedding"
COMPAT = ("/compatible-mode/v1/embeddings", "/v1/embeddings")

# model: (dimensions allowed, default, batch limit, tokens per text, sparse)
MODELS = {
    "text-embedding-v4": ((2048, 1536, 1024, 768, 512, 256, 128, 64),
                          1024, 10, 8192, True),
    "text-embedding-v3": ((1024, 768, 512, 256, 128, 64), 1024, 10, 8192,
                          True),
    "text-embedding-v2": ((1536,), 1536, 25, 2048, False),
    "text-embedding-v1": ((1536,), 1536, 25, 2048, False),
}

TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
FAULT_RE = re.compile(r"@fault:([a-z0-9]+)(?::(\*|\d+))?")
# Faults a client must survive: the temporary ones.  Left out: 400, 401,
# 403 (fatal by specification) and wrongdim (a service that changes the
# dimension mid-stream is refused, not retried).
RANDOM_FAULTS = ("429rate", "429quota", "429after", "500", "502", "503",
                 "504", "408", "slow", "trunc", "garble", "reset", "short")


def count_tokens(text):
    return len(TOKEN_RE.findall(text))


class State:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.log = open(opts.log, "a") if opts.log else None
        self.faults = {}
        self.windows = {}
        self.requests = 0
        self.last = time.monotonic()
        self.tables = {}

    def write_log(self, entry):
        if self.log is None:
            return
        with self.lock:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def take_fault(self, texts):
        """The fault to inject for this request, if any."""
        with self.lock:
            for t in texts:
                for m in FAULT_RE.finditer(t):
                    name, k = m.group(1), m.group(2)
                    key = (name, t)
                    seen = self.faults.get(key, 0)
                    self.faults[key] = seen + 1
                    if k == "*" or seen < int(k or 1):
                        return name
        return None

    def random_fault(self, seq):
        """With --fault-rate, the fault drawn for request number seq."""
        o = self.opts
        if not o.fault_rate:
            return None
        rng = random.Random("%d:%d" % (o.fault_seed, seq))
        if rng.random() >= o.fault_rate:
            return None
        return rng.choice(o.fault_kinds)

    def over_limit(self, key, tokens):
        """Per-key sliding windows of requests and tokens."""
        o = self.opts
        if not o.rpm and not o.tpm:
            return None
        now = time.monotonic()
        with self.lock:
            w = self.windows.setdefault(key, [])
            while w and w[0][0] <= now - o.window:
                w.pop(0)
            if o.rpm and len(w) + 1 > o.rpm:
                return "rpm"
            if o.tpm and sum(x[1] for x in w) + tokens > o.tpm:
                return "tpm"
            w.append((now, tokens))
        return None


def vector(model, dim, text_type, instruct, text):
    seed = "\0".join((model, str(dim), text_type or "", instruct or "",
                      text)).encode()
    raw = hashlib.shake_256(seed).digest(2 * dim)
    v = struct.unpack("<%dh" % dim, raw)
    norm = math.sqrt(math.fsum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def sparse(text):
    out = {}
    for tok in TOKEN_RE.findall(text):
        h = hashlib.blake2b(tok.encode(), digest_size=8).digest()
        idx = int.from_bytes(h[:4], "little") % 250000
        w = 0.05 + (int.from_bytes(h[4:], "little") % 1000) / 1000.0
        if idx in out:
            out[idx] = (out[idx][0] + w, tok)
        else:
            out[idx] = (w, tok)
    return [{"index": i, "value": round(out[i][0], 6), "token": out[i][1]}
            for i in sorted(out)]


def sign_table(model, dim, text_type, instruct):
    """For --fast: one base vector for these parameters, formatted in
    pieces of eight components, each piece in all 256 sign patterns.  A
    text's vector is the base vector with its signs set by a hash of the
    text: its own unit vector (flipping signs keeps the norm), the same
    full-precision numbers, and one join to format it."""
    base = vector(model, dim, text_type, instruct, "base")
    table = []
    for c in range(0, dim, 8):
        pos = [repr(x) for x in base[c:c + 8]]
        neg = [repr(-x) for x in base[c:c + 8]]
        table.append([",".join(neg[k] if b >> k & 1 else pos[k]
                               for k in range(len(pos))).encode()
                      for b in range(256)])
    return table


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-dashscope"
    # Some answers go out in several writes (the dribble and cut-off
    # faults): without this, Nagle holds each write after the first until
    # the client's delayed ACK, 40 ms later.
    disable_nagle_algorithm = True
    # Whether this request's answer goes out a few bytes at a time; set
    # for each request, as a kept-alive connection serves many.
    dribble = False

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj, ensure_ascii=False,
                          separators=(",", ":")).encode()
        self.send_raw(status, body, "application/json", headers)

    def head(self, status, ctype, length, headers=()):
        """The status line and headers as bytes, not yet sent: a server
        behind a usual front end writes them with the body, so that a
        client wakes once for a response, not once for each part."""
        lines = ["HTTP/1.1 %d %s" % (status, self.responses[status][0]),
                 "Server: " + self.version_string(),
                 "Date: " + self.date_time_string(),
                 "Content-Type: " + ctype,
                 "Content-Length: %d" % length]
        lines += ["%s: %s" % kv for kv in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_raw(self, status, body, ctype, headers=()):
        head = self.head(status, ctype, len(body), headers)
        if self.dribble:
            self.wfile.write(head)
            self.send_dribble(body)
            return
        self.wfile.write(head + body)

    def send_dribble(self, body):
        """The body 1 to 13 bytes at a time, each its own segment."""
        rng, i = random.Random(len(body)), 0
        while i < len(body):
            n = rng.randint(1, 13)
            self.connection.sendall(body[i:i + n])
            i += n
            time.sleep(0.0002)

    def send_pieces(self, status, pieces):
        """A JSON body given as a list of byte strings, sent as it is:
        one scatter-gather write instead of joining ~200 KB in Python."""
        if self.dribble:
            self.send_raw(status, b"".join(pieces), "application/json")
            return
        pieces = [self.head(status, "application/json",
                            sum(map(len, pieces)))] + pieces
        sock, i = self.connection, 0
        while i < len(pieces):
            n = sock.sendmsg(pieces[i:i + 512])
            while i < len(pieces) and n >= len(pieces[i]):
                n -= len(pieces[i])
                i += 1
            if n:
                pieces[i] = memoryview(pieces[i])[n:]

    def error(self, status, code, message, openai_type=None):
        rid = str(uuid.uuid4())
        if self.compat:
            self.send_json(status, {"error": {
                "message": message, "type": openai_type or code,
                "param": None, "code": code}, "id": rid,
                "request_id": rid})
        else:
            self.send_json(status, {"code": code, "message": message,
                                    "request_id": rid})
        return status

    def do_GET(self):
        self.other()

    def do_PUT(self):
        self.other()

    def do_DELETE(self):
        self.other()

    def other(self):
        st = self.server.state
        st.last = time.monotonic()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.compat = self.path in COMPAT
        self.dribble = False
        status = self.error(404, "NotFound", "Not found.")
        st.write_log({"method": self.command, "path": self.path,
                      "headers": dict(self.headers.items()),
                      "status": status})

    def do_POST(self):
        st = self.server.state
        st.last = time.monotonic()
        with st.lock:
            st.requests += 1
            seq = st.requests
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.compat = self.path in COMPAT
        self.dribble = False
        entry = {"seq": seq, "method": "POST", "path": self.path,
                 "headers": dict(self.headers.items()), "n": 0}
        try:
            status, fault = self.serve(raw, entry)
        except (BrokenPipeError, ConnectionResetError):
            status, fault = 0, entry.get("fault")
            entry["client_gone"] = True
        entry["status"] = status
        # A served answer keeps the fault it was sent with (dribble).
        entry["fault"] = fault if fault is not None else entry.get("fault")
        st.write_log(entry)

    def serve(self, raw, entry):
        st = self.server.state
        o = st.opts
        if self.path != NATIVE and not self.compat:
            return self.error(404, "NotFound", "Not found."), None
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        if key is None or key not in o.key:
            if self.compat:
                return self.error(401, "invalid_api_key",
                                  "Incorrect API key provided.",
                                  "invalid_request_error"), None
            return self.error(401, "InvalidApiKey",
                              "Invalid API-key provided."), None
        try:
            req = json.loads(raw.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "InvalidParameter",
                              "Required parameter(s) missing or invalid, "
                              "please check the request parameters."), None
        model = req.get("model")
        entry["model"] = model
        if not model:
            return self.error(400, "BadRequest.EmptyModel",
                              "Required parameter(s) missing: model."), None
        if model not in MODELS:
            if self.compat:
                return self.error(404, "model_not_found",
                                  "Model not exist.",
                                  "invalid_request_error"), None
            return self.error(400, "InvalidParameter",
                              "Model not exist."), None
        dims, defdim, limit, cap, has_sparse = MODELS[model]
        if self.compat:
            texts = req.get("input")
            if isinstance(texts, str):
                texts = [texts]
            params = {k: v for k, v in req.items()
                      if k not in ("model", "input")}
            dimension = req.get("dimensions", defdim)
            text_type = None
            output = "dense"
            instruct = None
        else:
            inp = req.get("input")
            texts = inp.get("texts") if isinstance(inp, dict) else None
            params = req.get("parameters") or {}
            if not isinstance(params, dict):
                params = {}
            dimension = params.get("dimension", defdim)
            text_type = params.get("text_type", "document")
            output = params.get("output_type", "dense")
            instruct = params.get("instruct")
        entry["params"] = params
        if not texts or not isinstance(texts, list):
            return self.error(400, "BadRequest.EmptyInput",
                              "Required input parameter missing from "
                              "request."), None
        entry["n"] = len(texts)
        entry["texts"] = texts
        if len(texts) > limit:
            where = "input.contents" if self.compat else \
                "payload.input.contents"
            return self.error(400, "InvalidParameter",
                              "<400> InternalError.Algo.InvalidParameter: "
                              "Value error, batch size is invalid, it "
                              "should not be larger than %d.: %s"
                              % (limit, where)), None
        tokens = []
        for t in texts:
            n = count_tokens(t) if isinstance(t, str) else 0
            if not isinstance(t, str) or not t or n > cap:
                return self.error(400, "InvalidParameter",
                                  "Range of input length should be "
                                  "[1, %d]" % cap), None
            tokens.append(n)
        if model in ("text-embedding-v1", "text-embedding-v2"):
            dimension = defdim      # ignored by the real service
        if dimension not in dims:
            return self.error(400, "InvalidParameter",
                              "The dimension parameter is invalid: %r"
                              % (dimension,)), None
        if text_type not in (None, "query", "document"):
            return self.error(400, "InvalidParameter",
                              "text_type is invalid"), None
        if output not in ("dense", "sparse", "dense&sparse") or \
                (output != "dense" and not has_sparse):
            return self.error(400, "InvalidParameter",
                              "output_type is invalid"), None

        fault = st.take_fault(texts)
        if fault is None:
            fault = st.random_fault(entry["seq"])
        if fault is None:
            lim = st.over_limit(key, sum(tokens))
            if lim == "rpm":
                fault = "429rate"
            elif lim == "tpm":
                fault = "429quota"
        entry["fault"] = fault
        if o.latency:
            time.sleep(o.latency / 1000.0)
        self.dribble = fault == "dribble"
        if fault is not None and not self.dribble:
            return self.inject(fault), fault

        rid = str(uuid.uuid4())
        items = []
        for i, t in enumerate(texts):
            it = {"text_index": i} if not self.compat else \
                {"object": "embedding", "index": i}
            if output != "sparse" or o.sparse_dense:
                it["embedding"] = self.embedding(model, dimension,
                                                 text_type, instruct, t)
            if "sparse" in output:
                it["sparse_embedding"] = sparse(t)
            items.append(it)
        if o.shuffle:
            random.Random(entry["seq"]).shuffle(items)
        total = sum(tokens)
        if self.compat:
            body = {"object": "list", "model": model, "data": items,
                    "usage": {"prompt_tokens": total,
                              "total_tokens": total},
                    "id": rid}
        else:
            body = {"output": {"embeddings": items},
                    "usage": {"total_tokens": total}, "request_id": rid}
        if o.fast:
            # Vectors arrive formatted: the body goes out in pieces.
            pieces = [b'{"object":"list","model":%s,"data":['
                      % json.dumps(model).encode() if self.compat else
                      b'{"output":{"embeddings":[']
            for k, it in enumerate(items):
                vec = it.pop("embedding", None)
                head = json.dumps(it, ensure_ascii=False,
                                  separators=(",", ":"))
                if k > 0:
                    pieces.append(b",")
                if vec is None:
                    pieces.append(head.encode())
                    continue
                pieces += [head[:-1].encode() + b',"embedding":[', vec,
                           b"]}"]
            if self.compat:
                pieces.append(b'],"usage":{"prompt_tokens":%d,'
                              b'"total_tokens":%d},"id":"%s"}'
                              % (total, total, rid.encode()))
            else:
                pieces.append(b']},"usage":{"total_tokens":%d},'
                              b'"request_id":"%s"}' % (total, rid.encode()))
            self.send_pieces(200, pieces)
            return 200, None
        self.send_json(200, body)
        return 200, None

    def embedding(self, model, dimension, text_type, instruct, text):
        """The vector, or with --fast its numbers formatted, without the
        brackets."""
        st = self.server.state
        if not st.opts.fast or dimension % 8:
            v = vector(model, dimension, text_type, instruct, text)
            if not st.opts.fast:
                return v
            return json.dumps(v, separators=(",", ":"))[1:-1].encode()
        k = (model, dimension, text_type, instruct)
        with st.lock:
            table = st.tables.get(k)
            if table is None:
                table = st.tables[k] = sign_table(*k)
        seed = "\0".join((model, str(dimension), text_type or "",
                          instruct or "", text)).encode()
        signs = hashlib.shake_256(seed).digest(dimension // 8)
        return b",".join([t[b] for t, b in zip(table, signs)])

    def inject(self, fault):
        st = self.server.state
        if fault == "429rate":
            if self.compat:
                return self.error(429, "rate_limit_exceeded",
                                  "Requests rate limit exceeded, please "
                                  "try again later.")
            return self.error(429, "Throttling.RateQuota",
                              "Requests rate limit exceeded, please try "
                              "again later.")
        if fault == "429quota":
            if self.compat:
                return self.error(429, "insufficient_quota",
                                  "You exceeded your current quota, please "
                                  "check your plan and billing details.")
            return self.error(429, "Throttling.AllocationQuota",
                              "Allocated quota exceeded, please increase "
                              "your quota limit.")
        if fault == "429after":
            rid = str(uuid.uuid4())
            self.send_json(429, {"code": "Throttling",
                                 "message": "Requests throttling "
                                 "triggered.", "request_id": rid},
                           [("Retry-After", "1")])
            return 429
        if fault in ("500", "502", "504"):
            return self.error(int(fault), "InternalError",
                              "An internal error has occured, please try "
                              "again later or contact service support.")
        if fault == "408":
            return self.error(408, "RequestTimeOut",
                              "Request timed out, please try again later.")
        if fault == "503":
            self.send_raw(503, b"<html><body>503 Service Temporarily "
                          b"Unavailable</body></html>\n", "text/html")
            return 503
        if fault == "400":
            return self.error(400, "DataInspectionFailed",
                              "Input or output data may contain "
                              "inappropriate content.")
        if fault == "401":
            return self.error(401, "InvalidApiKey",
                              "Invalid API-key provided.")
        if fault == "403":
            return self.error(403, "AccessDenied.Unpurchased",
                              "Access to model denied.")
        if fault == "slow":
            time.sleep(st.opts.slow)
            return self.error(500, "InternalError", "slow reply")
        if fault == "trunc":
            body = b'{"output":{"embeddings":[{"text_index":0,"embedding":[0.1,'
            self.send_raw(200, body, "application/json")
            return 200
        if fault == "wrongdim":
            # Valid JSON, one dimension short: a silent mismatch.
            rid = str(uuid.uuid4())
            self.send_json(200, {"output": {"embeddings": [
                {"text_index": 0, "embedding": [0.5, 0.5, 0.5]}]},
                "usage": {"total_tokens": 1}, "request_id": rid})
            return 200
        if fault == "garble":
            self.send_raw(200, b"\x00\x01garbage}", "application/json")
            return 200
        if fault == "short":
            # Promise more than is sent, then hang up.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"output":')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return 200
        if fault == "reset":
            # RST instead of FIN: SO_LINGER with a zero timeout.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return 0
        if fault in ("huge", "hugestream", "deep", "trickle", "redirect",
                     "echo"):
            return self.hostile(fault)
        return self.error(500, "InternalError", "unknown fault " + fault)

    def hostile(self, fault):
        """Answers meant to hurt the client: size, depth, time, the key."""
        o = self.server.state.opts
        if fault == "echo":
            return self.error(401, "InvalidApiKey", "Invalid API-key: %s"
                              % self.headers.get("Authorization", ""))
        if fault == "redirect":
            self.send_response(307)
            self.send_header("Location", o.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 307
        if fault == "deep":
            body = ('{"output":{"embeddings":' + "[" * o.deep +
                    "]" * o.deep + "}}").encode()
            self.send_raw(200, body, "application/json")
            return 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.close_connection = True
        block = b" " * (1 << 20)
        if fault == "huge":
            self.send_header("Content-Length", str(o.huge))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        if fault == "trickle":
            end = time.monotonic() + o.trickle
            self.wfile.write(b'{"output":')
            while time.monotonic() < end:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(o.trickle_gap)
            return 200
        sent = 0
        while sent < o.huge:
            n = min(len(block), o.huge - sent)
            self.wfile.write(block[:n])
            sent += n
        return 200


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--key", action="append",
                    help="accepted API key (repeatable); default sk-test")
    ap.add_argument("--latency", type=float, default=0,
                    help="milliseconds before each answer")
    ap.add_argument("--shuffle", action="store_true",
                    help="return embeddings in shuffled order")
    ap.add_argument("--sparse-dense", action="store_true",
                    help="keep dense vectors when only sparse is asked")
    ap.add_argument("--fast", action="store_true",
                    help="for benchmarks: build each text's vector from "
                    "preformatted pieces (a base vector with the signs "
                    "set by the text's hash) and send bodies without "
                    "copying them; the fake's own formatting is then not "
                    "the bottleneck")
    ap.add_argument("--rpm", type=int, default=0)
    ap.add_argument("--tpm", type=int, default=0)
    ap.add_argument("--window", type=float, default=60.0,
                    help="seconds of the rpm/tpm window")
    ap.add_argument("--slow", type=float, default=5.0,
                    help="seconds the slow fault waits")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    ap.add_argument("--tls-key", help="and this private key")
    ap.add_argument("--huge", type=int, default=65 << 20,
                    help="bytes the huge and hugestream faults send")
    ap.add_argument("--deep", type=int, default=100000,
                    help="arrays the deep fault nests")
    ap.add_argument("--trickle", type=float, default=60.0,
                    help="seconds the trickle fault goes on")
    ap.add_argument("--trickle-gap", type=float, default=0.1,
                    help="seconds between its bytes")
    ap.add_argument("--redirect-to", default="http://127.0.0.2:9",
                    help="scheme://host:port the redirect fault names")
    ap.add_argument("--fault-rate", type=float, default=0,
                    help="fraction of requests failed with a random fault")
    ap.add_argument("--fault-seed", type=int, default=1)
    ap.add_argument("--fault-kinds", default=",".join(RANDOM_FAULTS),
                    help="comma-separated faults to draw from")
    ap.add_argument("--idle", type=float, default=60.0,
                    help="stop after this many seconds without a request")
    ap.add_argument("--parent", type=int, default=0,
                    help="stop when this process is gone")
    opts = ap.parse_args()
    if not opts.key:
        opts.key = ["sk-test"]
    opts.fault_kinds = opts.fault_kinds.split(",")

    srv = Server((opts.host, opts.port), Handler)
    if opts.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(opts)
    port = srv.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, opts.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    def watchdog():
        while True:
            time.sleep(0.2)
            if time.monotonic() - srv.state.last > opts.idle:
                break
            if opts.parent:
                try:
                    os.kill(opts.parent, 0)
                except OSError:
                    break
        srv.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()


if __name__ == "__main__":
    main()
