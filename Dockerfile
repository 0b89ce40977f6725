# One image for every moredata service; each compose service runs a different command.
#
#   bash scripts/docker_build.sh                 # wheelhouse + offline build (what CI does)
#   docker build -t moredata:latest .            # the same, once wheelhouse/ is filled
#
# Build arguments:
#   BASE_IMAGE     a Debian-based image (default python:3.11-slim). One without Python (a bare Debian
#                  bookworm made by debootstrap) gets Debian's python3 (3.11) through apt.
#   PIP_OFFLINE    1 (default): install only from wheelhouse/ (no package index is contacted);
#                  0: wheelhouse/ first, then the index (torch's CPU wheel from TORCH_INDEX_URL).
#   TORCH_INDEX_URL  where an online build finds torch's CPU wheel (PyPI's torch carries CUDA).
# Extra CA certificates (a proxy's, say) for an online build: put *.pem files in docker/ca/; pip then
# trusts them (PIP_CERT); with none there, nothing changes. Verification is never turned off.

ARG BASE_IMAGE=python:3.11-slim

# --- builder: a virtual environment with the locked dependencies and the project ------------------
FROM ${BASE_IMAGE} AS builder
# scripts/docker_build.sh removes this stage's image after the build (2.4 GB left untagged otherwise)
LABEL moredata.stage=builder
ARG PIP_OFFLINE=1
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY docker/ca/ /tmp/ca/
COPY wheelhouse/ /wheels/
COPY docker/requirements.lock /tmp/requirements.lock
RUN set -e; \
    if ls /tmp/ca/*.pem >/dev/null 2>&1; then cat /tmp/ca/*.pem > /tmp/ca/bundle.crt; export PIP_CERT=/tmp/ca/bundle.crt; fi; \
    if [ "$PIP_OFFLINE" = "1" ]; then src="--no-index --find-links /wheels"; \
      if ! ls /wheels/*.whl >/dev/null 2>&1; then \
        echo "wheelhouse/ is empty: run scripts/docker_build.sh (it fills it), or build with PIP_OFFLINE=0" >&2; exit 1; \
      fi; \
    else src="--find-links /wheels --extra-index-url $TORCH_INDEX_URL"; fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install $src -r /tmp/requirements.lock; \
    # torch's own C++ test binaries (83 MB) serve no service here; headers and tools stay (inductor uses them)
    rm -rf /opt/venv/lib/python3*/site-packages/torch/test
COPY pyproject.toml README.md /src/
COPY moredata/ /src/moredata/
COPY services/ /src/services/
RUN set -e; \
    if [ "$PIP_OFFLINE" = "1" ]; then src="--no-index --find-links /wheels"; else src="--find-links /wheels"; fi; \
    /opt/venv/bin/pip install $src --no-deps /src

# --- runtime: Python, redis-server (the compose stack's Redis runs from this image too), the venv ----
FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN set -e; pkgs="redis-server"; \
    if ! python3 -c 'import sys' 2>/dev/null; then pkgs="$pkgs python3"; fi; \
    apt-get update && apt-get install -y --no-install-recommends $pkgs && rm -rf /var/lib/apt/lists/*; \
    useradd --create-home --uid 10001 moredata; \
    mkdir -p /runs /app && chown moredata:moredata /runs /app
COPY --from=builder /opt/venv /opt/venv
COPY --chown=moredata:moredata data/tinyshakespeare/ /app/data/tinyshakespeare/
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 MPLBACKEND=Agg HOME=/home/moredata
WORKDIR /app
USER moredata
# no VOLUME: services that keep runs mount the named volume `runs`; a VOLUME here left an anonymous
# volume behind for every other service on each `docker compose down`
CMD ["moredata-train", "--help"]
