#!/usr/bin/env bash
# Makes a Debian bookworm base image with no registry: debootstrap --variant=minbase from this machine's
# apt mirror, then `docker import`. For machines that reach a Debian mirror but no container registry:
#
#   bash scripts/make_base_image.sh                       # -> moredata-base:bookworm (kept if it exists)
#   bash scripts/docker_build.sh --base-image moredata-base:bookworm
#
# Needs a running Docker engine and debootstrap (installed through apt when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-moredata-base:bookworm}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "make_base_image: $IMAGE exists"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q debootstrap >/dev/null
fi
# the first http(s) mirror of this machine's apt sources (one-line or deb822 format)
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
         | awk '$1 == "deb" || $1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
         || true)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$(mktemp -d)
echo "make_base_image: debootstrap bookworm from $mirror -> $IMAGE"
$SUDO debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/moredata-debootstrap.log 2>&1 \
  || { tail -20 /tmp/moredata-debootstrap.log >&2; echo "error: debootstrap failed" >&2; exit 1; }
$SUDO tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
$SUDO rm -rf "$rootfs"
echo "make_base_image: done ($IMAGE)"
