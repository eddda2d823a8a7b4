"""The references for bench/cluster: scikit-learn's and faiss's k-means.

ref.py time X.npy C0.npy ITER RUNS   median seconds per iteration of each,
                                     from the given initial centroids
ref.py quality X.npy K ITER SEEDS    scikit-learn's objective (k-means++,
                                     n_init=1) for each seed
"""
import sys
import time

import numpy as np


def median(v):
    return sorted(v)[len(v) // 2]


def main():
    mode = sys.argv[1]
    x = np.load(sys.argv[2])
    if mode == "time":
        from sklearn.cluster import KMeans
        import faiss
        faiss.omp_set_num_threads(2)
        c0 = np.load(sys.argv[3])
        niter, runs = int(sys.argv[4]), int(sys.argv[5])
        k = c0.shape[0]
        sk, fa = [], []
        for _ in range(runs):
            km = KMeans(n_clusters=k, init=c0, n_init=1, max_iter=niter,
                        tol=0, algorithm="lloyd")
            t = time.perf_counter()
            km.fit(x)
            sk.append((time.perf_counter() - t) / km.n_iter_)
            fk = faiss.Kmeans(x.shape[1], k, niter=niter,
                              max_points_per_centroid=x.shape[0])
            t = time.perf_counter()
            fk.train(x, init_centroids=c0)
            fa.append((time.perf_counter() - t) / niter)
        print("sklearn %.5f faiss %.5f" % (median(sk), median(fa)))
    else:
        from sklearn.cluster import KMeans
        k, niter = int(sys.argv[3]), int(sys.argv[4])
        out = []
        for seed in sys.argv[5].split(","):
            km = KMeans(n_clusters=k, n_init=1, max_iter=niter, tol=0,
                        algorithm="lloyd", random_state=int(seed))
            km.fit(x)
            out.append("%.9g" % km.inertia_)
        print(" ".join(out))


main()
