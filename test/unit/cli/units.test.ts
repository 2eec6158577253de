import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, describeError, EXIT, exitCodeOf } from '../../../src/cli/errors.js';
import {
  isEcdsa,
  mechanismFor,
  mechanismName,
  parseMechanism,
} from '../../../src/cli/mechanisms.js';
import { hexId, type Parsed } from '../../../src/cli/options.js';
import { checkTokenMatches, describeSelection, selectionOf } from '../../../src/cli/select.js';
import { Pkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { TokenInfo } from '../../../src/pkcs11/types.js';

const parsed = (values: Parsed['values'], positionals: string[] = []): Parsed => ({
  values,
  positionals,
});

function exitOf(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    return describeError(e).exitCode;
  }
  return 0;
}

describe('CLI errors', () => {
  it('maps CKR codes to exit codes that say what failed', () => {
    assert.equal(exitCodeOf(C.CKR_PIN_INCORRECT), EXIT.AUTH);
    assert.equal(exitCodeOf(C.CKR_PIN_LOCKED), EXIT.AUTH);
    assert.equal(exitCodeOf(C.CKR_ARGUMENTS_BAD), EXIT.INPUT);
    assert.equal(exitCodeOf(C.CKR_DEVICE_MEMORY), EXIT.TOKEN);
    assert.equal(exitCodeOf(C.CKR_SIGNATURE_INVALID), EXIT.BAD_SIGNATURE);
    assert.equal(exitCodeOf(C.CKR_MECHANISM_INVALID), EXIT.FAILED);
  });

  it('describes a Pkcs11Error on one line: CKR name, function, detail, hint', () => {
    const e = new Pkcs11Error(C.CKR_PIN_LOCKED, 'too many\nwrong PINs');
    e.method = 'C_Login';
    const d = describeError(e);
    assert.equal(d.exitCode, EXIT.AUTH);
    assert.match(d.message, /^CKR_PIN_LOCKED in C_Login: too many wrong PINs \(hint: .*init-pin/);
    assert.ok(!d.message.includes('\n'));
    assert.deepEqual(d.ckr, { name: 'CKR_PIN_LOCKED', code: C.CKR_PIN_LOCKED });
    assert.deepEqual(describeError(new CliError(EXIT.NOT_FOUND, 'no such key', 'list')), {
      exitCode: 5,
      error: 'no such key',
      ckr: null,
      hint: 'list',
      message: 'no such key (hint: list)',
    });
    assert.equal(describeError(new Error('boom')).exitCode, EXIT.FAILED);
  });
});

describe('CLI arguments', () => {
  it('reads hex ids as pkcs11-tool does, and refuses others → exit code 2', () => {
    assert.deepEqual(hexId('01ab'), Uint8Array.of(1, 0xab));
    assert.deepEqual(hexId('0x01:AB'), Uint8Array.of(1, 0xab));
    for (const bad of ['', '1', 'xyz', '0x'])
      assert.equal(
        exitOf(() => hexId(bad)),
        EXIT.USAGE,
      );
  });

  it('names mechanisms like pkcs11-tool', () => {
    assert.equal(parseMechanism('ECDSA-SHA256'), C.CKM_ECDSA_SHA256);
    assert.equal(parseMechanism('sha256-rsa-pkcs-pss'), C.CKM_SHA256_RSA_PKCS_PSS);
    assert.equal(parseMechanism('CKM_SHA_1'), C.CKM_SHA_1);
    assert.equal(parseMechanism('SHA-1'), C.CKM_SHA_1);
    assert.equal(parseMechanism('0x1041'), 0x1041);
    assert.equal(mechanismName(C.CKM_SHA384_RSA_PKCS), 'SHA384-RSA-PKCS');
    assert.equal(
      exitOf(() => parseMechanism('ROT13')),
      EXIT.USAGE,
    );
    assert.ok(
      isEcdsa(C.CKM_ECDSA) && isEcdsa(C.CKM_ECDSA_SHA512) && !isEcdsa(C.CKM_SHA256_RSA_PKCS),
    );
  });

  it('fills RSA-PSS parameters from the mechanism, or from the digest length for RSA-PKCS-PSS', () => {
    assert.deepEqual(mechanismFor(C.CKM_SHA384_RSA_PKCS_PSS, new Uint8Array(5)).parameter, {
      type: C.CK_PARAMS_RSA_PSS,
      hashAlg: C.CKM_SHA384,
      mgf: C.CKG_MGF1_SHA384,
      saltLen: 48,
    });
    const pss = mechanismFor(C.CKM_RSA_PKCS_PSS, new Uint8Array(32)).parameter;
    assert.equal((pss as Record<string, unknown>).hashAlg, C.CKM_SHA256);
    assert.equal(
      exitOf(() => mechanismFor(C.CKM_RSA_PKCS_PSS, new Uint8Array(33))),
      EXIT.INPUT,
    );
    assert.deepEqual(mechanismFor(C.CKM_ECDSA_SHA256, new Uint8Array(1)), {
      mechanism: C.CKM_ECDSA_SHA256,
    });
  });

  it('selects objects by flags or by URI; the flags win over the URI', () => {
    const s = selectionOf(parsed({ label: 'a', type: 'privkey' }));
    assert.deepEqual([s.label, s.objectClass, s.empty], ['a', C.CKO_PRIVATE_KEY, false]);
    const u = selectionOf(
      parsed({ id: '02' }, ['pkcs11:object=b;type=cert;id=%01?pin-value=1234']),
    );
    assert.deepEqual(
      [u.label, u.objectClass, [...(u.id ?? [])], u.uri?.pinValue],
      ['b', C.CKO_CERTIFICATE, [2], '1234'],
    );
    assert.equal(describeSelection(u), "certificate labelled 'b' with id 02");
    assert.equal(selectionOf(parsed({})).empty, true);
    assert.equal(
      exitOf(() => selectionOf(parsed({ type: 'key' }))),
      EXIT.USAGE,
    );
    assert.equal(
      exitOf(() => selectionOf(parsed({}, ['pkcs11:a=b;a=c', 'pkcs11:']))),
      EXIT.USAGE,
    );
    assert.equal(
      exitOf(() => selectionOf(parsed({}, ['pkcs11:object=a b']))),
      EXIT.USAGE,
    );
  });

  it("checks a URI's token fields against the token → exit code 5 when they differ", () => {
    const info = {
      label: 'dev'.padEnd(32),
      manufacturerID: 'corepkcs11'.padEnd(32),
      model: 'm'.padEnd(16),
      serialNumber: '01'.padEnd(16),
    } as TokenInfo;
    checkTokenMatches(selectionOf(parsed({}, ['pkcs11:token=dev;serial=01'])), info);
    assert.equal(
      exitOf(() => checkTokenMatches(selectionOf(parsed({}, ['pkcs11:token=prod'])), info)),
      EXIT.NOT_FOUND,
    );
  });
});
