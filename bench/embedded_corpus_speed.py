"""
Generation speed and memory of generate.generate_documents, against a peer measured in the same run:
serialising the same documents to JSON lines (the work prepare.py does anyway to write a split).

    .venv/bin/python bench/embedded_corpus_speed.py               # 50 MB, as the issue asks (target < 20 s)
    .venv/bin/python bench/embedded_corpus_speed.py --n_mb=10

Prints MB/s of both, their ratio, the time for n_mb against the 20 s target, and the peak RSS after the
first tenth and at the end (streaming: the two should be about equal).
"""
import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import configurator  # noqa: E402
from data.embedded import generate  # noqa: E402

n_mb = 50
seed = 0
config = configurator.configure(globals())


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main():
    print(f"machine: {machine.describe()}")
    n_bytes, gen_s, json_s, n_docs, rss_early = int(n_mb * 1e6), 0.0, 0.0, 0, None
    produced = 0
    docs = generate.generate_documents(n_bytes, seed=seed)
    while True:
        t0 = time.perf_counter()
        doc = next(docs, None)
        t1 = time.perf_counter()
        if doc is None:
            break
        line = (json.dumps(doc, ensure_ascii=False) + '\n').encode('utf-8')
        t2 = time.perf_counter()
        gen_s, json_s, n_docs = gen_s + t1 - t0, json_s + t2 - t1, n_docs + 1
        produced += len(doc['text'].encode('utf-8'))
        if rss_early is None and produced >= n_bytes / 10:
            rss_early = peak_rss_mb()
        del line
    gen_mbps, json_mbps = produced / 1e6 / gen_s, produced / 1e6 / json_s
    print(f"generate: {produced / 1e6:.1f} MB, {n_docs} docs in {gen_s:.2f} s = {gen_mbps:.2f} MB/s")
    print(f"peer (json lines of the same docs): {json_s:.2f} s = {json_mbps:.2f} MB/s")
    print(f"ratio generate/peer speed: {gen_mbps / json_mbps:.3f}")
    print(f"time for {n_mb} MB: {gen_s:.1f} s (target < 20 s for 50 MB: {'met' if gen_s * 50 / n_mb < 20 else 'MISSED'})")
    print(f"peak RSS after {n_mb / 10:g} MB: {rss_early:.0f} MB, after {n_mb} MB: {peak_rss_mb():.0f} MB")


if __name__ == '__main__':
    main()
