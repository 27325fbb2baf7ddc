#!/usr/bin/env bash
# Debian/Ubuntu packages Vitrine builds against, installed when missing:
#   libturbojpeg0-dev    the native addon's lossless edge-tile crops (without it: slower libvips path)
#   libjpeg62-turbo-dev  its region decoding from stored JPEG tiles (jpeglib.h; Ubuntu: libjpeg-turbo8-dev)
# Run before `npm ci` (CI does); `npm rebuild` after installing by hand.
set -euo pipefail
missing=()
dpkg -s libturbojpeg0-dev >/dev/null 2>&1 || missing+=(libturbojpeg0-dev)
jpeglib=0; [ -e /usr/include/jpeglib.h ] || jpeglib=1
[ ${#missing[@]} -eq 0 ] && [ $jpeglib -eq 0 ] && exit 0
command -v apt-get >/dev/null || { echo "vitrine: not a Debian system; install libjpeg-turbo's development files (or equivalents) yourself" >&2; exit 0; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
# libjpeg-turbo's libjpeg API: Debian calls the package libjpeg62-turbo-dev, Ubuntu libjpeg-turbo8-dev.
if [ $jpeglib -eq 1 ]; then
  if apt-cache show libjpeg62-turbo-dev >/dev/null 2>&1; then missing+=(libjpeg62-turbo-dev); else missing+=(libjpeg-turbo8-dev); fi
fi
echo "installing ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
