import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  createFlashPal,
  FlashDevice,
  type FlashGeometry,
  PowerCutError,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';
import { throwsRv } from '../../storage/pal-conformance.js';
import { checkBitFlip, interestingBits, provision } from './bit-flip.js';
import { apply, bytesOf, type Op } from './harness.js';
import { GEOMETRIES, provisioningOps } from './scenarios.js';

const GEOMETRY: FlashGeometry = { sectorSize: 4096, pageSize: 256, sectorCount: 5, writeSize: 4 };
/**
 * Provisioning on GEOMETRY leaves sectors 2 (older) and 3 (active) in use; byte 12 of a header holds
 * the low byte of the sector's sequence number.
 */
const SECTOR = 2;
const SEQ_BYTE = SECTOR * GEOMETRY.sectorSize + 12;

function provisioned() {
  return provision(GEOMETRY, provisioningOps());
}

function mountCopy(image: Uint8Array) {
  const device = new FlashDevice({ geometry: GEOMETRY, image, strict: 'erased' });
  return { device, pal: createFlashPal({ device }) };
}

function read(pal: ReturnType<typeof createFlashPal>, label: string): Uint8Array | undefined {
  const h = pal.findObject(label);
  return h === 0 ? undefined : pal.getObjectValue(h).data;
}

describe('flash PAL: damaged sectors are kept, never destroyed by a read', () => {
  it('one bit of a sector header’s sequence number flipped: the mount writes nothing, every label reads back, "damaged sector N" is reported', () => {
    const p = provisioned();
    const image = p.image.slice();
    image[SEQ_BYTE] = (image[SEQ_BYTE] as number) ^ 0x01;
    const { device, pal } = mountCopy(image);
    for (const [label, v] of p.values) assert.deepEqual(read(pal, label), v.data, label);
    assert.equal(device.steps, 0, 'nothing programmed or erased');
    assert.match(
      pal.damage()[0] ?? '',
      new RegExp(`^damaged sector ${SECTOR}: its header fails its CRC`),
    );
    assert.equal(pal.stats().damaged, 1);
  });

  it('a whole header byte destroyed (8 bits): the sequence number is recovered from the entries, nothing lost', () => {
    const p = provisioned();
    const image = p.image.slice();
    image[SEQ_BYTE] = (image[SEQ_BYTE] as number) ^ 0xff;
    image[SEQ_BYTE + 4] = 0x00;
    const { device, pal } = mountCopy(image);
    for (const [label, v] of p.values) assert.deepEqual(read(pal, label), v.data, label);
    assert.equal(device.steps, 0);
    assert.match(
      pal.damage()[0] ?? '',
      new RegExp(
        `^damaged sector ${SECTOR}: its header is unreadable \\(sequence number \\d+ recovered`,
      ),
    );
  });

  it('writes after the damage never touch the damaged sector, and a label deleted there stays deleted through collections', () => {
    const p = provisioned();
    const image = p.image.slice();
    image[SEQ_BYTE] = (image[SEQ_BYTE] as number) ^ 0x04;
    const { device, pal } = mountCopy(image);
    const span = [SECTOR * GEOMETRY.sectorSize, (SECTOR + 1) * GEOMETRY.sectorSize] as const;
    const kept = image.slice(...span);
    // "Code Verify Key" was last written in the damaged sector: delete it, then churn laps of GC.
    const victim = 'Code Verify Key';
    assert.ok(read(pal, victim));
    pal.destroyObject(pal.findObject(victim));
    for (let i = 0; i < 200; i++) {
      apply(pal, { kind: 'save', label: `churn ${i % 5}`, size: 700, fill: i, isPrivate: false });
      if (i % 50 === 0) assert.equal(read(createFlashPal({ device }), victim), undefined);
    }
    const erases = device.eraseCounts;
    assert.ok(
      erases.every((n, i) => i === SECTOR || n > 5),
      `others collected: ${erases}`,
    );
    assert.equal(erases[SECTOR], 0, 'the damaged sector was never erased');
    assert.deepEqual(image.subarray(...span), kept);
    const again = createFlashPal({ device });
    assert.equal(read(again, victim), undefined);
    for (const [label, v] of p.values)
      if (label !== victim) assert.deepEqual(read(again, label), v.data, label);
  });

  it('repair() writes the damaged sector’s records again and erases it; the image is healthy afterwards', () => {
    const p = provisioned();
    const image = p.image.slice();
    image[SEQ_BYTE + 8] = (image[SEQ_BYTE + 8] as number) ^ 0x10;
    const { device, pal } = mountCopy(image);
    const done = pal.repair();
    assert.match(
      done[0] ?? '',
      new RegExp(`^sector ${SECTOR}: \\d+ records written again, sector erased$`),
    );
    const again = createFlashPal({ device });
    assert.deepEqual(again.damage(), []);
    assert.equal(again.stats().damaged, 0);
    for (const [label, v] of p.values) assert.deepEqual(read(again, label), v.data, label);
  });

  it('a power cut at every step of a repair loses nothing, and the next repair finishes it', () => {
    const p = provisioned();
    const flipped = p.image.slice();
    flipped[SEQ_BYTE] = (flipped[SEQ_BYTE] as number) ^ 0x02;
    const probe = mountCopy(flipped.slice());
    probe.pal.repair();
    const steps = probe.device.steps;
    assert.ok(steps > 5);
    for (let k = 0; k < steps; k++) {
      for (const mode of ['atomic', 'torn'] as const) {
        const { device, pal } = mountCopy(flipped.slice());
        pal.initialize();
        device.armPowerCut(k, mode);
        assert.throws(() => pal.repair(), PowerCutError);
        device.powerOn();
        const after = createFlashPal({ device });
        for (const [label, v] of p.values)
          assert.deepEqual(read(after, label), v.data, `cut ${k} ${mode}: ${label}`);
        after.repair();
        const healed = createFlashPal({ device });
        assert.equal(healed.stats().damaged, 0, `cut ${k} ${mode}`);
        for (const [label, v] of p.values)
          assert.deepEqual(read(healed, label), v.data, `cut ${k} ${mode}: ${label}`);
      }
    }
  });

  it('on a full image (writes refused → CKR_DEVICE_MEMORY), repair() still heals a damaged sector, every label intact', () => {
    const p = provisioned();
    const full = mountCopy(p.image.slice());
    const values = new Map([...p.values].map(([l, v]) => [l, v.data]));
    for (let i = 0; ; i++) {
      const label = `fill ${i}`;
      try {
        full.pal.saveObject(label, bytesOf(300, i), false);
      } catch (e) {
        if (!isPkcs11Error(e, CKR_DEVICE_MEMORY)) throw e;
        break;
      }
      values.set(label, bytesOf(300, i));
    }
    const image = full.device.image.slice();
    let healed = 0;
    for (let sector = 0; sector < GEOMETRY.sectorCount; sector++) {
      const copy = image.slice();
      const at = sector * GEOMETRY.sectorSize + 12;
      copy[at] = (copy[at] as number) ^ 0x01;
      const { device, pal } = mountCopy(copy);
      if (pal.stats().damaged !== 1) continue; // the spare, or an erased sector: nothing to heal
      assert.match(pal.repair()[0] ?? '', new RegExp(`^sector ${sector}: \\d+ records written`));
      const again = createFlashPal({ device });
      assert.deepEqual(again.damage(), [], `sector ${sector}`);
      for (const [label, v] of values) assert.deepEqual(read(again, label), v, label);
      healed++;
    }
    assert.ok(healed >= 3, `${healed} sectors damaged and healed`);
  });

  it('a value damaged beyond one bit → CKR_DEVICE_ERROR for that label alone; repair leaves it as it is', () => {
    const geometry = GEOMETRY;
    const ops: Op[] = [
      { kind: 'save', label: 'a', size: 200, fill: 1, isPrivate: false },
      { kind: 'save', label: 'b', size: 200, fill: 2, isPrivate: true },
    ];
    const p = provision(geometry, ops);
    const image = p.image.slice();
    const at = image.findIndex((_, i, a) =>
      a.subarray(i, i + 200).every((b, j) => b === bytesOf(200, 1)[j]),
    );
    image[at + 10] = (image[at + 10] as number) ^ 0x81;
    const { device, pal } = mountCopy(image);
    throwsRv(() => pal.getObjectValue(pal.findObject('a')), CKR_DEVICE_ERROR);
    assert.deepEqual(read(pal, 'b'), bytesOf(200, 2));
    pal.repair();
    throwsRv(
      () => createFlashPal({ device }).getObjectValue(createFlashPal({ device }).findObject('a')),
      CKR_DEVICE_ERROR,
    );
  });
});

/** Bounded here; `npm run soak` flips every bit of several images (scripts/soak-flash.ts). */
const RUNS = 400;

describe('flash PAL: one flipped bit anywhere in a provisioned image (property)', () => {
  it(`${RUNS / 4} random bits on each of 3 test geometries: nothing written by a read, every label exact, damaged sectors untouched by writes, repair heals`, () => {
    for (const geometry of GEOMETRIES.slice(0, 3)) {
      const p = provision(geometry, provisioningOps());
      const bits = interestingBits(p);
      const total = p.image.length * 8;
      fc.assert(
        fc.property(
          fc.oneof(
            { weight: 9, arbitrary: fc.constantFrom(...bits) },
            { weight: 1, arbitrary: fc.nat(total - 1) },
          ),
          (bit) => checkBitFlip(p, bit),
        ),
        { numRuns: RUNS / 4 },
      );
    }
  });
});
