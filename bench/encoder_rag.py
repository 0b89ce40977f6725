"""A home-trained encoder as the RAG embedder, on Cranfield, beside MiniLM.

    python bench/encoder_rag.py        # trains (about 5 minutes on 2 cores), then scores both; JSON + table

As a user would on their own documents: a byte-level BPE tokenizer (4096) and a masked-LM encoder trained
with the Python API on the Cranfield abstracts (95/5 split), extracted, then `bench/rag_retrieval.py`
scores it through the project's store and retriever (`embedder = encoder:PATH`: mean-pooled hidden
states) and, in the same run, MiniLM. Writes bench/results/encoder_rag.json.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench._results import write_results
from bench.rag_retrieval import DEFAULT, load_collection
from moredata import Trainer, build_model, create_dataloaders, extract_model_for_inference
from moredata.cli import CliParser
from moredata.data.tokenizers import BPETokenizer

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "bench" / "results"


def score(embedder: str, out: Path) -> dict:
    subprocess.run([sys.executable, str(ROOT / "bench" / "rag_retrieval.py"), "--embedder", embedder,
                    "--out", str(out)], check=True)
    return json.loads(out.read_text())


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    docs, _, _ = load_collection(DEFAULT)
    texts = [t for t in docs.values() if t]
    val, train = texts[::20], [t for i, t in enumerate(texts) if i % 20]
    tok = BPETokenizer.train(train, vocab_size=4096)
    train_dl, val_dl = create_dataloaders(train, val, tok, batch_size=32, max_length=128)
    model = build_model("encoder_only", dict(vocab_size=tok.total_vocab_size, d_model=128, num_heads=4,
                                             num_layers=4, max_seq_len=128, dropout=0.1))
    work = ROOT / "runs" / "bench_encoder_rag"
    t0 = time.time()
    r = Trainer(model, train_dl, val_dl, learning_rate=1e-3, checkpoint_dir=work / "train", early_stopping_patience=5,
                overwrite=True, progress=True).train(epochs=args.epochs)
    minutes = (time.time() - t0) / 60
    extracted = extract_model_for_inference(r["best_checkpoint"], work / "encoder")
    enc = score(f"encoder:{extracted}", OUT / "rag_retrieval_encoder.json")
    mini = score("minilm", OUT / "rag_retrieval.json")
    result = {"encoder": {"ndcg10": enc["ndcg10"], "recall10": enc["recall10"],
                          "training": {"epochs_completed": r["epochs_completed"], "early_stopped": r["early_stopped"],
                                       "best_val_mlm_loss": round(r["best_val_loss"], 4),
                                       "val_masked_acc": r["evals"][-1].get("val_masked_acc"),
                                       "minutes": round(minutes, 1), "tokenizer": "bpe 4096",
                                       "model": "4 layers, d_model 128, 4 heads, max 128 tokens, mean pooling"}},
              "minilm": {"ndcg10": mini["ndcg10"], "recall10": mini["recall10"]},
              "dataset": "cranfield", "queries": enc["queries"]}
    write_results(OUT / "encoder_rag.json", result, indent=2)
    print(f"\n{'embedder':<22} {'dense nDCG@10':>14} {'hybrid nDCG@10':>15} {'bm25 nDCG@10':>13}")
    for name, v in (("home-trained encoder", enc), ("MiniLM", mini)):
        print(f"{name:<22} {v['ndcg10']['dense']:>14.4f} {v['ndcg10']['hybrid']:>15.4f} {v['ndcg10']['bm25']:>13.4f}")
    print(f"wrote {OUT / 'encoder_rag.json'}")


if __name__ == "__main__":
    main()
