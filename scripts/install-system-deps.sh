#!/usr/bin/env bash
# Debian/Ubuntu packages Vitrine builds against or tests with, installed when missing:
#   libturbojpeg0-dev    the native addon's lossless edge-tile crops (without it: slower libvips path)
#   libjpeg62-turbo-dev  its region decoding from stored JPEG tiles (jpeglib.h; Ubuntu: libjpeg-turbo8-dev)
#   libopenjp2-7-dev     its JPEG 2000 decoder and encoder (OpenJPEG; without it: slow WebAssembly fallback)
#   liblcms2-dev         its JPEG 2000 colour management (Little CMS: ICC profiles, CIELab)
# and, for the tests only (VITRINE_NO_TEST_TOOLS=1 skips them; Vitrine runs without them):
#   chromium             the browser the viewer tests drive (playwright-core)
#   libopenjp2-tools     opj_compress, which writes the JPEG 2000 files the tests serve
#   openjph-tools        ojph_compress, which writes High-Throughput JPEG 2000 (HTJ2K) ones
# Run before `npm ci` (CI does); `npm rebuild` after installing by hand.
set -euo pipefail
missing=()
for package in libturbojpeg0-dev libopenjp2-7-dev liblcms2-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${VITRINE_NO_TEST_TOOLS:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  for package in libopenjp2-tools openjph-tools; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
fi
jpeglib=0; [ -e /usr/include/jpeglib.h ] || jpeglib=1
[ ${#missing[@]} -eq 0 ] && [ $jpeglib -eq 0 ] && exit 0
command -v apt-get >/dev/null || { echo "vitrine: not a Debian system; install libjpeg-turbo's and OpenJPEG's development files (or equivalents) yourself" >&2; exit 0; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
# libjpeg-turbo's libjpeg API: Debian calls the package libjpeg62-turbo-dev, Ubuntu libjpeg-turbo8-dev.
if [ $jpeglib -eq 1 ]; then
  if apt-cache show libjpeg62-turbo-dev >/dev/null 2>&1; then missing+=(libjpeg62-turbo-dev); else missing+=(libjpeg-turbo8-dev); fi
fi
echo "installing ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
