import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { Pkcs11Error } from '../../../src/errors.js';
import { CKR_DEVICE_ERROR, CKR_OBJECT_HANDLE_INVALID } from '../../../src/pkcs11/constants.js';
import type { Bucket } from '../../../src/token/index-buckets.js';
import { bucketLabel } from '../../../src/token/store-labels.js';
import { readStore } from '../../../src/token/store-reader.js';

/** One pass over an empty store whose bucket 3 fails to read with `code`. */
function passWithBucketFailing(code: number) {
  const pal = createMemoryPal();
  pal.initialize();
  return readStore({
    pal,
    readMeta: () => undefined,
    readBucket: (b): Bucket => {
      if (b === 3) throw new Pkcs11Error(code, `${bucketLabel(b)} no longer exists`);
      return { entries: [] };
    },
  });
}

describe('store-reader: a pass over the index', () => {
  it('a bucket removed between its lookup and its read (CKR_OBJECT_HANDLE_INVALID) is a race: the pass is read again under the lock', () => {
    const pass = passWithBucketFailing(CKR_OBJECT_HANDLE_INVALID);
    assert.equal(pass.raced, true);
  });

  it('a bucket that cannot be read for any other reason (CKR_DEVICE_ERROR) is damage, not a race', () => {
    const pass = passWithBucketFailing(CKR_DEVICE_ERROR);
    assert.equal(pass.raced, false);
    assert.deepEqual(pass.result.damaged, [
      `${bucketLabel(3)}: ${bucketLabel(3)} no longer exists`,
    ]);
  });
});
