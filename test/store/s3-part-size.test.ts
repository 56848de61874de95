/**
 * The S3 store's part size (issue 7 §1): multipart uploads have at most 10,000 parts of at most
 * 5 GiB, so a fixed 8 MiB part would cap a blob at 78 GiB — below the default
 * `limits.maxFileBytes` of 100 GiB. `partBytesFor` grows the part with the blob's bound.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PART_BYTES, MAX_OBJECT_BYTES, partBytesFor } from '../../src/store/s3/verified-object-writer.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('partBytesFor', () => {
  it('keeps the preferred part size while 10,000 parts hold the blob', () => {
    expect(partBytesFor(1)).toBe(DEFAULT_PART_BYTES);
    expect(partBytesFor(10_000 * DEFAULT_PART_BYTES)).toBe(DEFAULT_PART_BYTES);
    expect(partBytesFor(5 * GiB, 5 * MiB)).toBe(5 * MiB);
  });

  it('grows the part (in whole MiB) so that 10,000 parts hold the largest allowed blob', () => {
    for (const size of [10_000 * DEFAULT_PART_BYTES + 1, 100 * GiB, 1024 * GiB, 5 * 1024 * GiB]) {
      const part = partBytesFor(size);
      expect(part % MiB, `${size}`).toBe(0);
      expect(part * 10_000, `${size}`).toBeGreaterThanOrEqual(size);
      expect(part).toBeLessThanOrEqual(5 * GiB);
    }
    expect(partBytesFor(100 * GiB)).toBe(11 * MiB);
  });

  it('refuses a blob larger than one S3 object can be with FILE_TOO_LARGE', () => {
    expect(MAX_OBJECT_BYTES).toBe(10_000 * 5 * GiB);
    expect(partBytesFor(MAX_OBJECT_BYTES)).toBe(5 * GiB);
    expect(() => partBytesFor(MAX_OBJECT_BYTES + 1)).toThrow(expect.objectContaining({ code: 'FILE_TOO_LARGE' }));
  });
});
