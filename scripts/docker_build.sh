#!/usr/bin/env bash
# Prepares the wheelhouse and builds the moredata image, with no package index during the build.
#
#   bash scripts/docker_build.sh                                 # python:3.11-slim base, tag moredata:latest
#   bash scripts/docker_build.sh --base-image moredata-base:bookworm --tag moredata:ci
#   bash scripts/docker_build.sh --extra-ca /etc/ssl/certs/ca-certificates.crt   # a proxy's CA, for pip
#
# Step 1 (needs the index, on the host): `pip download` of docker/requirements.lock into wheelhouse/,
# torch's CPU wheel from the host's pip configuration (a local wheel, or --torch-index-url).
# Step 2 (needs no index): `docker build --build-arg PIP_OFFLINE=1`, pip inside installing only from
# wheelhouse/. On an air-gapped cluster, run step 1 where the index is reachable and carry the folder.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker compose reads .env: it selects the CPU profile. It is the user's file (it may hold secrets such as
# RAG_API_TOKEN), so it is not in git; the first build writes the default one, a later build keeps it.
if [ ! -f .env ]; then
  printf '%s\n' "# docker compose settings; every variable and its default: .env.example. Keep secrets here, not in git." \
    "COMPOSE_PROFILES=cpu" > .env
  echo "docker_build: wrote .env (COMPOSE_PROFILES=cpu; see .env.example for the rest)"
fi

BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}
TAG=${MOREDATA_IMAGE:-moredata:latest}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
SKIP_WHEELS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) BASE_IMAGE=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --extra-ca) cp "$2" docker/ca/extra-ca.pem; shift 2 ;;
    --torch-index-url) TORCH_INDEX_URL=$2; shift 2 ;;
    --skip-wheels) SKIP_WHEELS=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$SKIP_WHEELS" = 0 ]; then
  PY=${PYTHON:-}
  [ -z "$PY" ] && { [ -x .venv/bin/python ] && PY=.venv/bin/python || PY=python3; }
  extra=()
  [ -n "$TORCH_INDEX_URL" ] && extra+=(--extra-index-url "$TORCH_INDEX_URL")
  echo "docker_build: wheels of docker/requirements.lock -> wheelhouse/"
  # Linux x86_64, CPython 3.11 wheels only: what the image's Python (3.11 on Debian bookworm) installs
  "$PY" -m pip download -q -d wheelhouse -r docker/requirements.lock "${extra[@]}" \
    --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform linux_x86_64 --python-version 3.11.2 --implementation cp \
    2> >(grep -v "^WARNING: Location" >&2)
fi
echo "docker_build: docker build (base $BASE_IMAGE, offline) -> $TAG"
docker build --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg PIP_OFFLINE=1 -t "$TAG" .
# the builder stage's image (the venv before it is copied, 2.4 GB) stays untagged after each build
docker image prune -f --filter label=moredata.stage=builder >/dev/null
echo "docker_build: done ($TAG)"
