#!/usr/bin/env bash
# Coverage-guided fuzzing of the native decoders (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer):
# builds each target of native/fuzz/ with clang and runs it from its seed corpus (native/fuzz/corpus/)
# for SECONDS (default 600). A crash stops that target; its input is saved under native/fuzz/crashes/
# and the script exits 1. Fixed crashes move to test/fixtures/fuzz/<target>/, which `npm test` replays
# through the addon (test/imaging/fuzz-regressions.test.ts).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     targets: jp2_decode tiff_rgba region_decode jpeg_crop (default: all)
#   scripts/fuzz.sh --replay DIR TARGET     runs one target once over the files of DIR (no fuzzing)
#
# Needs clang and its sanitizer runtimes (Debian: clang libclang-rt-14-dev): installed when run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/native/src
fuzz=$here/native/fuzz
build=$here/native/build/fuzz
all_targets=(jp2_decode tiff_rgba region_decode jpeg_crop)

probe='extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }'
if ! command -v clang++ >/dev/null || ! echo "$probe" | clang++ -x c++ -fsanitize=fuzzer,address - -o /dev/null 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
  else
    echo "fuzz: clang with libFuzzer is missing: sudo apt-get install clang libclang-rt-14-dev" >&2
    exit 2
  fi
fi

openjpeg=$(ls -d /usr/include/openjpeg-2.* 2>/dev/null | head -1)
flags=(-g -O1 -std=c++17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$src")
sources_jp2_decode=("$src/jp2_decode_core.cc" "$src/jp2_colour.cc")
libs_jp2_decode=(-I"$openjpeg" -DVITRINE_LCMS -lopenjp2 -llcms2)
sources_tiff_rgba=("$src/tiff_rgba_core.cc")
libs_tiff_rgba=(-ltiff)
sources_region_decode=("$src/region_decode_core.cc")
libs_region_decode=(-ljpeg -lturbojpeg)
sources_jpeg_crop=("$src/jpeg_crop_core.cc" "$src/jpeg_headers.cc" "$src/jpeg_huffman.cc")
libs_jpeg_crop=(-lturbojpeg)

compile() {
  local target=$1 sources libs
  eval "sources=(\"\${sources_$target[@]}\")"
  eval "libs=(\"\${libs_$target[@]}\")"
  mkdir -p "$build"
  clang++ "${flags[@]}" "$fuzz/${target}_fuzz.cc" "${sources[@]}" "${libs[@]}" -o "$build/$target"
}

# Decoders may be asked for more memory than a corrupt header deserves: malloc returning null is
# handled (and is what production does), so ASan must not abort on it.
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ "${1:-}" = "--replay" ]; then
  dir=${2:?--replay DIR TARGET}; target=${3:?--replay DIR TARGET}
  compile "$target"
  files=("$dir"/*)
  exec "$build/$target" -runs=0 "${files[@]}"
fi

seconds=${1:-600}
shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
status=0
for target in "${targets[@]}"; do
  compile "$target"
  work=$(mktemp -d)
  mkdir -p "$fuzz/crashes/$target"
  echo "== $target: ${seconds} s from $(ls "$fuzz/corpus/$target" | wc -l) seeds"
  # The corpus grows in a temporary folder: the committed seeds stay small and reviewed.
  if ! "$build/$target" "$work" "$fuzz/corpus/$target" -max_total_time="$seconds" -rss_limit_mb=2560 -timeout=20 \
      -artifact_prefix="$fuzz/crashes/$target/" -print_final_stats=1 2>"$build/$target.log"; then
    status=1
    echo "!! $target found a crash: see $build/$target.log and $fuzz/crashes/$target/"
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' "$build/$target.log" || tail -5 "$build/$target.log"
  echo "   corpus grew to $(ls "$work" | wc -l) inputs"
  rm -rf "$work"
done
exit $status
