#!/bin/sh
# Runs one of the project's TypeScript entry points (e.g. src/bin/worker.ts) with the given arguments: as compiled
# JavaScript from dist/ when `npm run build` made it after the last change to any source, else through tsx. Compiled,
# a worker starts faster and holds less memory (no tsx, and the prebuilt workflow bundle instead of webpack in the
# process; BENCHMARKS.md). exec keeps the process id, so whoever started this can stop it by that id.
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
entry=$1
shift
compiled="$root/dist/${entry%.ts}.js"
stamp="$root/dist/.built"
if [ -f "$stamp" ] && [ -f "$compiled" ] &&
  [ -z "$(find "$root/src" "$root/workflows" "$root/activities" "$root/package-lock.json" "$root"/tsconfig*.json \
    -newer "$stamp" -print -quit)" ]; then
  exec node "$compiled" "$@"
fi
exec node --import tsx "$root/$entry" "$@"
