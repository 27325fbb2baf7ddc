#!/usr/bin/env bash
# Debian/Ubuntu packages Vitrine builds against, installed when missing:
#   libturbojpeg0-dev  the native addon's lossless edge-tile crops (without it: slower libvips path)
# Run before `npm ci` (CI does); `npm rebuild` after installing by hand.
set -euo pipefail
packages=(libturbojpeg0-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v apt-get >/dev/null || { echo "vitrine: not a Debian system; install ${missing[*]} (or equivalents) yourself" >&2; exit 0; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
