import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Handle } from '../../../src/api/convert.js';
import { PKCS11 } from '../../../src/create.js';
import * as C from '../../../src/pkcs11/constants.js';

const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-pin-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = fileURLToPath(new URL('../../fixtures/login-once.js', import.meta.url));

/**
 * A token whose user PIN derivation is slow enough (millions of rounds) to be killed in the middle of it;
 * the SO PIN stays cheap so that setting it up is quick.
 */
function provision(userIterations: number): void {
  const init = new PKCS11(dir, { pinIterations: 1000, allowWeakPinIterations: true });
  init.C_Initialize();
  init.C_InitToken(init.C_GetSlotList(true)[0] as Handle, '87654321', 'pin counter');
  init.C_Finalize();
  init.close();
  const p11 = new PKCS11(dir, { pinIterations: userIterations });
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(s, C.CKU_SO, '87654321');
  p11.C_InitPIN(s, '1234');
  p11.C_Finalize();
  p11.close();
}

function userPinFlags(): number {
  const p11 = new PKCS11(dir);
  p11.C_Initialize();
  const flags = p11.C_GetTokenInfo(p11.C_GetSlotList(true)[0] as Handle).flags;
  p11.C_Finalize();
  p11.close();
  return flags;
}

/** Starts a login in a child process and kills it during the derivation; what the child printed. */
function killedMidDerivation(pin: string): Promise<string> {
  const p = spawn(process.execPath, [child, dir, pin], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      // the derivation (6 million rounds, seconds) starts right after "checking"
      if (out.includes('checking')) setTimeout(() => p.kill('SIGKILL'), 300);
    });
    p.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(out) : reject(new Error(`child ended: ${out}`)),
    );
  });
}

describe('PIN try counter', () => {
  it('a process killed during the derivation of C_Login has spent no try, right PIN or wrong (no CKF_USER_PIN_COUNT_LOW)', async () => {
    provision(6_000_000);
    assert.equal(userPinFlags() & C.CKF_USER_PIN_COUNT_LOW, 0);
    for (const pin of ['1234', '0000']) {
      const out = await killedMidDerivation(pin);
      assert.ok(
        !/ok|CKR_/.test(out),
        `the login finished before the kill (${out}); make the derivation slower`,
      );
      assert.equal(
        userPinFlags() & C.CKF_USER_PIN_COUNT_LOW,
        0,
        `a login killed before its check (PIN ${pin}) must not cost a try`,
      );
    }
  });
});
