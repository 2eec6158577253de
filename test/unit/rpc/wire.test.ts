import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CKR_DEVICE_ERROR } from '../../../src/pkcs11/constants.js';
import { WireReader, WireWriter } from '../../../src/rpc/wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const reader = (h: string) => new WireReader(new Uint8Array(Buffer.from(h, 'hex')));

describe('WireReader / WireWriter', () => {
  it('writes CK_ULONG as big-endian uint64, -1 and 2^64 (a double ~0UL) as all ones', () => {
    const w = new WireWriter(1);
    w.uint64(0x11)
      .uint64(-1)
      .uint64(2 ** 64)
      .uint64(2 ** 40 + 5);
    assert.equal(hex(w.finish()), `0000000000000011${'ff'.repeat(16)}0000010000000005`);
  });

  it('reads uint64 from 2^63 up as negative (all ones is -1)', () => {
    const r = reader(`${'ff'.repeat(8)}00000000000000ff`);
    assert.equal(r.uint64(), -1);
    assert.equal(r.uint64(), 255);
  });

  it('reads 0xffffffff as a NULL byte array and refuses lengths from 0x7fffffff → CKR_DEVICE_ERROR', () => {
    assert.equal(reader('ffffffff').byteArray(), null);
    assert.throws(() => reader('7fffffff').byteArray(), { code: CKR_DEVICE_ERROR });
  });

  it('refuses a byte array longer than the bytes left (CVE-2020-29362) → CKR_DEVICE_ERROR', () => {
    assert.throws(() => reader('00000005aabbcc').byteArray(), { code: CKR_DEVICE_ERROR });
    assert.deepEqual([...(reader('00000002aabb').byteArray() ?? [])], [0xaa, 0xbb]);
  });

  it('refuses a count the message cannot hold, or above its cap, before anything is allocated', () => {
    assert.throws(() => reader(`00010000${'00'.repeat(16)}`).count(8, 1 << 20, 'x'), {
      code: CKR_DEVICE_ERROR,
    });
    assert.throws(() => reader(`00000003${'00'.repeat(24)}`).count(8, 2, 'x'), {
      code: CKR_DEVICE_ERROR,
    });
    assert.equal(reader(`00000003${'00'.repeat(24)}`).count(8, 3, 'x'), 3);
  });

  it('refuses reads past the end → CKR_DEVICE_ERROR', () => {
    const r = reader('0102');
    assert.throws(() => r.uint32(), { code: CKR_DEVICE_ERROR });
    assert.throws(() => reader('').byte(), { code: CKR_DEVICE_ERROR });
  });
});
