#!/usr/bin/python3
"""Inputs and exact checks for the soak of ds-embed under faults.

  soak-check.py gen N SEED > in.tsv
      N text records "ID<TAB>PAYLOAD<TAB>TEXT": generated texts of 1 to 40
      words, some with escaped TAB, LF, CR or backslash, some non-ASCII,
      one in fifty a repeat of an earlier text (ds-embed sends those once).

  soak-check.py check [options] in.tsv out.tsv [fake.log ...]
      out.tsv is ds-embed's output for in.tsv against tests/fake-dashscope.py;
      checks that every input id comes out exactly once, in input order,
      with its payload and, bit for bit, the float32 vector the fake
      defines for its text (computed by the fake's own function).  With
      --prefix, out.tsv is the output of a run killed midway: its complete
      lines must be the first records, each exactly right.  The logs (one
      JSON line per request) give the requests, the faults by kind and how
      many times each text was served; --max-served K fails when a text was
      served more than K times.  Prints "name value" lines; exits 1 when
      any check fails, saying which on standard error.
Python 3 standard library only.
"""
import argparse
import collections
import fractions
import importlib.util
import itertools
import json
import os
import random
import struct
import sys

WORDS = ("alpha beta gamma delta signal noise river stone cloud index "
         "vector kernel socket buffer window retry cache shard token "
         "embedding query document lantern harbor meadow falcon copper "
         "violet orbit ledger prism").split()
EXOTIC = ("café", "naïve", "日本語", "中文文本", "Ünïcödé", "🙂",
          "Ελληνικά", "русский")
ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape(s):
    return "".join(ESCAPES.get(c, c) for c in s)


def unescape(s):
    out, i = [], 0
    table = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in table:
            out.append(table[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def gen(n, seed):
    rng = random.Random(seed)
    texts = []
    w = sys.stdout.write
    for i in range(1, n + 1):
        if texts and rng.random() < 0.02:
            t = rng.choice(texts)
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(1, 40))]
            r = rng.random()
            if r < 0.05:
                words.insert(rng.randrange(len(words) + 1),
                             rng.choice(EXOTIC))
            elif r < 0.08:
                words.insert(rng.randrange(len(words) + 1),
                             rng.choice(("a\tb", "line\nbreak", "cr\rx",
                                         "back\\slash", "\\t literal")))
            t = "%d %s" % (i, " ".join(words))
            texts.append(t)
        w("r%07d\tp%d\t%s\n" % (i, i % 7, escape(t)))


def load_fake():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fake-dashscope.py")
    spec = importlib.util.spec_from_file_location("fake_dashscope", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_of_bits(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def f32_exact(dec):
    """The float32 nearest the decimal string dec, ties to even."""
    q = fractions.Fraction(dec)
    guess = f32_bits(float(dec))
    best = None
    for b in (guess - 1, guess, guess + 1):
        if b < 0 or b >= 1 << 32:
            continue
        f = f32_of_bits(b)
        if f != f:
            continue
        d = abs(fractions.Fraction(f) - q)
        key = (d, b & 1)
        if best is None or key < best[0]:
            best = (key, b)
    return best[1]


class Checker:
    def __init__(self, opts):
        self.o = opts
        self.fake = load_fake()
        self.errors = collections.Counter()
        self.shown = 0

    def fail(self, kind, msg):
        self.errors[kind] += 1
        if self.shown < 10:
            sys.stderr.write("soak-check: %s\n" % msg)
            self.shown += 1

    def expected(self, text):
        o = self.o
        return self.fake.vector(o.model, o.dim, o.text_type, o.instruct,
                                text)

    def vector_ok(self, text, body, rid):
        exp = self.expected(text)
        words = body.split(" ")
        if len(words) != self.o.dim:
            self.fail("wrong", "%s: %d floats, expected %d"
                      % (rid, len(words), self.o.dim))
            return
        fmt = "<%df" % self.o.dim
        try:
            got = [float(x) for x in words]
        except ValueError:
            self.fail("wrong", "%s: a float does not parse" % rid)
            return
        if struct.pack(fmt, *got) == struct.pack(fmt, *exp):
            return
        # Rounding through float64 can differ in the last bit: decide
        # exactly, from the decimal the fake sent and the one ds wrote.
        for k, (g, e) in enumerate(zip(words, exp)):
            if f32_exact(g) != f32_exact(repr(e)):
                self.fail("wrong", "%s: float %d is %s, expected %r"
                          % (rid, k + 1, g, e))
                return

    def check_output(self, records, path):
        """records: [(id, payload, text)] in input order."""
        o = self.o
        with open(path, "rb") as f:
            header = None
            first = f.readline()
            if first.startswith(b"#ds"):
                header = first.decode("utf-8", "replace").rstrip("\n")
                if not first.endswith(b"\n"):
                    header = None
            elif first:
                self.fail("header", "%s: no #ds header" % path)
            if header is not None:
                words = dict(w.split("=", 1) for w in header.split()[1:])
                want = {"kind": "dense", "dim": str(o.dim),
                        "model": o.model, "norm": "l2"}
                for k, v in want.items():
                    if words.get(k) != v:
                        self.fail("header", "%s: header has %s=%s, "
                                  "expected %s" % (path, k, words.get(k), v))
                first = b""
            return self.check_records(records, path, first, f)

    def check_records(self, records, path, first, f):
        """The record lines: first (unless empty), then the rest of f."""
        o = self.o
        lines = (first.decode("utf-8", "replace") if first else None,)
        pos = {r[0]: i for i, r in enumerate(records)}
        seen = collections.Counter()
        last = -1
        n = 0
        for raw in itertools.chain(lines, f):
            if raw is None:
                continue
            line = raw if isinstance(raw, str) else \
                raw.decode("utf-8", "replace")
            n += 1
            if not line.endswith("\n"):
                # Cut short by a kill; a finished run must not end so.
                if not o.prefix:
                    self.fail("cut", "%s: the last line has no LF" % path)
                n -= 1
                break
            fields = line[:-1].split("\t")
            if len(fields) != 3:
                self.fail("wrong", "%s:%d: %d fields" % (path, n + 1,
                                                          len(fields)))
                continue
            rid = unescape(fields[0])
            seen[rid] += 1
            i = pos.get(rid)
            if i is None:
                self.fail("unknown", "%s: id %s is not an input id"
                          % (path, rid))
                continue
            if seen[rid] > 1:
                self.fail("duplicated", "%s: id %s again" % (path, rid))
                continue
            if i <= last:
                self.fail("misordered", "%s: id %s after record %d"
                          % (path, rid, last + 1))
            last = max(last, i)
            if unescape(fields[1]) != records[i][1]:
                self.fail("wrong", "%s: payload of %s changed" % (path, rid))
            self.vector_ok(records[i][2], fields[2], rid)
        lost = sum(1 for r in records[:last + 1] if r[0] not in seen)
        if not o.prefix:
            lost = sum(1 for r in records if r[0] not in seen)
        for _ in range(lost):
            self.errors["lost"] += 1
        if lost:
            sys.stderr.write("soak-check: %s: %d ids lost\n" % (path, lost))
        return n, sum(seen.values())

    def check_logs(self, texts, paths):
        served = collections.Counter()
        asked = collections.Counter()
        faults = collections.Counter()
        requests = late = 0
        for p in paths:
            with open(p, encoding="utf-8") as f:
                for line in f:
                    e = json.loads(line)
                    if e.get("method") != "POST":
                        continue
                    requests += 1
                    if e.get("fault"):
                        faults[e["fault"]] += 1
                    ts = e.get("texts") or []
                    for t in ts:
                        asked[t] += 1
                    # Answered, even if the client was gone by then.
                    if not e.get("fault") and e.get("status") in (200, 0) \
                            and ts:
                        for t in ts:
                            served[t] += 1
                        late += e.get("client_gone", False)
        missing = [t for t in texts if served[t] == 0]
        for t in missing:
            self.fail("never", "text never served: %r" % t[:60])
        top = max(served.values()) if served else 0
        if self.o.max_served and top > self.o.max_served:
            worst = [t for t, c in served.items() if c == top]
            self.fail("served", "%d texts served %d times, e.g. %r"
                      % (len(worst), top, worst[0][:60]))
        return requests, faults, served, asked, late


def read_input(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            f3 = line.rstrip("\n").split("\t")
            records.append((unescape(f3[0]), unescape(f3[1]),
                            unescape(f3[2])))
    return records


def check(opts):
    c = Checker(opts)
    records = read_input(opts.input)
    nlines, nrec = c.check_output(records, opts.output)
    out = [("records_in", len(records)), ("records_out", nrec)]
    if opts.log:
        texts = sorted(set(r[2] for r in records))
        requests, faults, served, asked, late = c.check_logs(texts,
                                                             opts.log)
        out += [("requests", requests),
                ("faults", sum(faults.values())),
                ("faults_by_kind", " ".join(
                    "%s=%d" % kv for kv in sorted(faults.items())) or "-"),
                ("late", late),
                ("texts", len(texts)),
                ("max_served_per_text", max(served.values(), default=0)),
                ("texts_served_twice",
                 sum(1 for v in served.values() if v == 2)),
                ("max_requests_per_text", max(asked.values(), default=0))]
    for k in ("lost", "duplicated", "misordered", "wrong", "unknown",
              "header", "cut", "never", "served"):
        out.append((k, c.errors[k]))
    for k, v in out:
        print(k, v)
    return 1 if sum(c.errors.values()) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("n", type=int)
    g.add_argument("seed", type=int)
    k = sub.add_parser("check")
    k.add_argument("--model", default="text-embedding-v4")
    k.add_argument("--dim", type=int, default=1024)
    k.add_argument("--text-type", default="document")
    k.add_argument("--instruct")
    k.add_argument("--prefix", action="store_true")
    k.add_argument("--max-served", type=int, default=0)
    k.add_argument("input")
    k.add_argument("output")
    k.add_argument("log", nargs="*")
    opts = ap.parse_args()
    if opts.cmd == "gen":
        gen(opts.n, opts.seed)
        return 0
    return check(opts)


if __name__ == "__main__":
    sys.exit(main())
