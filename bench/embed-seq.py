#!/usr/bin/env python3
"""A straightforward sequential DashScope client, the pattern of the
official Python SDK (one blocking call per batch, no concurrency, no
retries): reads text records, writes "id<TAB>vector" lines.

    embed-seq.py URL DIMENSION BATCH < texts.tsv > vectors.tsv

The key comes from DASHSCOPE_API_KEY.  Standard library only.
"""
import json
import os
import sys
import urllib.request


def main():
    url, dim, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    key = os.environ["DASHSCOPE_API_KEY"]
    out = sys.stdout
    recs = [l.rstrip("\n").split("\t") for l in sys.stdin]
    for i in range(0, len(recs), batch):
        chunk = recs[i:i + batch]
        body = json.dumps({"model": "text-embedding-v4",
                           "input": {"texts": [r[-1] for r in chunk]},
                           "parameters": {"dimension": dim}}).encode()
        req = urllib.request.Request(url, data=body, headers={
            "Authorization": "Bearer " + key,
            "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as resp:
            res = json.load(resp)
        vecs = {e["text_index"]: e["embedding"]
                for e in res["output"]["embeddings"]}
        for k, r in enumerate(chunk):
            out.write(r[0] + "\t" + " ".join(map(repr, vecs[k])) + "\n")


if __name__ == "__main__":
    main()
