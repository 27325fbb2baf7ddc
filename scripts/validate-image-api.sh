#!/usr/bin/env bash
# Runs the official IIIF Image API validator (IIIF/image-validator, a checkout of it given as $1)
# at level 2 for 3.0 (prefix iiif/3) and 2.0 (prefix iiif/2) against the reference image served
# from a temporary folder. Needs Debian's python3-bottle python3-magic python3-lxml python3-pil.
set -euo pipefail
validator=${1:?usage: scripts/validate-image-api.sh /path/to/image-validator [image-file]}
here=$(cd "$(dirname "$0")/.." && pwd)
image=${2:-$here/test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png}
port=${PORT:-8193}
python=/usr/bin/python3   # Debian's python, where the python3-* packages live

if ! "$python" -c 'import bottle, magic, lxml, PIL' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-bottle python3-magic python3-lxml python3-pil
fi
[ -f "$here/dist/cli/index.js" ] || (cd "$here" && npm run build)

folder=$(mktemp -d)
cp "$image" "$folder/"
identifier=$(basename "$image"); identifier=${identifier%.*}
node "$here/dist/cli/index.js" serve --images "$folder" --port "$port" --log-level warn &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$folder"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

status=0
for pair in 3.0:iiif/3 2.0:iiif/2; do
  echo "== Image API ${pair%%:*} (prefix ${pair#*:}), level 2"
  (cd "$validator" && "$python" iiif-validate.py -s "127.0.0.1:$port" -p "${pair#*:}" -i "$identifier" \
    --version="${pair%%:*}" --level 2) || status=1
done
exit $status
