"""Synthetic data for bench/cluster, written as .npy float32.

gen.py random N D SEED OUT          standard normal rows
gen.py blobs N D K SEED OUT         K Gaussian clusters of unit spread
gen.py rows X.npy K SEED OUT        K distinct rows of X, as centroids
"""
import sys

import numpy as np

kind = sys.argv[1]
if kind == "random":
    n, d, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
elif kind == "blobs":
    n, d, k, seed = (int(a) for a in sys.argv[2:6])
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d), dtype=np.float32) * 2
    x = centers[rng.integers(0, k, n)]
    x += rng.standard_normal((n, d), dtype=np.float32)
else:
    src = np.load(sys.argv[2])
    k, seed = int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    x = src[rng.choice(src.shape[0], k, replace=False)]
np.save(sys.argv[-1], np.ascontiguousarray(x, dtype=np.float32))
