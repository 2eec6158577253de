import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PKCS11 } from '../../../src/index.js';
import {
  initializeToken,
  type Pkcs11Admin,
  PRESET_NAMES,
  type PresetName,
  preprovision,
  runQualification,
  type TestResult,
  type UnityReport,
} from '../../../src/qualification/index.js';
import { createVerifier, isRandomFluke, USER_PIN } from './softhsm.js';

function open(target: string): Pkcs11Admin {
  const p11 = new PKCS11(undefined, { create: true }) as unknown as Pkcs11Admin & {
    load(t: string): void;
  };
  p11.load(target);
  initializeToken({ module: p11, pin: USER_PIN, soPin: '12345678' });
  return p11;
}

async function qualify(
  target: string,
  name: PresetName,
  workers = false,
): Promise<{ report: UnityReport }> {
  const run = async () => {
    const p11 = open(target);
    const verifier = createVerifier();
    if (name.startsWith('preprovisioned-')) {
      preprovision({ module: p11, verifier, keyType: name.endsWith('-ec') ? 'ec' : 'rsa' });
    }
    const report = await runQualification({
      module: p11,
      verifier,
      config: name,
      pin: USER_PIN,
      output: () => {},
      ...(workers
        ? {
            workers: {
              url: new URL('../../../src/cli/qualify.js', import.meta.url).href,
              arg: target,
            },
          }
        : {}),
    });
    return { report };
  };
  const first = await run();
  return isRandomFluke(first.report) ? run() : first;
}

function registerVerdicts(results: TestResult[]): void {
  for (const r of results) {
    it(`${r.group}.${r.name} PASS`, () => {
      assert.equal(r.status, 'PASS', `${r.location}::FAIL: ${r.message}`);
    });
  }
}

describe('qualification suite against corepkcs11 (memory:)', async () => {
  for (const name of PRESET_NAMES) {
    const { report } = await qualify('memory:', name);
    describe(name, () => registerVerdicts(report.results));
  }
});

describe('qualification suite against corepkcs11 over a directory (file PAL)', async () => {
  for (const name of PRESET_NAMES) {
    const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-qualify-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const { report } = await qualify(dir, name);
    describe(name, () => registerVerdicts(report.results));
  }
});

describe('qualification suite against corepkcs11 over a simulated flash image (flash PAL)', async () => {
  for (const name of PRESET_NAMES) {
    const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-qualify-flash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const { report } = await qualify(`flash:${join(dir, 'token.img')}`, name);
    describe(name, () => registerVerdicts(report.results));
  }
});

describe('qualification suite against corepkcs11 over a directory, worker threads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-qualify-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { report } = await qualify(dir, 'full', true);
  registerVerdicts(report.results);
});
