#!/bin/sh
# Runs one of the project's TypeScript entry points (e.g. src/bin/worker.ts) with the given arguments: as compiled
# JavaScript from dist/ when `npm run build` made it after the last change to any source, else through tsx. Compiled,
# a worker starts faster and holds less memory (no tsx, and the prebuilt workflow bundle instead of webpack in the
# process; BENCHMARKS.md). exec keeps the process id, so whoever started this can stop it by that id.
# V8's young generation is capped at 4 MB semi-spaces (Node's default grows to 16): these processes keep little
# short-lived JavaScript (images live outside the JS heap), and the cap took 35-40 MB off the workflow and share
# workers at the same CPU per photo (BENCHMARKS.md, Tuning).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
entry=$1
shift

# The memory allocator, chosen before Node starts (NANO_PHOTOS_ALLOCATOR). libvips' threads allocate and free an
# image-sized buffer per operation, and glibc's heaps fragment under that and stay resident. glibc (default): two
# arenas, and every buffer of a megabyte or more (every image) in a mapping of its own, returned when freed.
# jemalloc (sharp's advice; Debian: libjemalloc2), two arenas, freed pages returned at once: 2-10 % less memory than
# that for 4-7 % more CPU in image work (BENCHMARKS.md, Tuning), so it is for hosts short of memory, not the default.
allocator=${NANO_PHOTOS_ALLOCATOR:-glibc}
case $allocator in
glibc)
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
  export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
  ;;
jemalloc)
  jemalloc=
  for dir in "/usr/lib/$(uname -m)-linux-gnu" /usr/lib64 /usr/lib /usr/local/lib; do
    if [ -f "$dir/libjemalloc.so.2" ]; then
      jemalloc=$dir/libjemalloc.so.2
      break
    fi
  done
  if [ -z "$jemalloc" ]; then
    echo "NANO_PHOTOS_ALLOCATOR=jemalloc: no libjemalloc.so.2 found (Debian: apt-get install libjemalloc2)" >&2
    exit 2
  fi
  export LD_PRELOAD="$jemalloc${LD_PRELOAD:+ $LD_PRELOAD}"
  export MALLOC_CONF="${MALLOC_CONF:-narenas:2,dirty_decay_ms:0,muzzy_decay_ms:0}"
  ;;
*)
  echo "NANO_PHOTOS_ALLOCATOR: expected glibc or jemalloc, received '$allocator'" >&2
  exit 2
  ;;
esac

compiled="$root/dist/${entry%.ts}.js"
stamp="$root/dist/.built"
if [ -f "$stamp" ] && [ -f "$compiled" ] &&
  [ -z "$(find "$root/src" "$root/workflows" "$root/activities" "$root/package-lock.json" "$root"/tsconfig*.json \
    -newer "$stamp" -print -quit)" ]; then
  exec node --max-semi-space-size=4 "$compiled" "$@"
fi
exec node --max-semi-space-size=4 --import tsx "$root/$entry" "$@"
