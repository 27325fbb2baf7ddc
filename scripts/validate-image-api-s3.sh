#!/usr/bin/env bash
# Runs the official IIIF Image API validator (IIIF/image-validator, a checkout of it given as $1) at
# level 2 for 3.0 and 2.0 against `vitrine serve --images s3://…`: s3rver (an S3-protocol server, npm
# dev dependency) is started on loopback, the reference PNG and JP2 are uploaded through the AWS SDK,
# and each is validated. Needs Debian's python3-bottle python3-magic python3-lxml python3-pil.
set -euo pipefail
validator=${1:?usage: scripts/validate-image-api-s3.sh /path/to/image-validator}
here=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8194}
s3port=${S3_PORT:-8195}
python=/usr/bin/python3   # Debian's python, where the python3-* packages live
fixtures=$here/test/fixtures
id=67352ccc-d1b0-11e1-89ae-279075081939

if ! "$python" -c 'import bottle, magic, lxml, PIL' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-bottle python3-magic python3-lxml python3-pil
fi
[ -f "$here/dist/cli/index.js" ] || (cd "$here" && npm run build)

work=$(mktemp -d)
# s3rver's fixed credentials, read by the SDK's standard chain on both sides.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
(cd "$here" && node --input-type=module -e "
  import S3rver from 's3rver';
  await new S3rver({ address: '127.0.0.1', port: $s3port, directory: '$work/s3', silent: true, configureBuckets: [{ name: 'images', configs: [] }] }).run();
") &
s3=$!
server=
trap 'kill $server $s3 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$s3port/" >/dev/null && break; sleep 0.1; done

(cd "$here" && node --input-type=module -e "
  import { readFile } from 'node:fs/promises';
  import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
  const client = new S3Client({ endpoint: 'http://127.0.0.1:$s3port', forcePathStyle: true });
  for (const name of ['$id.png', '$id.jp2']) {
    await client.send(new PutObjectCommand({ Bucket: 'images', Key: 'iiif/' + name, Body: await readFile('$fixtures/' + name) }));
  }
  console.log('uploaded $id.png and $id.jp2 to s3://images/iiif/');
")

node "$here/dist/cli/index.js" serve --images s3://images/iiif --s3-endpoint "http://127.0.0.1:$s3port" \
  --cache-dir "$work/cache" --port "$port" --log-level warn &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

status=0
for identifier in "$id" "$id.jp2"; do
  for pair in 3.0:iiif/3 2.0:iiif/2; do
    echo "== $identifier from S3: Image API ${pair%%:*} (prefix ${pair#*:}), level 2"
    (cd "$validator" && "$python" iiif-validate.py -s "127.0.0.1:$port" -p "${pair#*:}" -i "$identifier" \
      --version="${pair%%:*}" --level 2) || status=1
  done
done
curl -s "http://127.0.0.1:$port/health"; echo
exit $status
