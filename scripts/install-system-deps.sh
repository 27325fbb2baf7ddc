#!/usr/bin/env bash
# Debian/Ubuntu packages Vitrine builds against or tests with, installed when missing:
#   libturbojpeg0-dev    the native addon's lossless edge-tile crops (without it: slower libvips path)
#   libjpeg62-turbo-dev  its region decoding from stored JPEG tiles (jpeglib.h; Ubuntu: libjpeg-turbo8-dev)
#   libopenjp2-7-dev     its JPEG 2000 decoder and encoder (OpenJPEG; without it: slow WebAssembly fallback)
#   g++ make python3     what node-gyp builds the addon with
#   libtiff-dev          its decoder of old-style JPEG TIFFs, which sharp's libtiff lacks (without it: refused)
#   liblcms2-dev         its JPEG 2000 colour management (ICC profiles, CIELab; without it: such files refused)
# and, for the tests only (VITRINE_NO_TEST_TOOLS=1 skips them; Vitrine runs without them):
#   chromium             the browser the viewer tests drive (playwright-core)
#   libopenjp2-tools     opj_compress, which writes the JPEG 2000 files the tests serve
#   openjph-tools        ojph_compress, which writes High-Throughput JPEG 2000 (HTJ2K) ones
#   libtiff-tools        tiff2rgba, libtiff's own decode, the reference TIFF flavours are checked against
#   libvips-tools        vips, whose icc_transform is the reference sRGB conversion of ICC-tagged pyramids
#   strace               watches the system calls of durable writes (fsync before rename) and kills at one
#   openssl              the self-signed certificates of the HTTPS tests
#   tesseract-ocr        the OCR engine of `convert --ocr tesseract` (a Vitrine option; the tests run it)
#   tesseract-ocr-eng    its English data (the tests' language)
#   poppler-utils        pdfinfo, pdftotext, pdftoppm, pdfimages: what the PDF tests read the PDFs with
# Run before `npm ci` (CI does); `npm rebuild` after installing by hand. `npm test` runs it itself
# (scripts/test-prerequisites.mjs) when something is missing.
# --missing: only print the missing packages on one line (nothing when none); exit 3 off Debian.
set -euo pipefail
list_only=0; [ "${1:-}" = --missing ] && list_only=1
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
  [ $list_only -eq 1 ] && exit 3
  echo "vitrine: not a Debian system; install libjpeg-turbo's and OpenJPEG's development files (or equivalents) yourself" >&2
  exit 0
fi
missing=()
for package in libturbojpeg0-dev libopenjp2-7-dev libtiff-dev liblcms2-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# libjpeg-turbo's libjpeg API: Debian calls the package libjpeg62-turbo-dev, Ubuntu libjpeg-turbo8-dev.
if [ ! -e /usr/include/jpeglib.h ]; then
  if grep -qi ubuntu /etc/os-release 2>/dev/null; then missing+=(libjpeg-turbo8-dev); else missing+=(libjpeg62-turbo-dev); fi
fi
# Any compiler and Python will do for node-gyp (e.g. one from pyenv), so these are looked for by command.
for tool in g++ make python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${VITRINE_NO_TEST_TOOLS:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  for package in libopenjp2-tools openjph-tools libtiff-tools libvips-tools strace tesseract-ocr tesseract-ocr-eng poppler-utils; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  command -v openssl >/dev/null || missing+=(openssl)
fi
if [ $list_only -eq 1 ]; then
  [ ${#missing[@]} -eq 0 ] || echo "${missing[*]}"
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
echo "installing ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
