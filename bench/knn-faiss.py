# The reference side of bench/knn: faiss's exact IndexFlatIP on the same
# vectors, and a double-precision check of both results.
#   knn-faiss.py data N D SEED OUT       write OUT-x.npy, OUT-q.npy: N x D
#                                        index rows and 1000 queries, unit
#                                        length, float32
#   knn-faiss.py search X Q K THREADS RUNS IDS
#                                        median search seconds, the
#                                        seconds to load and add X, and
#                                        the search's processor seconds;
#                                        ids to IDS
#   knn-faiss.py check X Q K IDS NQ      how many of the first NQ queries
#                                        have the exact top-k ids in IDS
import sys
import time

import numpy as np


def data(n, d, seed, out):
    rng = np.random.default_rng(seed)
    for name, rows in (('x', n), ('q', 1000)):
        m = np.empty((rows, d), dtype=np.float32)
        for s in range(0, rows, 100000):
            blk = rng.standard_normal((min(100000, rows - s), d),
                                      dtype=np.float32)
            blk /= np.linalg.norm(blk, axis=1, keepdims=True)
            m[s:s + len(blk)] = blk
        np.save('%s-%s.npy' % (out, name), m)


def search(xf, qf, k, threads, runs, idsf):
    import faiss
    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    x = np.load(xf)
    q = np.load(qf)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    del x
    load = time.perf_counter() - t0
    times = []
    cpu = []
    for _ in range(runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        _, ids = index.search(q, k)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    np.savetxt(idsf, ids, fmt='%d')
    print('%.3f %.3f %.3f' % (sorted(times)[len(times) // 2], load,
                              sorted(cpu)[len(cpu) // 2]))


def check(xf, qf, k, idsf, nq):
    """Exact top-k by inner product in float64, ties to the lower row."""
    x = np.load(xf, mmap_mode='r')
    q = np.load(qf)[:nq].astype(np.float64)
    got = np.loadtxt(idsf, dtype=np.int64, ndmin=2)[:nq]
    best_s = np.full((nq, 0), -np.inf)
    best_i = np.zeros((nq, 0), dtype=np.int64)
    for s in range(0, x.shape[0], 50000):
        sc = q @ np.asarray(x[s:s + 50000], dtype=np.float64).T
        ids = np.broadcast_to(np.arange(s, s + sc.shape[1]), sc.shape)
        sc = np.concatenate([best_s, sc], axis=1)
        ids = np.concatenate([best_i, ids], axis=1)
        order = np.lexsort((ids, -sc), axis=1)[:, :k]
        best_s = np.take_along_axis(sc, order, axis=1)
        best_i = np.take_along_axis(ids, order, axis=1)
    print(int((best_i == got).all(axis=1).sum()))


cmd = sys.argv[1]
if cmd == 'data':
    data(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
elif cmd == 'search':
    search(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
           int(sys.argv[6]), sys.argv[7])
elif cmd == 'check':
    check(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5],
          int(sys.argv[6]))
else:
    sys.exit('usage: knn-faiss.py data|search|check ...')
