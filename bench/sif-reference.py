"""SIF sentence vectors the plain Python way, for bench/embed-local.

Reads the same model file as ds-embed -m glove-100d (the layout in
lib/glove.h) with numpy, splits texts with one regular expression,
and embeds one text at a time with numpy.  Prints the CPU seconds taken to
load and to embed, and writes the vectors as float32 rows to OUT.

usage: sif-reference.py MODEL TEXTS OUT
"""
import re
import struct
import sys
import time

import numpy as np

t0 = time.process_time()
model, texts, out = sys.argv[1:4]
raw = np.memmap(model, dtype=np.uint8, mode="r")
h = bytes(raw[:128])
dim, nwords, vtype = struct.unpack_from("<III", h, 12)
a, zb, zh = struct.unpack_from("<fff", h, 36)
pool_off, pool_size, woff_off, hash_off, pc_off, scale_off, vec_off = \
    struct.unpack_from("<7Q", h, 48)
words = bytes(raw[pool_off:pool_off + pool_size]).split(b"\0")[:nwords]
index = {w.decode("utf-8"): i for i, w in enumerate(words)}
pc = np.frombuffer(raw, np.float32, dim, pc_off).astype(np.float64)
if vtype == 2:
    scale = np.frombuffer(raw, np.float32, nwords, scale_off)
    q = np.frombuffer(raw, np.int8, nwords * dim, vec_off).reshape(nwords,
                                                                   dim)
else:
    vf = np.frombuffer(raw, np.float32, nwords * dim, vec_off).reshape(
        nwords, dim)
rank = np.arange(1, nwords + 1, dtype=np.float64)
weight = 1 - 1 / (1 + a * zh * (rank + zb))  # a / (a + p(w))
t1 = time.process_time()

token = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*|[^\sa-z0-9]")
lines = open(texts, encoding="utf-8").read().splitlines()
res = np.zeros((len(lines), dim), dtype=np.float32)
for n, line in enumerate(lines):
    ids = [index[t] for t in token.findall(line.lower()) if t in index]
    if not ids:
        continue
    if vtype == 2:
        rows = q[ids].astype(np.float64) * scale[ids, None]
    else:
        rows = vf[ids].astype(np.float64)
    v = weight[ids] @ rows
    v -= (v @ pc) * pc
    norm = np.sqrt(v @ v)
    if norm > 0:
        res[n] = v / norm
t2 = time.process_time()
res.tofile(out)
print("%.6f %.6f" % (t1 - t0, t2 - t1))
