/**
 * Bit-rot harness for the flash PAL, shared by damage.test.ts and scripts/soak-flash.ts: a provisioned
 * image, one bit flipped, then the checks of docs/flash-pal.md §5: the mount and every read write
 * nothing; every label reads back exactly (one flipped bit is read as written wherever it lands); later
 * writes never touch a sector reported damaged; the explicit repair leaves a healthy image that still
 * holds every value.
 * @module
 */
import assert from 'node:assert/strict';
import {
  createFlashPal,
  FlashDevice,
  type FlashGeometry,
  type FlashPal,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';
import { apply, bytesOf, type Op } from './harness.js';

type Values = Map<string, { data: Uint8Array; isPrivate: boolean }>;

export interface Provisioned {
  geometry: FlashGeometry;
  image: Uint8Array;
  values: Values;
}

/** Runs `ops` on an erased chip; the image and what every label then holds. */
export function provision(geometry: FlashGeometry, ops: Op[]): Provisioned {
  const device = new FlashDevice({ geometry, strict: 'erased' });
  const pal = createFlashPal({ device });
  const values: Values = new Map();
  for (const op of ops) {
    apply(pal, op);
    if (op.kind === 'save')
      values.set(op.label, { data: bytesOf(op.size, op.fill), isPrivate: op.isPrivate });
    else values.delete(op.label);
  }
  return { geometry, image: device.image.slice(), values };
}

/** Bits worth flipping: every bit of every byte that is not erased, plus every header slot's. */
export function interestingBits(p: Provisioned): number[] {
  const bits: number[] = [];
  const { sectorSize } = p.geometry;
  p.image.forEach((b, i) => {
    if (b !== 0xff || i % sectorSize < 32) for (let k = 0; k < 8; k++) bits.push(i * 8 + k);
  });
  return bits;
}

function expectAll(pal: FlashPal, values: Values, ctx: string): void {
  for (const [label, want] of values) {
    const h = pal.findObject(label);
    assert.ok(h !== 0, `${ctx}: "${label}" is gone`);
    const v = pal.getObjectValue(h);
    assert.deepEqual(v.data, want.data, `${ctx}: "${label}" reads other bytes`);
    assert.equal(v.isPrivate, want.isPrivate, `${ctx}: "${label}" private flag`);
    pal.getObjectValueCleanup(v);
  }
  assert.equal(pal.stats().objects, values.size, `${ctx}: labels never saved appear`);
}

const damagedSectors = (pal: FlashPal) =>
  pal.damage().flatMap((line) => {
    const m = /^damaged sector (\d+)/.exec(line);
    return m ? [Number(m[1])] : [];
  });

/** The whole check for bit `bit` of `p`'s image (assertions throw with the bit in the message). */
export function checkBitFlip(p: Provisioned, bit: number): void {
  const ctx = `bit ${bit} (byte ${bit >> 3}, sector ${Math.floor((bit >> 3) / p.geometry.sectorSize)})`;
  const image = p.image.slice();
  image[bit >> 3] = (image[bit >> 3] as number) ^ (1 << (bit & 7));
  const device = new FlashDevice({ geometry: p.geometry, image, strict: 'erased' });
  const pal = createFlashPal({ device });
  pal.initialize();
  expectAll(pal, p.values, `${ctx}, read only`);
  assert.equal(device.steps, 0, `${ctx}: a read path programmed or erased the flash`);

  const { sectorSize } = p.geometry;
  const kept = damagedSectors(pal).map((s) => ({
    s,
    bytes: image.slice(s * sectorSize, (s + 1) * sectorSize),
  }));
  const values: Values = new Map(p.values);
  const [first, second] = [...values.keys()];
  const writes: Op[] = [
    { kind: 'save', label: 'after the flip', size: 300, fill: 77, isPrivate: true },
    ...(first
      ? [{ kind: 'save' as const, label: first, size: 120, fill: 78, isPrivate: false }]
      : []),
    ...(second ? [{ kind: 'destroy' as const, label: second }] : []),
  ];
  const record = (op: Op) => {
    if (op.kind === 'save')
      values.set(op.label, { data: bytesOf(op.size, op.fill), isPrivate: op.isPrivate });
    else values.delete(op.label);
  };
  // A damaged sector is kept until the repair, its room with it: on a store that was nearly full, a
  // save that needs more room is refused (CKR_DEVICE_MEMORY, nothing changed) until the repair.
  const refused: Op[] = [];
  for (const op of writes) {
    try {
      apply(pal, op);
    } catch (e) {
      if (op.kind !== 'save' || kept.length === 0 || !isPkcs11Error(e, CKR_DEVICE_MEMORY)) throw e;
      assert.match(String(e), /fsck --repair/, `${ctx}: the refusal names the repair`);
      refused.push(op);
      continue;
    }
    record(op);
  }
  const again = createFlashPal({ device });
  expectAll(again, values, `${ctx}, after writes and a remount`);
  for (const { s, bytes } of kept) {
    assert.deepEqual(
      image.subarray(s * sectorSize, (s + 1) * sectorSize),
      bytes,
      `${ctx}: damaged sector ${s} was written`,
    );
  }

  again.repair();
  const repaired = createFlashPal({ device });
  expectAll(repaired, values, `${ctx}, after repair`);
  for (const op of refused) {
    apply(repaired, op);
    record(op);
  }
  if (refused.length > 0)
    expectAll(createFlashPal({ device }), values, `${ctx}, refused saves after repair`);
  assert.deepEqual(repaired.damage(), [], `${ctx}: damage left after repair`);
  assert.equal(repaired.stats().damaged, 0, `${ctx}: a damaged sector after repair`);
}
