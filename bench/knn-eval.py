"""kNN classification accuracy of vector streams, beside TF-IDF.

usage: knn-eval.py CORPUS NAME=VECTORS ...

CORPUS is a text stream "id<TAB>label<TAB>text"; each VECTORS file is a
dense vector stream of the same records in the same order.  Five-fold
cross-validation: record i is in fold i mod 5, and each fold is
classified with the other four as the training set, so every record is
a test text once.  A test text takes the label with the largest summed
cosine among its k nearest training texts.  A TF-IDF bag of words over
the same folds is always added, and the first two NAMEs are compared
vector by vector.
"""
import math
import re
import sys
from collections import Counter

import numpy as np
import scipy.sparse as sp

FOLDS = 5


def read(path):
    """(ids, labels, bodies) of a TSV stream, header skipped."""
    ids, labels, bodies = [], [], []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#ds"):
            continue
        f = line.rstrip("\n").split("\t")
        ids.append(f[0])
        labels.append(f[1])
        bodies.append(f[-1])
    return ids, labels, bodies


ids, labels, texts = read(sys.argv[1])
y = np.array(labels)
classes = sorted(set(labels))
fold = np.arange(len(ids)) % FOLDS
words = [re.findall(r"[a-z0-9]+", t.lower()) for t in texts]


def tfidf(train):
    """TF-IDF rows of all texts, the idf from the training texts only:
    lower-cased words of letters and digits, sublinear tf, smooth idf,
    rows scaled to unit length."""
    df = Counter()
    for i in np.flatnonzero(train):
        df.update(set(words[i]))
    vocab = {w: j for j, w in enumerate(sorted(df))}
    n = int(train.sum())
    rows, cols, vals = [], [], []
    for i, ws in enumerate(words):
        for w, c in Counter(ws).items():
            if w in vocab:
                rows.append(i)
                cols.append(vocab[w])
                vals.append((1 + math.log(c)) *
                            (math.log((1 + n) / (1 + df[w])) + 1))
    x = sp.csr_matrix((vals, (rows, cols)), shape=(len(words), len(vocab)))
    norm = np.sqrt(np.asarray(x.multiply(x).sum(1))).ravel()
    return sp.diags(1 / np.where(norm > 0, norm, 1)) @ x, len(vocab)


def vote(sim, ytr, k):
    """Similarity-weighted vote of the k nearest, per row of sim."""
    pred = []
    for row in sim:
        top = np.argsort(-row, kind="stable")[:k]
        score = Counter()
        for j in top:
            score[ytr[j]] += max(row[j], 0) + 1e-9
        pred.append(max(sorted(score), key=lambda c: score[c]))
    return pred


def predict(get, ks=(1, 10)):
    """Predicted labels of every record for each k, fold by fold."""
    pred = {k: np.empty(len(ids), dtype=object) for k in ks}
    for f in range(FOLDS):
        test = fold == f
        x = get(~test)
        sim = x[test] @ x[~test].T
        sim = sim.toarray() if sp.issparse(sim) else sim
        for k in ks:
            pred[k][test] = vote(sim, y[~test], k)
    return pred


def f1s(pred):
    f = []
    for c in classes:
        tp = np.sum((pred == c) & (y == c))
        p = tp / max(np.sum(pred == c), 1)
        r = tp / max(np.sum(y == c), 1)
        f.append(0 if tp == 0 else 2 * p * r / (p + r))
    return f


def macro_f1(pred):
    return np.mean(f1s(pred))


vecs = {}
for arg in sys.argv[2:]:
    name, path = arg.split("=", 1)
    vids, _, bodies = read(path)
    assert vids == ids, path
    vecs[name] = np.array([[float(x) for x in b.split()] for b in bodies])

print("%d texts, %d labels, %d-fold cross-validation"
      % (len(ids), len(classes), FOLDS))
print()
print("| vectors | 1-NN accuracy | 10-NN accuracy | 10-NN macro-F1 |")
print("|---|---|---|---|")
major = Counter(labels).most_common(1)[0][0]
print("| always the largest class (%s) | %.3f | %.3f | %.3f |"
      % (major, np.mean(y == major), np.mean(y == major),
         macro_f1(np.array([major] * len(y)))))
per_label = {}
for name, x in vecs.items():
    p = predict(lambda train, x=x: x)
    per_label[name] = f1s(p[10])
    print("| %s | %.3f | %.3f | %.3f |"
          % (name, np.mean(p[1] == y), np.mean(p[10] == y),
             macro_f1(p[10])))
terms = []


def tfidf_fold(train):
    x, n = tfidf(train)
    terms.append(n)
    return x


p = predict(tfidf_fold)
print("| TF-IDF bag of words (%d terms) | %.3f | %.3f | %.3f |"
      % (int(np.median(terms)), np.mean(p[1] == y), np.mean(p[10] == y),
         macro_f1(p[10])))
per_label["TF-IDF"] = f1s(p[10])

first = next(iter(vecs))
print()
print("10-NN F1 by label:")
print()
print("| label | texts | %s | TF-IDF |" % first)
print("|---|---|---|---|")
for i, c in enumerate(classes):
    print("| %s | %d | %.3f | %.3f |" % (c, np.sum(y == c),
                                         per_label[first][i],
                                         per_label["TF-IDF"][i]))

names = [arg.split("=", 1)[0] for arg in sys.argv[2:]]
a = vecs[names[0]]
print()
if len(names) >= 2:
    b = vecs[names[1]]
    both = (np.abs(a).sum(1) > 0) & (np.abs(b).sum(1) > 0)
    cos = (a[both] * b[both]).sum(1)
    print("%s against %s: cosine of the same text's vectors: "
          "mean %.5f, min %.5f" % (names[0], names[1], cos.mean(),
                                   cos.min()))
print("texts with no known word (%s): %d"
      % (names[0], int((np.abs(a).sum(1) == 0).sum())))
