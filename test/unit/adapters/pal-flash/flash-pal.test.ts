import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createFlashPal,
  FlashDevice,
  PowerCutError,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';
import { crc32 } from '../../../../src/util/crc32.js';
import { palConformance, throwsRv } from '../../storage/pal-conformance.js';

const SMALL = { sectorSize: 8192, pageSize: 256, sectorCount: 6, writeSize: 8 };

palConformance('flash (memory image)', ({ small }) => {
  const device = new FlashDevice({
    geometry: small ? SMALL : { sectorSize: 64 * 1024, sectorCount: 12 },
    strict: 'erased',
  });
  return { pal: createFlashPal({ device }), reopen: () => createFlashPal({ device }) };
});

palConformance('flash (image file)', ({ small }) => {
  const dir = mkdtempSync(join(tmpdir(), 'pal-flash-'));
  const path = join(dir, 'device.img');
  const geometry = small ? SMALL : { sectorSize: 64 * 1024, sectorCount: 12 };
  return {
    pal: createFlashPal({ path, geometry }),
    reopen: () => createFlashPal({ path, geometry }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('flash PAL', () => {
  it('a value larger than a sector → CKR_DEVICE_MEMORY, a long label → CKR_DEVICE_MEMORY', () => {
    const pal = createFlashPal({ geometry: SMALL });
    throwsRv(() => pal.saveObject('big', new Uint8Array(8192), false), CKR_DEVICE_MEMORY);
    throwsRv(() => pal.saveObject('x'.repeat(256), new Uint8Array(1), false), CKR_DEVICE_MEMORY);
    assert.ok(pal.saveObject('x'.repeat(255), new Uint8Array(1), false) > 0);
  });

  it('updates after a remount win over older versions (sequence numbers continue)', () => {
    const device = new FlashDevice({ geometry: SMALL });
    createFlashPal({ device }).saveObject('Device Cert', new Uint8Array(100).fill(1), false);
    const second = createFlashPal({ device });
    second.saveObject('Device Cert', new Uint8Array(100).fill(2), false);
    const third = createFlashPal({ device });
    assert.deepEqual(
      third.getObjectValue(third.findObject('Device Cert')).data,
      new Uint8Array(100).fill(2),
    );
    third.destroyObject(third.findObject('Device Cert'));
    assert.equal(createFlashPal({ device }).findObject('Device Cert'), 0);
  });

  it('finds a label with a lone surrogate after a remount (stored as UTF-8)', () => {
    const device = new FlashDevice({ geometry: SMALL });
    createFlashPal({ device }).saveObject('key\uD800', new Uint8Array(3), true);
    assert.ok(createFlashPal({ device }).findObject('key\uD800') > 0);
  });

  it('a geometry too small for the format → CKR_DEVICE_ERROR', () => {
    const one = new FlashDevice({ geometry: { ...SMALL, sectorCount: 1 } });
    throwsRv(() => createFlashPal({ device: one }).initialize(), CKR_DEVICE_ERROR);
    const tiny = new FlashDevice({
      geometry: { sectorSize: 64, pageSize: 64, sectorCount: 4, writeSize: 4 },
    });
    throwsRv(() => createFlashPal({ device: tiny }).initialize(), CKR_DEVICE_ERROR);
  });

  it('refuses calls after a power cut → CKR_DEVICE_ERROR until a new PAL mounts', () => {
    const device = new FlashDevice({ geometry: SMALL });
    const pal = createFlashPal({ device });
    pal.saveObject('a', new Uint8Array(10).fill(1), false);
    device.armPowerCut(0);
    assert.throws(() => pal.saveObject('a', new Uint8Array(10).fill(2), false), PowerCutError);
    throwsRv(() => pal.findObject('a'), CKR_DEVICE_ERROR);
    device.powerOn();
    const again = createFlashPal({ device });
    const v = again.getObjectValue(again.findObject('a'));
    assert.deepEqual(v.data, new Uint8Array(10).fill(1));
  });

  it('a value that no longer matches its CRC → CKR_DEVICE_ERROR, never wrong bytes (one flipped bit is read as written)', () => {
    const device = new FlashDevice({ geometry: SMALL });
    const pal = createFlashPal({ device });
    const h = pal.saveObject('Device Cert', new Uint8Array(300).fill(0xa7), false);
    const at = device.image.findIndex((_, i, a) => a.subarray(i, i + 64).every((b) => b === 0xa7));
    assert.ok(at > 0);
    device.image.fill(0xb7, at + 100, at + 101);
    assert.deepEqual(pal.getObjectValue(h).data, new Uint8Array(300).fill(0xa7));
    device.image.fill(0x00, at + 100, at + 101);
    throwsRv(() => pal.getObjectValue(h), CKR_DEVICE_ERROR);
  });

  it('an image written for another sector size → CKR_DEVICE_ERROR, not reformatted', () => {
    const device = new FlashDevice({ geometry: SMALL });
    createFlashPal({ device }).saveObject('a', new Uint8Array(4), false);
    const other = new FlashDevice({
      geometry: { ...SMALL, sectorSize: 4096, sectorCount: 12 },
      image: device.image,
    });
    throwsRv(() => createFlashPal({ device: other }).initialize(), CKR_DEVICE_ERROR);
    assert.ok(createFlashPal({ device }).findObject('a') > 0);
  });

  for (const writeSize of [64, 8]) {
    it(`an image written with write size 4, opened with ${writeSize} → CKR_DEVICE_ERROR, nothing lost`, () => {
      const geometry = { sectorSize: 4096, pageSize: 256, sectorCount: 4, writeSize: 4 };
      const device = new FlashDevice({ geometry });
      const pal = createFlashPal({ device });
      pal.saveObject('A', new Uint8Array(4).fill(1), false);
      pal.saveObject('A', new Uint8Array(4).fill(2), false);
      pal.saveObject('B', new Uint8Array(4).fill(3), false);
      const other = new FlashDevice({ geometry: { ...geometry, writeSize }, image: device.image });
      assert.throws(
        () => createFlashPal({ device: other }).initialize(),
        (e: unknown) =>
          isPkcs11Error(e, CKR_DEVICE_ERROR) && /write size 4, opened with/.test(e.detail ?? ''),
      );
      const again = createFlashPal({ device });
      assert.deepEqual(again.getObjectValue(again.findObject('A')).data, new Uint8Array(4).fill(2));
      assert.deepEqual(again.getObjectValue(again.findObject('B')).data, new Uint8Array(4).fill(3));
    });
  }

  it('an image of format version 1 (no write size recorded) → CKR_DEVICE_ERROR naming the version', () => {
    const device = new FlashDevice({ geometry: SMALL });
    createFlashPal({ device }).saveObject('a', new Uint8Array(4), false);
    // Rewrite sector 0's header as version 1 wrote it: version byte 1, bytes 24–27 left erased.
    const header = device.image.subarray(0, 32);
    header[4] = 1;
    header.fill(0xff, 24, 28);
    new DataView(header.buffer, header.byteOffset).setUint32(
      28,
      crc32(header.subarray(0, 28)),
      true,
    );
    assert.throws(
      () => createFlashPal({ device }).initialize(),
      (e: unknown) => isPkcs11Error(e, CKR_DEVICE_ERROR) && /format version 1/.test(e.detail ?? ''),
    );
  });

  it('image file: created erased, sector count taken from its size, owner lock enforced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pal-flash-'));
    try {
      const path = join(dir, 'dev.img');
      const pal = createFlashPal({ path, geometry: SMALL });
      pal.saveObject('Root Cert', new Uint8Array(500).fill(3), false);
      assert.equal(readFileSync(path).length, SMALL.sectorSize * SMALL.sectorCount);
      throwsRv(() => createFlashPal({ path, geometry: SMALL }).initialize(), CKR_DEVICE_ERROR);
      pal.close();
      assert.equal(existsSync(`${path}.lock`), false);
      const again = createFlashPal({
        path,
        geometry: { sectorSize: SMALL.sectorSize, writeSize: 8 },
      });
      const v = again.getObjectValue(again.findObject('Root Cert'));
      assert.deepEqual(v.data, new Uint8Array(500).fill(3));
      again.close();
      writeFileSync(`${path}.lock`, '999999999\n');
      const stale = createFlashPal({ path, geometry: SMALL });
      assert.ok(stale.findObject('Root Cert') > 0, 'a lock of a dead process is taken over');
      stale.close();
      writeFileSync(join(dir, 'odd.img'), new Uint8Array(1000));
      throwsRv(() => createFlashPal({ path: join(dir, 'odd.img') }).initialize(), CKR_DEVICE_ERROR);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
