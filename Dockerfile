# syntax=docker/dockerfile:1
# nano-photos worker image: one image for every nano-service group; the command picks the groups.
#   docker build -t nano-photos .
#   docker run --rm --add-host host.docker.internal:host-gateway \
#     -e TEMPORAL_ADDRESS=host.docker.internal:7233 nano-photos                     # every group, one process
#   docker run --rm ... nano-photos npm run worker -- --services filter              # one group
# docker-compose.yml runs one container per group from this image (see the comments there).
FROM node:24-slim

WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# jemalloc, for NANO_PHOTOS_ALLOCATOR=jemalloc (src/bin/run-node.sh): a little less memory for a little more CPU
# than the default glibc settings (BENCHMARKS.md, Tuning).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes reuse this layer. Dev dependencies are included on purpose: the worker runs
# TypeScript through tsx (`npm run worker` falls back to it without `npm run build`). sharp and the Temporal core bridge ship prebuilt
# binaries for linux x64/arm64 (glibc), which this Debian-based image uses.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --include=dev

COPY . .

# Blob store ($NANO_PHOTOS_DATA_DIR/blobs) and gallery ($NANO_PHOTOS_DATA_DIR/gallery). A fresh named volume mounted
# here takes over this folder's owner, so the unprivileged `node` user can write to it.
RUN mkdir -p /data && chown node:node /data
ENV NANO_PHOTOS_DATA_DIR=/data
USER node

# All nano-service groups in one process; override with `npm run worker -- --services <list>`.
CMD ["npm", "run", "worker"]
