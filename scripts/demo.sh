#!/usr/bin/env bash
# The main job on a CPU, from a fresh clone: set up, prepare tiny Shakespeare (char level), train the
# CPU-sized nanoGPT config with enhanced rows on `auto` (0 until the run starts memorising; in-process
# generator sized by the rows drawn, no Redis, no server; ~4 minutes on 2 cores: 2000 iterations of ~50 ms plus evaluations,
# fewer cores take longer), then print a generated sample and where the plot is.
# Extra arguments go to the trainer: bash scripts/demo.sh --max_iters=500
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
moredata-prepare data/tinyshakespeare/input.txt --out_dir data/shakespeare_char --block_size 64
# --overwrite=true: a second run trains afresh into the same folder; the last run's best.pt is replaced only
# once this run saves its own (atomically), never deleted first
moredata-train shakespeare_char_cpu --enhanced_data_probability=auto --overwrite=true "$@"
OUT=$(python -c "import json,sys; print(json.load(open('runs/shakespeare_char_cpu/summary.json'))['checkpoint'])")
echo
echo "=== a sample from $OUT ==="
moredata-sample --ckpt "$OUT" --start $'ROMEO:\n' --max_new_tokens 400 --num_samples 1
echo "loss plot: runs/shakespeare_char_cpu/loss.png   metrics: runs/shakespeare_char_cpu/metrics.jsonl"
