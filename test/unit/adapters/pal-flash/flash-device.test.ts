import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FlashDevice,
  FlashIoError,
  type FlashStep,
  PowerCutError,
} from '../../../../src/adapters/pal-flash/index.js';

const G = { sectorSize: 1024, pageSize: 64, sectorCount: 4, writeSize: 4 };

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) & 0xff);
}

describe('FlashDevice', () => {
  it('starts erased and programs by clearing bits only', () => {
    const d = new FlashDevice({ geometry: G });
    assert.ok(d.isErased(0, d.size));
    d.program(0, Uint8Array.of(0xf0, 0x0f, 0xff, 0x00));
    d.program(0, Uint8Array.of(0x30, 0x0f, 0x7f, 0x00));
    assert.deepEqual(d.read(0, 4), Uint8Array.of(0x30, 0x0f, 0x7f, 0x00));
  });

  it('throws when a program would set a bit (1 over 0), changing nothing', () => {
    const d = new FlashDevice({ geometry: G });
    d.program(0, Uint8Array.of(0x0f, 0, 0, 0));
    assert.throws(() => d.program(0, Uint8Array.of(0x1f, 0, 0, 0)), /sets bits/);
    assert.equal(d.read(0, 1)[0], 0x0f);
  });

  it("strict 'erased' mode refuses programming any non-erased byte", () => {
    const d = new FlashDevice({ geometry: G, strict: 'erased' });
    d.program(8, Uint8Array.of(0xf0, 0xff, 0xff, 0xff));
    assert.throws(() => d.program(8, Uint8Array.of(0x00, 0xff, 0xff, 0xff)), /sets bits/);
  });

  it('enforces write alignment and bounds', () => {
    const d = new FlashDevice({ geometry: G });
    assert.throws(() => d.program(2, new Uint8Array(4)), RangeError);
    assert.throws(() => d.program(0, new Uint8Array(3)), RangeError);
    assert.throws(() => d.program(d.size - 4, new Uint8Array(8)), RangeError);
    assert.throws(() => d.erase(4), RangeError);
    assert.throws(() => new FlashDevice({ geometry: { ...G, pageSize: 96 } }), RangeError);
  });

  it('splits a program into one step per page and counts erases per sector', () => {
    const steps: FlashStep[] = [];
    const d = new FlashDevice({ geometry: G, onStep: (s) => steps.push(s) });
    d.program(60, new Uint8Array(72));
    assert.deepEqual(
      steps.map((s) => [s.kind, s.address, s.length]),
      [
        ['program', 60, 4],
        ['program', 64, 64],
        ['program', 128, 4],
      ],
    );
    d.erase(0);
    d.erase(0);
    d.erase(3);
    assert.deepEqual(d.eraseCounts, [2, 0, 0, 1]);
    assert.equal(d.steps, 6);
    assert.ok(d.isErased(0, 1024));
  });

  it('atomic power cut: steps before k complete, step k+1 is lost, then the chip is off', () => {
    const d = new FlashDevice({ geometry: G });
    d.armPowerCut(1, 'atomic');
    assert.throws(() => d.program(0, new Uint8Array(128)), PowerCutError);
    assert.ok(d.powerLost);
    assert.throws(() => d.read(0, 4), PowerCutError);
    d.powerOn();
    assert.ok(d.read(0, 64).every((b) => b === 0));
    assert.ok(d.isErased(64, 64));
  });

  it('torn program (prefix): a prefix lands, the rest stays erased', () => {
    const d = new FlashDevice({ geometry: G, seed: 7 });
    const data = pattern(64, 1);
    d.armPowerCut(0, 'torn-program', 'prefix');
    assert.throws(() => d.program(256, data), PowerCutError);
    d.powerOn();
    const got = d.read(256, 64);
    const first = got.findIndex((b, i) => b !== data[i]);
    assert.ok(first >= 0, 'something must be missing');
    for (let i = first + 1; i < 64; i++) assert.equal(got[i], 0xff);
  });

  it('torn program (bits): each byte holds a subset of the intended bit clears', () => {
    const d = new FlashDevice({ geometry: G, seed: 3 });
    const data = pattern(64, 2);
    d.armPowerCut(0, 'torn', 'bits');
    assert.throws(() => d.program(0, data), PowerCutError);
    d.powerOn();
    const got = d.read(0, 64);
    assert.ok(got.every((b, i) => (b & (data[i] as number)) === data[i]));
    assert.ok(got.some((b, i) => b !== data[i]) && got.some((b) => b !== 0xff));
  });

  it('torn erase: the sector is left partly erased, no bit cleared', () => {
    for (const seed of [1, 2, 3, 4]) {
      const d = new FlashDevice({ geometry: G, seed });
      d.program(1024, pattern(1024, 3));
      const before = d.read(1024, 1024);
      d.armPowerCut(0, 'torn-erase');
      assert.throws(() => d.erase(1), PowerCutError);
      d.powerOn();
      const after = d.read(1024, 1024);
      assert.ok(after.every((b, i) => (b | (before[i] as number)) === b));
      assert.ok(!d.isErased(1024, 1024));
      assert.notDeepEqual(after, before);
    }
  });

  it("cut modes leave other kinds of step atomic ('torn-erase' does not tear programs)", () => {
    const d = new FlashDevice({ geometry: G });
    d.armPowerCut(0, 'torn-erase');
    assert.throws(() => d.program(0, new Uint8Array(64)), PowerCutError);
    d.powerOn();
    assert.ok(d.isErased(0, 64));
  });

  it('bad sectors: program error, silent program no-op, erase error, silent erase no-op', () => {
    const d = new FlashDevice({
      geometry: G,
      badSectors: { 0: 'prog-error', 1: 'prog-noop', 2: 'erase-error', 3: 'erase-noop' },
    });
    assert.throws(() => d.program(0, new Uint8Array(4)), FlashIoError);
    d.program(1024, new Uint8Array(4));
    assert.ok(d.isErased(1024, 4));
    d.program(2048, new Uint8Array(4));
    assert.throws(() => d.erase(2), FlashIoError);
    d.program(3072, new Uint8Array(4));
    d.erase(3);
    assert.ok(!d.isErased(3072, 4));
    d.setBadSector(3, undefined);
    d.erase(3);
    assert.ok(d.isErased(3072, 1024));
  });

  it('a sector wears out after its endurance', () => {
    const d = new FlashDevice({ geometry: G, endurance: 3, wearOutMode: 'prog-noop' });
    for (let i = 0; i < 4; i++) d.erase(1);
    assert.equal(d.badSectorMode(1), 'prog-noop');
    assert.equal(d.badSectorMode(0), undefined);
  });

  it('writes every changed range through to the backing', () => {
    const mirror = new Uint8Array(4096).fill(0xff);
    const d = new FlashDevice({
      geometry: G,
      backing: { write: (off, bytes) => mirror.set(bytes, off) },
    });
    d.program(100, pattern(200, 4));
    d.erase(3);
    d.program(3000, pattern(8, 5));
    assert.deepEqual(mirror, d.image);
  });
});
