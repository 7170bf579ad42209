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
compiled="$root/dist/${entry%.ts}.js"
stamp="$root/dist/.built"
if [ -f "$stamp" ] && [ -f "$compiled" ] &&
  [ -z "$(find "$root/src" "$root/workflows" "$root/activities" "$root/package-lock.json" "$root"/tsconfig*.json \
    -newer "$stamp" -print -quit)" ]; then
  exec node --max-semi-space-size=4 "$compiled" "$@"
fi
exec node --max-semi-space-size=4 --import tsx "$root/$entry" "$@"
