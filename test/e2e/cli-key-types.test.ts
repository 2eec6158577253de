import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPENSSL_MISSING, openssl, scratch } from '../unit/helpers/openssl.js';
import { type CliResult, cli } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

/** Issue 15's key types through the command line, each checked by openssl. */
describe('EdDSA, X25519, DSA and secret keys through the CLI', { skip: OPENSSL_MISSING }, () => {
  const tmp = scratch('corepkcs11-e2e-');
  const dir = tmp.dir;
  const runIn = (store: string, ...args: string[]) =>
    cli([args[0] as string, '--store', store, ...args.slice(1)], {
      cwd: dir,
      env: { COREPKCS11_PIN: PIN, COREPKCS11_SO_PIN: SO },
    });
  const run = (...args: string[]) => runIn('tok', ...args);
  const verifiedByOpenssl = (args: string[]) =>
    assert.match(openssl(args, dir), /Verified (OK|Successfully)/);
  after(() => tmp.cleanup());
  before(() => {
    ok(run('init-token', '--label', 'types'), 'init-token');
    writeFileSync(join(dir, 'data.txt'), 'signed by the token\n');
  });

  for (const curve of ['ed25519', 'ed448']) {
    it(`keygen EC:${curve}, sign (EDDSA by default): openssl pkeyutl verifies; verify agrees`, () => {
      const r = ok(
        run('keygen', '--key-type', `EC:${curve}`, '--label', curve, '-o', `${curve}.pub`),
        'keygen',
      );
      assert.match(r.stdout, new RegExp(`Generated EC ${curve.replace('ed', 'Ed')} key pair`));
      ok(run('sign', '--label', curve, '-i', 'data.txt', '-o', `${curve}.sig`), 'sign');
      verifiedByOpenssl([
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        `${curve}.pub`,
        '-rawin',
        '-in',
        'data.txt',
        '-sigfile',
        `${curve}.sig`,
      ]);
      ok(run('verify', '--label', curve, '-i', 'data.txt', '-s', `${curve}.sig`), 'verify');
    });
  }

  it('keygen DSA:2048, sign -m DSA-SHA256 (DER): openssl dgst verifies; --format raw is r‖s', () => {
    ok(run('keygen', '--key-type', 'DSA:2048', '--label', 'dsa', '-o', 'dsa.pub'), 'keygen');
    assert.match(openssl(['pkey', '-pubin', '-in', 'dsa.pub', '-noout', '-text'], dir), /2048 bit/);
    ok(
      run('sign', '--label', 'dsa', '-m', 'DSA-SHA256', '-i', 'data.txt', '-o', 'dsa.sig'),
      'sign',
    );
    verifiedByOpenssl([
      'dgst',
      '-sha256',
      '-verify',
      'dsa.pub',
      '-signature',
      'dsa.sig',
      'data.txt',
    ]);
    ok(
      run('sign', '--label', 'dsa', '-i', 'data.txt', '-f', 'raw', '-o', 'dsa.raw'),
      'sign raw (DSA-SHA256 by default)',
    );
    assert.equal(readFileSync(join(dir, 'dsa.raw')).length, 64);
    ok(run('verify', '--label', 'dsa', '-i', 'data.txt', '-s', 'dsa.raw'), 'verify raw (auto)');
    ok(run('verify', '--label', 'dsa', '-i', 'data.txt', '-s', 'dsa.sig'), 'verify DER (auto)');
  });

  it('keygen EC:x25519: openssl derives with its public key; the key does not sign (exit 1)', () => {
    ok(run('keygen', '--key-type', 'EC:x25519', '--label', 'x', '-o', 'x.pub'), 'keygen');
    assert.match(openssl(['pkey', '-pubin', '-in', 'x.pub', '-noout', '-text'], dir), /X25519/);
    openssl(['genpkey', '-algorithm', 'X25519', '-out', 'peer.pem'], dir);
    openssl(
      ['pkeyutl', '-derive', '-inkey', 'peer.pem', '-peerkey', 'x.pub', '-out', 'z.bin'],
      dir,
    );
    assert.equal(readFileSync(join(dir, 'z.bin')).length, 32);
    const sign = run('sign', '--label', 'x', '-i', 'data.txt');
    assert.equal(sign.code, 1, sign.stderr);
    assert.match(sign.stderr, /CKR_KEY_TYPE_INCONSISTENT/);
  });

  it('imports openssl Ed25519, X25519 and DSA keys (PKCS#8 and SPKI); the imported keys sign', () => {
    openssl(['genpkey', '-algorithm', 'ED25519', '-out', 'ied.pem'], dir);
    openssl(['genpkey', '-algorithm', 'X25519', '-out', 'ix.pem'], dir);
    openssl(
      [
        'genpkey',
        '-genparam',
        '-algorithm',
        'DSA',
        '-pkeyopt',
        'dsa_paramgen_bits:1024',
        '-out',
        'ip.pem',
      ],
      dir,
    );
    openssl(['genpkey', '-paramfile', 'ip.pem', '-out', 'idsa.pem'], dir);
    openssl(['pkey', '-in', 'ied.pem', '-pubout', '-out', 'ied.pub'], dir);
    openssl(['pkey', '-in', 'idsa.pem', '-pubout', '-out', 'idsa.pub'], dir);
    const r = ok(run('import', 'ix.pem', 'idsa.pem', '--json'), 'import');
    assert.equal(
      JSON.parse(r.stdout).imported.length,
      4,
      'two private keys with their public keys',
    );
    // The Ed25519 public key comes from its SPKI file instead (the token refuses a second copy).
    ok(run('import', 'ied.pem', '--no-public'), 'import PKCS#8');
    ok(run('import', 'ied.pub', '--label', 'iedpub'), 'import SPKI');
    const list = JSON.parse(ok(run('list', '--json'), 'list').stdout).objects as Array<{
      label: string;
      keyType: string;
      curve?: string;
      keyBits?: number;
    }>;
    const shown = (label: string) => {
      const o = list.find((x) => x.label === label);
      return [o?.keyType, o?.curve ?? o?.keyBits];
    };
    assert.deepEqual(['ied', 'ix', 'idsa', 'iedpub'].map(shown), [
      ['EC_EDWARDS', 'Ed25519'],
      ['EC_MONTGOMERY', 'X25519'],
      ['DSA', 1024],
      ['EC_EDWARDS', 'Ed25519'],
    ]);
    ok(run('sign', '--label', 'ied', '-i', 'data.txt', '-o', 'ied.sig'), 'sign Ed25519');
    ok(run('verify', '--label', 'iedpub', '-i', 'data.txt', '-s', 'ied.sig'), 'verify with SPKI');
    ok(
      run('sign', '--label', 'idsa', '-m', 'DSA-SHA1', '-i', 'data.txt', '-o', 'idsa.sig'),
      'sign',
    );
    verifiedByOpenssl([
      'dgst',
      '-sha1',
      '-verify',
      'idsa.pub',
      '-signature',
      'idsa.sig',
      'data.txt',
    ]);
  });

  it('keygen AES:256, DES3, CHACHA20 and GENERIC:32 make secret keys; --output has nothing to write (exit 2)', () => {
    for (const [spec, type, bits] of [
      ['AES:256', 'AES', 256],
      ['DES3', 'DES3', 192],
      ['CHACHA20', 'CHACHA20', 256],
      ['GENERIC:32', 'GENERIC_SECRET', 256],
    ] as const) {
      const r = JSON.parse(
        ok(run('keygen', '--key-type', spec, '--label', `s-${spec}`, '--json'), spec).stdout,
      );
      assert.equal(r.bits, bits, spec);
      assert.match(r.secretKey, /type=secret-key/);
      const list = JSON.parse(ok(run('list', '--label', `s-${spec}`, '--json'), 'list').stdout);
      assert.equal(list.objects[0]?.keyType, type, spec);
    }
    assert.equal(run('keygen', '--key-type', 'AES:128', '--label', 'o', '-o', 'k.pub').code, 2);
    assert.equal(run('keygen', '--key-type', 'AES:100', '--label', 'o').code, 2);
  });

  it('a strict token refuses DES3 (CKR_MECHANISM_INVALID, exit 1) and makes AES keys', () => {
    ok(runIn('strict', 'init-token', '--label', 'strict', '--profile', 'strict'), 'init-token');
    const des = runIn('strict', 'keygen', '--key-type', 'DES3', '--label', 'd');
    assert.equal(des.code, 1, des.stderr);
    assert.match(des.stderr, /CKR_MECHANISM_INVALID/);
    ok(runIn('strict', 'keygen', '--key-type', 'AES:256', '--label', 'a'), 'keygen AES');
  });
});
