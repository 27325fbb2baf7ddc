/** Where images are in S3: a bucket and a key prefix ('' or ending with '/'). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

export const isS3Url = (value: string): boolean => value.startsWith('s3://');

/** Parses s3://bucket or s3://bucket/some/prefix; throws with the reason for anything else. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!match) throw new Error(`images: '${url}' is not an S3 URL of the form s3://bucket/prefix`);
  const bucket = match[1]!;
  // S3 bucket names: 3–63 lowercase letters, digits, dots and hyphens (path-style stores accept the same).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`images: '${bucket}' is not a valid S3 bucket name`);
  const rest = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (rest.split('/').some((s) => s === '..' || s === '.')) throw new Error(`images: the prefix of '${url}' has '.' or '..' segments`);
  return { bucket, prefix: rest === '' ? '' : `${rest}/` };
}
