/**
 * Power-cut harness for the flash PAL (security.md §5.5): runs a sequence of PAL operations on a
 * simulated chip with power cuts at chosen steps, "reboots" after each cut (a new PAL over the same
 * image, which recovers and retries the interrupted operation), and checks after every mount that each
 * label holds exactly one of the values it may hold: the last acknowledged one, or the one in flight.
 * Once observed, a value must stay (a later cut may not bring an older one back). Shared by the tests
 * and scripts/soak-flash.ts (scenarios.ts holds the sequences they run).
 * @module
 */
import assert from 'node:assert/strict';
import {
  type BadSectorMode,
  type CutMode,
  createFlashPal,
  FlashDevice,
  type FlashGeometry,
  type FlashPal,
  type FlashStep,
  PowerCutError,
  type TornProgramModel,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';

export type Op =
  | { kind: 'save'; label: string; size: number; fill: number; isPrivate: boolean }
  | { kind: 'destroy'; label: string };

export interface Cut {
  /** Steps (program pages, erases) that complete before the cut, counted from the phase start. */
  afterSteps: number;
  mode: CutMode;
  torn: TornProgramModel;
  seed: number;
}

/** A sector that turns bad just before operation `atOp` runs. */
export interface Fault {
  atOp: number;
  sector: number;
  mode: BadSectorMode;
}

export interface Scenario {
  geometry: FlashGeometry;
  ops: Op[];
  /** Cut i is armed when phase i starts (phase 0 = the first run, phase i = after the i-th reboot). */
  cuts: Cut[];
  /** Sectors going bad; operations may then fail with CKR_DEVICE_ERROR (the value is then in doubt). */
  faults?: Fault[];
}

export interface Outcome {
  /** Steps each phase took, up to its cut or to completion. */
  phaseSteps: number[];
  cutsFired: number;
}

type Version = { data: Uint8Array; isPrivate: boolean } | undefined;

/** Deterministic test bytes: `size` bytes derived from `fill`. */
export function bytesOf(size: number, fill: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (fill + i * 29 + (i >> 7) * 3) & 0xff;
  return out;
}

function resultOf(op: Op): Version {
  return op.kind === 'save'
    ? { data: bytesOf(op.size, op.fill), isPrivate: op.isPrivate }
    : undefined;
}

function same(a: Version, b: Version): boolean {
  if (!a || !b) return a === b;
  return (
    a.isPrivate === b.isPrivate &&
    a.data.length === b.data.length &&
    a.data.every((x, i) => x === b.data[i])
  );
}

function show(v: Version): string {
  return v
    ? `${v.data.length} B [${v.data.subarray(0, 4).join(',')}…] private=${v.isPrivate}`
    : 'absent';
}

/** What every label may hold: one version once settled, two while an operation on it is in doubt. */
export class Model {
  readonly #possible = new Map<string, Version[]>();

  /** An operation starts: its label may now hold the new version too. Returns what it held before. */
  begin(op: Op): Version[] {
    const now = this.#possible.get(op.label) ?? [undefined];
    this.#possible.set(op.label, [...now, resultOf(op)]);
    return now;
  }

  /** An operation was refused (CKR_DEVICE_MEMORY before anything was written). */
  refuse(op: Op, before: Version[]): void {
    this.#possible.set(op.label, before);
  }

  ack(op: Op): void {
    this.#possible.set(op.label, [resultOf(op)]);
  }

  /** Checks every label against the allowed versions and settles each to what it observed. */
  check(pal: FlashPal, context: string): void {
    let present = 0;
    for (const [label, allowed] of this.#possible) {
      const h = pal.findObject(label);
      let seen: Version;
      if (h !== 0) {
        const v = pal.getObjectValue(h);
        seen = { data: v.data.slice(), isPrivate: v.isPrivate };
        pal.getObjectValueCleanup(v);
        present++;
      }
      if (!allowed.some((a) => same(a, seen))) {
        assert.fail(
          `${context}: "${label}" holds ${show(seen)}; allowed ${allowed.map(show).join(' | ')}`,
        );
      }
      this.#possible.set(label, [seen]);
    }
    assert.equal(pal.stats().objects, present, `${context}: the PAL holds labels never saved`);
  }

  labels(): string[] {
    return [...this.#possible.keys()];
  }
}

export function apply(pal: FlashPal, op: Op): void {
  if (op.kind === 'save') {
    pal.saveObject(op.label, bytesOf(op.size, op.fill), op.isPrivate);
  } else {
    const h = pal.findObject(op.label);
    if (h !== 0) pal.destroyObject(h);
  }
}

export function describeScenario(s: Scenario): string {
  const g = s.geometry;
  const cuts = s.cuts.map((c) => `${c.afterSteps}:${c.mode}/${c.torn}/${c.seed}`).join(' ');
  const faults = (s.faults ?? [])
    .map((f) => `op ${f.atOp}: sector ${f.sector} ${f.mode}`)
    .join(', ');
  return `geometry ${g.sectorCount}x${g.sectorSize}/${g.pageSize}/${g.writeSize}, ${s.ops.length} ops, cuts [${cuts}]${faults ? `, bad [${faults}]` : ''}`;
}

/**
 * Runs the scenario: each phase mounts a new PAL (recovery), checks the model, then carries on with the
 * remaining operations (the interrupted one is retried). Ends with the post-run checks.
 */
export function runScenario(s: Scenario, sweeps = 2): Outcome {
  const device = new FlashDevice({ geometry: s.geometry, strict: 'erased', seed: 1 });
  const model = new Model();
  const phaseSteps: number[] = [];
  const ctx = describeScenario(s);
  const faulty = (s.faults?.length ?? 0) > 0;
  let next = 0;
  for (let phase = 0; ; phase++) {
    const cut = s.cuts[phase];
    const start = device.steps;
    if (cut) {
      device.reseed(cut.seed);
      device.armPowerCut(cut.afterSteps, cut.mode, cut.torn);
    }
    try {
      const pal = createFlashPal({ device });
      pal.initialize();
      if (phase > 0) model.check(pal, `${ctx}, after cut ${phase}`);
      for (; next < s.ops.length; next++) {
        for (const f of s.faults ?? []) if (f.atOp === next) device.setBadSector(f.sector, f.mode);
        applyChecked(pal, s.ops[next]!, model, faulty);
      }
      device.disarmPowerCut();
      phaseSteps.push(device.steps - start);
      break;
    } catch (e) {
      if (!(e instanceof PowerCutError)) throw e;
      phaseSteps.push(device.steps - start);
      device.powerOn();
    }
  }
  verifyAfterRun(device, model, ctx, faulty ? 0 : sweeps, faulty);
  return { phaseSteps, cutsFired: phaseSteps.length - 1 };
}

/**
 * The final checks: two more mounts see the same state; no sector was lost and the GC reserve is back;
 * the store still takes new saves, overwrites and destroys; space is reclaimed when `sweeps` times the
 * whole flash is rewritten.
 */
export function verifyAfterRun(
  device: FlashDevice,
  model: Model,
  ctx: string,
  sweeps = 2,
  faulty = false,
): void {
  let pal = createFlashPal({ device });
  model.check(pal, `${ctx}, final mount`);
  pal = createFlashPal({ device });
  model.check(pal, `${ctx}, second mount`);
  const st = pal.stats();
  if (!faulty) {
    assert.equal(st.bad, 0, `${ctx}: a sector was retired`);
    assert.equal(st.damaged, 0, `${ctx}: a power cut left a sector reported damaged`);
    assert.ok(st.erased >= 1, `${ctx}: no erased sector left for GC`);
  }
  model.labels().forEach((label, i) => {
    const op: Op = {
      kind: 'save',
      label,
      size: 40 + i * 13,
      fill: 200 + i,
      isPrivate: i % 2 === 0,
    };
    applyChecked(pal, op, model, faulty);
  });
  const { sectorSize, sectorCount } = device.geometry;
  const probeSize = Math.min(1000, Math.floor(sectorSize / 4));
  for (let i = 0; i < Math.ceil((sweeps * sectorCount * sectorSize) / probeSize); i++) {
    apply(pal, { kind: 'save', label: '#probe', size: probeSize, fill: i, isPrivate: false });
  }
  applyChecked(pal, { kind: 'destroy', label: '#probe' }, model, faulty);
  model.check(pal, `${ctx}, after reuse`);
  model.check(createFlashPal({ device }), `${ctx}, after reuse and remount`);
}

/**
 * Applies `op` and records the outcome: acknowledged; refused with CKR_DEVICE_MEMORY (nothing written);
 * or, with bad sectors about, failed with CKR_DEVICE_ERROR (the label may hold old or new).
 */
export function applyChecked(pal: FlashPal, op: Op, model: Model, tolerateIo: boolean): void {
  const before = model.begin(op);
  try {
    apply(pal, op);
  } catch (e) {
    if (isPkcs11Error(e, CKR_DEVICE_MEMORY)) model.refuse(op, before);
    else if (!(tolerateIo && isPkcs11Error(e, CKR_DEVICE_ERROR))) throw e;
    return;
  }
  model.ack(op);
}

/** Program and erase steps of an uncut run (the N of "a cut at every step k = 0..N-1"). */
export function profile(geometry: FlashGeometry, ops: Op[]): { steps: number; erases: number } {
  let erases = 0;
  const onStep = (st: FlashStep) => {
    if (st.kind === 'erase') erases++;
  };
  const device = new FlashDevice({ geometry, strict: 'erased', onStep });
  const pal = createFlashPal({ device });
  for (const op of ops) apply(pal, op);
  return { steps: device.steps, erases };
}

/** R1: one run per step k with a cut after k steps; `seeds` torn patterns per k. Returns the runs. */
export function cutAtEveryStep(
  geometry: FlashGeometry,
  ops: Op[],
  mode: CutMode,
  torn: TornProgramModel,
  seeds = 1,
): number {
  const { steps } = profile(geometry, ops);
  let runs = 0;
  for (let k = 0; k < steps; k++) {
    for (let seed = 1; seed <= seeds; seed++) {
      const out = runScenario({
        geometry,
        ops,
        cuts: [{ afterSteps: k, mode, torn, seed: k * 7919 + seed }],
      });
      assert.equal(out.cutsFired, 1, `cut at step ${k} did not fire`);
      runs++;
    }
  }
  return runs;
}

/** R2: every pair (k1, k2): a cut after k1 steps, then one after k2 steps of recovery and retry. */
export function cutTwiceEverywhere(
  geometry: FlashGeometry,
  ops: Op[],
  mode: CutMode,
  torn: TornProgramModel,
): number {
  const { steps } = profile(geometry, ops);
  let pairs = 0;
  for (let k1 = 0; k1 < steps; k1++) {
    const first = { afterSteps: k1, mode, torn, seed: k1 + 1 };
    const n2 = runScenario({ geometry, ops, cuts: [first] }, 0).phaseSteps[1]!;
    for (let k2 = 0; k2 < n2; k2++) {
      const second = { afterSteps: k2, mode, torn, seed: 1000 + k2 };
      assert.equal(runScenario({ geometry, ops, cuts: [first, second] }, 0).cutsFired, 2);
      pairs++;
    }
  }
  return pairs;
}
