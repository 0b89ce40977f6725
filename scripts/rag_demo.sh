#!/usr/bin/env bash
# The RAG service with an answering model, in one command, from a fresh clone: set up, train a small
# char-level GPT with a 256-character context when there is none yet (runs/rag_demo, ~2 minutes on 2
# cores; a 64-character model has no room for retrieved context), then serve on 127.0.0.1:8000 with
# the store in runs/rag_demo/store (runs/ is not tracked). Stop with Ctrl-C. Extra arguments go to
# moredata-rag: --port=8001, ... The port is checked first, before any training.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=8000
for arg in "$@"; do case "$arg" in --port=*) PORT=${arg#--port=} ;; esac; done
if ! python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
  echo "error: port $PORT is taken (another moredata-rag?): stop it or pass --port=N" >&2
  exit 2
fi
bash scripts/setup.sh
. .venv/bin/activate
CKPT=runs/rag_demo/best.pt
if [ ! -f "$CKPT" ]; then
  moredata-prepare data/tinyshakespeare/input.txt --out_dir data/shakespeare_char --block_size 256
  moredata-train shakespeare_char_cpu --out_dir=runs/rag_demo --block_size=256 --max_iters=600 \
    --lr_decay_iters=600 --eval_interval=200 --eval_iters=20 --warmup_iters=50
fi
exec moredata-rag --checkpoint="$CKPT" --store_dir=runs/rag_demo/store "$@"
