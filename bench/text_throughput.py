#!/usr/bin/env python3
"""Text-engine throughput: sentences per second through ``TextAnalyser.analyse_batch`` (full reports).

    .venv/bin/python bench/text_throughput.py [--n 2000] [--per-text 4] [--repeat 3]

``measure()`` builds deterministic synthetic English sentences (8–25 words, no data set needed), groups them
into texts of ``per_text`` sentences, warms the models up, then times the whole pipeline (sentence split,
encoder, VADER, TF-IDF head, markers, emotions, trust, pydantic reports) and returns the best of ``repeat``
runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # run as a script; the tree under test stays first

_SUBJ = [
    "I",
    "We",
    "The customer",
    "Our team",
    "My manager",
    "The new supplier",
    "She",
    "He",
    "They",
    "The board",
]
_VERB = [
    "really liked",
    "was unhappy with",
    "might reconsider",
    "is definitely excited about",
    "hated",
    "did not enjoy",
    "is worried about",
    "strongly recommends",
    "is sort of unsure about",
    "loved",
]
_OBJ = [
    "the proposal",
    "the delivery schedule",
    "this quarter's results",
    "the onboarding call",
    "the price increase",
    "the product demo",
    "our support team",
    "the contract terms",
    "the late invoice",
    "the new dashboard",
]
_TAIL = [
    "",
    " because it was late again",
    " and wants a follow-up next week",
    " although nobody explained why",
    " to be honest",
    " after the meeting on Tuesday",
    " which I think is fair",
    " but the numbers look great",
    " and it is absolutely unacceptable",
    " so we will probably sign",
]
_END = [".", ".", ".", "!", "?"]  # fmt: skip


def make_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)}{rng.choice(_TAIL)}{rng.choice(_END)}"
            for _ in range(n)]  # fmt: skip


def measure(n_sentences: int = 2000, per_text: int = 4, repeat: int = 3) -> dict:
    from engine.text import get_analyser

    sents = make_sentences(n_sentences)
    texts = [" ".join(sents[i : i + per_text]) for i in range(0, len(sents), per_text)]
    t0 = time.perf_counter()
    analyser = get_analyser().load()
    load_s = time.perf_counter() - t0
    analyser.analyse_batch(texts[: max(1, 64 // per_text)])  # warm-up
    best = float("inf")
    n_seg = 0
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        reports = analyser.analyse_batch(texts)
        best = min(best, time.perf_counter() - t0)
        n_seg = sum(len(r.segments) for r in reports)
    t0 = time.perf_counter()
    analyser.analyse("I think the proposal is fine, but I'm not completely sure about the price.")
    single_ms = (time.perf_counter() - t0) * 1000
    return {
        "sentences": n_seg,
        "texts": len(texts),
        "seconds": round(best, 3),
        "sentences_per_s": round(n_seg / best, 1),
        "texts_per_s": round(len(texts) / best, 1),
        "single_text_ms": round(single_ms, 1),
        "model_load_s": round(load_s, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--per-text", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    res = measure(args.n, args.per_text, args.repeat)
    print(json.dumps(res))
    print(f"text throughput: {res['sentences_per_s']:.0f} sentences/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
