#!/usr/bin/env bash
# Runs the compose suite (tests/compose) with a Docker engine, providing one when none runs:
#   - installs docker.io, docker-compose (v1.29) and debootstrap through apt when missing;
#   - starts dockerd (overlay2) when `docker info` fails, and stops that daemon, by its PID, at the end;
#   - makes a base image without any registry when MOREDATA_BASE_IMAGE is unset and python:3.11-slim is
#     not present: debootstrap --variant=minbase bookworm from this machine's Debian mirror, `docker import`.
#
#   bash scripts/compose_test.sh            # what .ci/run calls after the unit suite
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "compose_test: installing ${missing[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >/dev/null
fi

DOCKERD_PID=""
cleanup() {
  if [ -n "$DOCKERD_PID" ]; then
    echo "compose_test: stopping the dockerd this script started (pid $DOCKERD_PID)"
    $SUDO kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  fi
}
trap cleanup EXIT
if ! docker info >/dev/null 2>&1; then
  echo "compose_test: starting dockerd"
  $SUDO dockerd --storage-driver=overlay2 >/tmp/moredata-dockerd.log 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "error: dockerd did not start (see /tmp/moredata-dockerd.log)" >&2; exit 1; }
fi

if [ -z "${MOREDATA_BASE_IMAGE:-}" ]; then
  if docker image inspect python:3.11-slim >/dev/null 2>&1; then
    MOREDATA_BASE_IMAGE=python:3.11-slim
  else
    MOREDATA_BASE_IMAGE=moredata-base:bookworm
    bash scripts/make_base_image.sh "$MOREDATA_BASE_IMAGE"
  fi
fi
export MOREDATA_BASE_IMAGE
echo "compose_test: base image $MOREDATA_BASE_IMAGE"
.venv/bin/python -m pytest -m compose tests/compose "$@"
