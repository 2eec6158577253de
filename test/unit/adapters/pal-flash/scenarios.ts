/**
 * Scenarios for the flash PAL power-cut tests and scripts/soak-flash.ts: the provisioning sequence, the
 * test geometries, the short sequence for nested cuts, and fast-check generators of random ones.
 * @module
 */
import fc from 'fast-check';
import type {
  BadSectorMode,
  CutMode,
  FlashGeometry,
  TornProgramModel,
} from '../../../../src/adapters/pal-flash/index.js';
import type { Cut, Fault, Op, Scenario } from './harness.js';

/** The seed's six credentials with realistic DER sizes, replaced once each, then one destroyed. */
export function provisioningOps(): Op[] {
  const creds: [string, number, number, boolean][] = [
    ['Device Cert', 1150, 1210, false],
    ['Device Priv TLS Key', 1218, 138, true],
    ['Device Pub TLS Key', 294, 91, false],
    ['Root Cert', 1188, 2048, false],
    ['Code Verify Key', 91, 100, false],
    ['JITP Cert', 2000, 1480, false],
  ];
  const ops: Op[] = [];
  creds.forEach(([label, size, , isPrivate], i) => {
    ops.push({ kind: 'save', label, size, fill: i, isPrivate });
  });
  creds.forEach(([label, , size, isPrivate], i) => {
    ops.push({ kind: 'save', label, size, fill: 100 + i, isPrivate });
  });
  ops.push({ kind: 'destroy', label: 'JITP Cert' });
  return ops;
}

/** The short sequence for nested cuts: small sectors, so it collects garbage twice in 7 operations. */
export const NESTED_GEOMETRY: FlashGeometry = {
  sectorSize: 2048,
  pageSize: 128,
  sectorCount: 3,
  writeSize: 4,
};
export const NESTED_OPS: Op[] = [
  { kind: 'save', label: 'Device Priv TLS Key', size: 900, fill: 1, isPrivate: true },
  { kind: 'save', label: 'Device Cert', size: 800, fill: 2, isPrivate: false },
  { kind: 'save', label: 'Device Priv TLS Key', size: 950, fill: 3, isPrivate: true },
  { kind: 'save', label: 'Root Cert', size: 700, fill: 4, isPrivate: false },
  { kind: 'destroy', label: 'Device Cert' },
  { kind: 'save', label: 'Device Priv TLS Key', size: 850, fill: 5, isPrivate: true },
  { kind: 'save', label: 'Root Cert', size: 500, fill: 6, isPrivate: false },
];

export const GEOMETRIES: FlashGeometry[] = [
  { sectorSize: 4096, pageSize: 256, sectorCount: 4, writeSize: 8 },
  { sectorSize: 4096, pageSize: 64, sectorCount: 4, writeSize: 1 },
  { sectorSize: 8192, pageSize: 512, sectorCount: 3, writeSize: 16 },
  { sectorSize: 4096, pageSize: 128, sectorCount: 3, writeSize: 4 },
];

const LABEL_POOL = [
  'Device Priv TLS Key',
  'Device Cert',
  'Root Cert',
  'JITP Cert',
  'corepkcs11.token',
  'corepkcs11.obj.17',
];

/** Random scenarios for R3: up to 40 saves (0–1.5 KiB) and destroys over six labels, 1–3 cuts. */
export function scenarioArbitrary(): fc.Arbitrary<Scenario> {
  const label = fc.constantFrom(...LABEL_POOL);
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('save' as const),
        label,
        size: fc.noBias(fc.nat(1536)),
        fill: fc.nat(255),
        isPrivate: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('destroy' as const), label }) },
  );
  const cut: fc.Arbitrary<Cut> = fc.record({
    afterSteps: fc.oneof(fc.noBias(fc.nat(40)), fc.noBias(fc.nat(250))),
    mode: fc.constantFrom<CutMode>('atomic', 'torn-program', 'torn-erase', 'torn'),
    torn: fc.constantFrom<TornProgramModel>('prefix', 'bits', 'mixed'),
    seed: fc.nat(),
  });
  return fc.record({
    geometry: fc.constantFrom(...GEOMETRIES),
    ops: fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }),
    cuts: fc.array(cut, { minLength: 1, maxLength: 3 }),
  });
}

/** Random scenarios with one or two sectors going bad as well (R4 under power cuts). */
export function faultyScenarioArbitrary(): fc.Arbitrary<Scenario> {
  const fault: fc.Arbitrary<Fault> = fc.record({
    atOp: fc.nat(30),
    sector: fc.nat(4),
    mode: fc.constantFrom<BadSectorMode>('prog-error', 'prog-noop', 'erase-error', 'erase-noop'),
  });
  return fc
    .tuple(scenarioArbitrary(), fc.array(fault, { minLength: 1, maxLength: 2 }))
    .map(([s, faults]) => ({
      ...s,
      geometry: { ...s.geometry, sectorCount: Math.max(s.geometry.sectorCount, 5) },
      faults,
    }));
}
