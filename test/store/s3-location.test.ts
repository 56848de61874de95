/**
 * The `storage.blobs` S3 URL (issue 7 §1): what is accepted, and a CONFIG_INVALID naming the
 * problem for everything else — including credentials in the URL, which belong in the environment.
 */
import { describe, expect, it } from 'vitest';
import { openBlobStore } from '../../src/app/start-registry.js';
import { parseS3Location } from '../../src/store/s3/s3-location.js';

describe('parseS3Location', () => {
  it('reads bucket, endpoint, region and path style', () => {
    expect(parseS3Location('s3://models?endpoint=http://127.0.0.1:7480&region=eu-west-1&forcePathStyle=true')).toEqual({
      bucket: 'models',
      endpoint: 'http://127.0.0.1:7480',
      region: 'eu-west-1',
      forcePathStyle: true,
    });
  });

  it('defaults to AWS itself, us-east-1 and virtual-hosted style', () => {
    expect(parseS3Location('s3://my.bucket-1')).toEqual({ bucket: 'my.bucket-1', endpoint: undefined, region: 'us-east-1', forcePathStyle: false });
  });

  it.each([
    ['not a URL', 's3:'],
    ['another scheme', 'gs://bucket'],
    ['credentials in the URL', 's3://AKIA:secret@bucket'],
    ['a path', 's3://bucket/prefix'],
    ['a bad bucket name', 's3://Bucket_Name'],
    ['an unknown parameter', 's3://bucket?secretAccessKey=x'],
    ['a non-HTTP endpoint', 's3://bucket?endpoint=ftp://host'],
    ['a malformed endpoint', 's3://bucket?endpoint=::'],
    ['a bad region', 's3://bucket?region=EU WEST'],
    ['a bad forcePathStyle', 's3://bucket?forcePathStyle=yes'],
  ])('refuses %s with CONFIG_INVALID', (_label, spec) => {
    expect(() => parseS3Location(spec)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('is what openBlobStore uses for s3:// locations', async () => {
    await expect(openBlobStore('s3://bucket?forcePathStyle=maybe', '/tmp')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(openBlobStore('ftp://bucket', '/tmp')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
