import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPENSSL_MISSING, openssl, scratch } from '../unit/helpers/openssl.js';
import { cli, storeFingerprint } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';

/**
 * Every case: a one-line message on stderr naming the command, the expected exit code, and the store
 * byte for byte as it was (for a wrong PIN: every object as it was; the try counter is meant to move).
 */
const CASES: Array<{
  name: string;
  args: string[];
  code: number;
  env?: Record<string, string>;
  pattern?: RegExp;
  pinCounter?: boolean;
}> = [
  {
    name: 'a missing file',
    args: ['import', 'missing.pem'],
    code: 3,
    pattern: /cannot read file missing.pem: no such file/,
  },
  {
    name: 'malformed PEM',
    args: ['import', 'bad.pem'],
    code: 3,
    pattern: /bad\.pem: PEM block CERTIFICATE/,
  },
  {
    name: 'a file that is no key or certificate',
    args: ['import', 'junk.der'],
    code: 3,
    pattern: /not a certificate, private key or public key/,
  },
  {
    name: 'a good file beside a malformed one (nothing is stored)',
    args: ['import', 'other.key', 'bad.pem', '--label', 'x'],
    code: 3,
  },
  {
    name: 'an encrypted key without a passphrase',
    args: ['import', 'enc.pem'],
    code: 3,
    pattern: /passphrase is needed/,
  },
  {
    name: 'an encrypted key with a wrong passphrase',
    args: ['import', 'enc.pem', '--passphrase', 'wrong'],
    code: 3,
    pattern: /wrong passphrase/,
  },
  {
    name: 'a label that is taken',
    args: ['import', 'other.key', '--label', 'device'],
    code: 1,
    pattern: /already exists; nothing imported/,
  },
  {
    name: 'a key the token already holds (under another label)',
    args: ['import', 'device.key', '--label', 'again'],
    code: 1,
    pattern:
      /device\.key: the token already holds this private key \(labelled 'device', id [0-9a-f]{40}\); nothing imported/,
  },
  {
    name: 'an empty label',
    args: ['import', 'other.key', '--label', ''],
    code: 2,
    pattern: /--label must not be empty/,
  },
  {
    name: 'a wrong PIN',
    args: ['sign', '--label', 'device', '-i', 'data.txt', '--pin', '000000'],
    code: 4,
    pattern: /CKR_PIN_INCORRECT in C_Login.*hint/,
    pinCounter: true,
  },
  {
    name: 'no PIN and no terminal',
    args: ['sign', '--label', 'device', '-i', 'data.txt'],
    code: 2,
    env: { COREPKCS11_PIN: '' },
    pattern: /user PIN is needed/,
  },
  {
    name: 'a data file given without -i (it would have signed stdin)',
    args: ['sign', '--label', 'device', 'data.txt'],
    code: 2,
    pattern: /unexpected argument 'data.txt'/,
  },
  {
    name: 'a stray argument to a command that takes none',
    args: ['digest', 'data.txt'],
    code: 2,
    pattern: /unexpected argument 'data.txt'/,
  },
  {
    name: 'a second count to random',
    args: ['random', '16', '32'],
    code: 2,
    pattern: /unexpected argument '32'/,
  },
  {
    name: 'an unknown label (sign)',
    args: ['sign', '--label', 'nope', '-i', 'data.txt'],
    code: 5,
    pattern: /no private key labelled 'nope'/,
  },
  { name: 'an unknown label (export)', args: ['export', '--label', 'nope'], code: 5 },
  { name: 'an unknown label (delete)', args: ['delete', '--label', 'nope'], code: 5 },
  { name: 'an unknown id (csr)', args: ['csr', '--id', '0102', '--subject', '/CN=x'], code: 5 },
  {
    name: 'a bad URI (delete)',
    args: ['delete', 'pkcs11:object=my key'],
    code: 2,
    pattern: /bad PKCS#11 URI/,
  },
  {
    name: 'a bad URI (list)',
    args: ['list', 'pkcs11:type=key'],
    code: 2,
    pattern: /type must be one of/,
  },
  {
    name: 'a URI for another token',
    args: ['sign', 'pkcs11:token=other;object=device', '-i', 'data.txt'],
    code: 5,
    pattern: /names token label 'other'/,
  },
  {
    name: 'an ambiguous delete',
    args: ['delete', '--label', 'device'],
    code: 5,
    pattern: /3 objects match.*nothing deleted/,
  },
  { name: 'a bad --id', args: ['export', '--id', 'xyz'], code: 2 },
  { name: 'a bad subject', args: ['csr', '--label', 'device', '--subject', 'CN=x'], code: 2 },
  {
    name: 'a bad key type',
    args: ['keygen', '--label', 'k', '--key-type', 'EC:sect283k1'],
    code: 2,
    pattern: /unknown key type/,
  },
  {
    name: 'an unknown mechanism',
    args: ['sign', '--label', 'device', '-m', 'FOO', '-i', 'data.txt'],
    code: 2,
  },
  {
    name: 'a mechanism that does not fit the key',
    args: ['sign', '--label', 'device', '-m', 'SHA256-RSA-PKCS', '-i', 'data.txt'],
    code: 1,
    pattern: /CKR_KEY_TYPE_INCONSISTENT|CKR_MECHANISM_INVALID/,
  },
  {
    name: 'a signature that does not verify',
    args: ['verify', '--label', 'device', '-i', 'device.key', '--signature-file', 'data.sig'],
    code: 6,
  },
  {
    name: 'a malformed DER signature',
    args: [
      'verify',
      '--label',
      'device',
      '-i',
      'data.txt',
      '--signature-file',
      'data.txt',
      '--format',
      'der',
    ],
    code: 6,
    pattern: /not a DER ECDSA P-256 signature/,
  },
  {
    name: 'a missing signature file',
    args: ['verify', '--label', 'device', '-i', 'data.txt', '--signature-file', 'nope.sig'],
    code: 3,
  },
  {
    name: 'a certificate that is not for the key (provision)',
    args: ['provision', '--cert', 'device.crt', '--key', 'other.key'],
    code: 3,
    pattern: /not for the device private key; nothing changed/,
  },
  { name: 'an unknown option', args: ['list', '--frobnicate'], code: 2 },
  {
    name: 'init-token on an initialised token',
    args: ['init-token', '--label', 'again', '--so-pin', SO],
    code: 7,
    pattern: /already initialised/,
  },
  { name: 'a bad byte count', args: ['random', 'lots'], code: 2 },
  {
    name: 'a PIN change with PIN iterations below the floor (issue 16 §8)',
    args: ['change-pin', '--new-pin', 'weakened'],
    env: { COREPKCS11_PIN_ITERATIONS: '1', COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS: '0' },
    code: 2,
    pattern: /pinIterations 1 is below the floor of 10000/,
  },
  {
    name: 'exporting a private key',
    args: ['export', '--type', 'privkey', '--label', 'device'],
    code: 2,
    pattern: /never leave the token/,
  },
];

describe('bad input: one-line message, non-zero exit, store unchanged', {
  skip: OPENSSL_MISSING,
}, () => {
  const tmp = scratch('corepkcs11-bad-');
  const dir = tmp.dir;
  const store = join(dir, 'tok');
  const env = { COREPKCS11_PIN: PIN };
  after(() => tmp.cleanup());
  before(() => {
    const setup = (args: string[]) => {
      const r = cli([args[0] as string, '--store', store, ...args.slice(1)], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
    };
    openssl(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'device.key'],
      dir,
    );
    openssl(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key'],
      dir,
    );
    openssl(
      [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-aes-256-cbc',
        '-pass',
        'pass:right',
        '-out',
        'enc.pem',
      ],
      dir,
    );
    openssl(
      [
        'req',
        '-new',
        '-x509',
        '-key',
        'device.key',
        '-subj',
        '/CN=device',
        '-days',
        '9',
        '-out',
        'device.crt',
      ],
      dir,
    );
    writeFileSync(
      join(dir, 'bad.pem'),
      '-----BEGIN CERTIFICATE-----\nMIIB*not-base64\n-----END CERTIFICATE-----\n',
    );
    writeFileSync(join(dir, 'junk.der'), Buffer.from('3003020101', 'hex'));
    writeFileSync(join(dir, 'data.txt'), 'data\n');
    setup(['init-token', '--label', 'bad inputs', '--so-pin', SO, '--pin', PIN]);
    setup(['import', 'device.key', 'device.crt', '--label', 'device']);
    setup(['sign', '--label', 'device', '-i', 'data.txt', '-o', 'data.sig']);
  });

  const pinFlags = () => cli(['info', '--store', store], { cwd: dir, env }).stdout;

  for (const c of CASES) {
    it(`refuses ${c.name} with exit code ${c.code}`, () => {
      const before = storeFingerprint(store);
      const r = cli([c.args[0] as string, '--store', store, ...c.args.slice(1)], {
        cwd: dir,
        env: { ...env, ...c.env },
      });
      assert.equal(r.code, c.code, `exit ${r.code}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
      assert.ok(lines[0]?.startsWith(`corepkcs11 ${c.args[0]}: `), lines[0]);
      if (c.pattern) assert.match(lines[0] as string, c.pattern);
      // Every login moves the try counters (corepkcs11.tries.*: spent, then given back, DESIGN §2.7):
      // what they say is checked through the token's flags instead.
      const after = storeFingerprint(store);
      const kept = (fp: Record<string, string>) =>
        Object.entries(fp).filter(([k]) => !/tries/.test(k));
      assert.deepEqual(kept(after), kept(before));
      if (c.pinCounter) {
        assert.match(pinFlags(), /user PIN count low/);
        // a good login resets the try counter, so the next case starts from the same store
        assert.equal(cli(['list', '--store', store], { cwd: dir, env }).code, 0);
      }
      assert.doesNotMatch(pinFlags(), /PIN count low/, 'no try lost');
    });
  }

  it('-o makes an existing output file 0600 (random bytes may be a secret)', () => {
    const out = join(dir, 'old.bin');
    writeFileSync(out, 'x', { mode: 0o644 });
    chmodSync(out, 0o644);
    const r = cli(['random', '--store', store, '32', '-o', out], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(statSync(out).size, 32);
  });

  it('refuses a store that does not exist with exit code 7', () => {
    const r = cli(['list', '--store', join(dir, 'nowhere')], { cwd: dir });
    assert.equal(r.code, 7);
    assert.match(r.stderr, /^corepkcs11 list: no token store at .*nowhere \(hint: .*init-token/);
  });

  it('refuses an unknown command with exit code 2', () => {
    const r = cli(['frobnicate'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });
});
