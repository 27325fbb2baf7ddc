#!/usr/bin/env bash
# Installs the peers and load tools the benchmarks run side by side with Vitrine (Debian/Ubuntu):
# wrk (load), lighttpd + iipimage-server (iipsrv under FastCGI), libvips-tools (vips CLI), libtiff-tools,
# libopenjp2-tools (opj_decompress and opj_compress, the JPEG 2000 peers).
set -euo pipefail
packages=(wrk lighttpd iipimage-server libvips-tools libtiff-tools libopenjp2-tools)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts lighttpd as a service on install; the benchmark runs its own instance.
$sudo service lighttpd stop >/dev/null 2>&1 || true
