#!/usr/bin/env bash
# Runs the official IIIF Image API validator (IIIF/image-validator, a checkout of it given as $1) at
# level 0 for 3.0 (prefix iiif/3) and 2.0 (prefix iiif/2) against a static export of the reference
# image, served by Python's http.server: no Vitrine process answers. Needs Debian's python3-bottle
# python3-magic python3-lxml python3-pil.
set -euo pipefail
validator=${1:?usage: scripts/validate-static-export.sh /path/to/image-validator [image-file]}
here=$(cd "$(dirname "$0")/.." && pwd)
image=${2:-$here/test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png}
port=${PORT:-8194}
python=/usr/bin/python3   # Debian's python, where the python3-* packages live

if ! "$python" -c 'import bottle, magic, lxml, PIL' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-bottle python3-magic python3-lxml python3-pil
fi
[ -f "$here/dist/cli/index.js" ] || (cd "$here" && npm run build)

work=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
server=
# One object folder 'ref' with the image: its identifier is ref/<name>, asked for as ref%2F<name>
# (the form the ids have), which the static host maps back to the folder ref/<name>.
mkdir -p "$work/masters/ref"
cp "$image" "$work/masters/ref/"
identifier=$(basename "$image"); identifier=ref%2F${identifier%.*}
node "$here/dist/cli/index.js" convert "$work/masters" --out "$work/data" --workers 2 >/dev/null 2>&1
node "$here/dist/cli/index.js" export --data "$work/data" --base-url "http://127.0.0.1:$port" --out "$work/site" --workers 2
"$python" -m http.server --directory "$work/site" --bind 127.0.0.1 "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/iiif/3/$identifier/info.json" >/dev/null && break; sleep 0.1; done

status=0
for pair in 3.0:iiif/3 2.0:iiif/2; do
  echo "== Image API ${pair%%:*} (prefix ${pair#*:}), level 0, static files"
  (cd "$validator" && "$python" iiif-validate.py -s "127.0.0.1:$port" -p "${pair#*:}" -i "$identifier" \
    --version="${pair%%:*}" --level 0) || status=1
done
exit $status
