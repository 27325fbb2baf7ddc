#!/usr/bin/env bash
# Runs the native JPEG 2000 decoder under valgrind's memcheck over the test fixtures of every
# flavour (test/helpers/jp2-flavours.ts) plus the files of any folders given, and fails on any
# memory error (invalid read or write, uninitialised bytes used or written out).
# Needs valgrind, opj_compress and a build (npm run build; the addon with OpenJPEG).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
node --import tsx -e "import('./test/helpers/jp2-flavours.ts').then((m) => m.makeFlavours(process.argv[1]))" "$work"
for extra in "$@"; do cp "$extra"/*.j* "$work"/ 2>/dev/null || true; done
valgrind --error-exitcode=99 --errors-for-leak-kinds=none --smc-check=all-non-file \
  node --jitless scripts/valgrind-jp2.mjs "$work"
