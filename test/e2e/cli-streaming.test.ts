import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scratch } from '../unit/helpers/openssl.js';
import { baseEnv, CLI_PATH, cli, cliMeasured } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';
const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** Far above what reading the input whole would need, far below the inputs (≥ 2.25 GiB). */
const RSS_BOUND_MIB = 320;

/** `total` bytes of a stream in which every chunk differs (so order matters), hashed as they go. */
async function* generated(total: number, hash: ReturnType<typeof createHash>) {
  const block = randomBytes(MiB + 7);
  for (let sent = 0, n = 0; sent < total; n++) {
    block.writeUInt32BE(n, 0);
    const chunk = block.subarray(0, Math.min(block.length, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    yield chunk;
  }
}

/** A sparse file of `size` bytes with a few marks far apart, so a part lost or reordered shows. */
function sparseFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    for (const at of [0, 1_234_567, Math.floor(size * 0.45) + 12_345, size - 9]) {
      writeSync(fd, `mark@${at}`, at);
    }
  } finally {
    closeSync(fd);
  }
}

async function verifiesWithNode(file: string, pem: string, sig: Buffer, pss = false) {
  const v = createVerify('sha256');
  for await (const part of createReadStream(file, { highWaterMark: 4 * MiB })) v.update(part);
  const key = pss ? { key: pem, padding: 6, saltLength: 32 } : pem; // RSA_PKCS1_PSS_PADDING
  return v.verify(key, sig);
}

describe('digest, sign and verify stream their input in bounded memory', () => {
  const tmp = scratch('corepkcs11-stream-');
  const dir = tmp.dir;
  const store = join(dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  const run = (args: string[]) => cli(args, { cwd: dir, env });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecPub = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const rsaPub = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const big = join(dir, 'big.bin');
  const bigSize = 2.25 * GiB;
  after(() => tmp.cleanup());

  before(() => {
    writeFileSync(join(dir, 'ec.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const args of [
      ['init-token', '--label', 'stream', '--so-pin', SO],
      ['import', 'ec.pem', 'rsa.pem'],
    ]) {
      const r = run(args);
      assert.equal(r.code, 0, r.stderr);
    }
    sparseFile(big, bigSize);
  });

  it('digest: 3 GiB from a generator on stdin, the same SHA-256 as node:crypto, peak RSS bounded', async () => {
    const hash = createHash('sha256');
    const r = await cliMeasured(['digest'], { cwd: dir, env, input: generated(3 * GiB, hash) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${hash.digest('hex')}\n`);
    assert.equal(r.stderr, '');
    assert.ok(r.peakRssMiB < RSS_BOUND_MIB, `peak RSS ${r.peakRssMiB} MiB for a 3 GiB input`);
  });

  it('sign: a 2.25 GiB file (over the old 2 GiB limit), the ECDSA signature verifies with node:crypto', async () => {
    const r = await cliMeasured(['sign', '--label', 'ec', '-i', big, '-o', 'big.sig'], {
      cwd: dir,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    // DER r and s take 33 bytes with a sign byte (1 in 2), 32 mostly, 31 or fewer when the top byte is
    // zero and the next below 0x80 (1 in 512 each): 72 at most, 69 or less about 1 signature in 500.
    assert.match(r.stderr, /^wrote big\.sig \((6\d|7[0-2]) bytes, DER\)\n$/);
    assert.equal(r.stdout.length, 0);
    assert.ok(r.peakRssMiB < RSS_BOUND_MIB, `peak RSS ${r.peakRssMiB} MiB for a 2.25 GiB input`);
    const sig = spawnSync('cat', [join(dir, 'big.sig')]).stdout;
    assert.ok(await verifiesWithNode(big, ecPub, sig));
  });

  it('verify: the same file and signature through the CLI, in bounded memory', async () => {
    const r = await cliMeasured(['verify', '--label', 'ec', '-i', big, '-s', 'big.sig'], {
      cwd: dir,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'Signature is valid\n');
    assert.ok(r.peakRssMiB < RSS_BOUND_MIB, `peak RSS ${r.peakRssMiB} MiB for a 2.25 GiB input`);
  });

  it('RSA PKCS#1 v1.5 and PSS over a multi-part input verify with node:crypto; a changed byte does not', async () => {
    const file = join(dir, 'mid.bin');
    writeFileSync(file, randomBytes(3 * MiB + 5));
    for (const [mech, pss] of [
      ['SHA256-RSA-PKCS', false],
      ['SHA256-RSA-PKCS-PSS', true],
    ] as const) {
      const r = run(['sign', '--label', 'rsa', '-m', mech, '-i', file, '-o', 'mid.sig', '-q']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const sig = spawnSync('cat', [join(dir, 'mid.sig')]).stdout;
      assert.equal(sig.length, 256);
      assert.ok(await verifiesWithNode(file, rsaPub, sig, pss), mech);
      const ok = run(['verify', '--label', 'rsa', '-m', mech, '-i', file, '-s', 'mid.sig']);
      assert.equal(ok.code, 0, ok.stderr);
    }
    const fd = openSync(file, 'r+');
    writeSync(fd, 'X', 2 * MiB + 1);
    closeSync(fd);
    const bad = run([
      'verify',
      '--label',
      'rsa',
      '-m',
      'SHA256-RSA-PKCS-PSS',
      '-i',
      file,
      '-s',
      'mid.sig',
    ]);
    assert.equal(bad.code, 6);
    assert.equal(
      bad.stderr,
      'corepkcs11 verify: CKR_SIGNATURE_INVALID: the signature does not verify\n',
    );
  });

  it('a one-part mechanism (ECDSA over a digest) refuses an input over 1 MiB → exit 3, before reading it all', async () => {
    const r = await cliMeasured(['sign', '--label', 'ec', '-m', 'ECDSA'], {
      cwd: dir,
      env,
      input: generated(GiB, createHash('sha256')),
    });
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      'corepkcs11 sign: ECDSA takes its input in one part (a digest, or a block made for the key), ' +
        'at most 1 MiB; this input is larger (hint: let the token hash it: -m ECDSA-SHA256, ' +
        'SHA256-RSA-PKCS or SHA256-RSA-PKCS-PSS)\n',
    );
    const digest = createHash('sha256').update('data').digest();
    writeFileSync(join(dir, 'digest.bin'), digest);
    const one = run(['sign', '--label', 'ec', '-m', 'ECDSA', '-i', 'digest.bin', '-o', 'd.sig']);
    assert.equal(one.code, 0, one.stderr);
  });

  it('import reads a file of at most 16 MiB → exit 3 past it, the token untouched', () => {
    const huge = join(dir, 'huge.pem');
    writeFileSync(huge, Buffer.alloc(16 * MiB + 1, 0x41));
    const r = run(['import', huge]);
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      `corepkcs11 import: file ${huge} is larger than 16 MiB (hint: files are read whole, up to 16 MiB)\n`,
    );
  });

  const SCRIPT =
    spawnSync('script', ['--version']).status === 0
      ? false
      : 'script (util-linux) is not installed';
  it('shows progress on a terminal for a large input, and not with --quiet', {
    skip: SCRIPT,
  }, () => {
    const file = join(dir, 'large.bin');
    sparseFile(file, 96 * MiB);
    const onTty = (extra: string) =>
      spawnSync(
        'script',
        ['-qec', `"${process.execPath}" "${CLI_PATH}" digest -i large.bin ${extra}`, '/dev/null'],
        { cwd: dir, env: { ...baseEnv(), ...env }, encoding: 'utf8' },
      ).stdout;
    const shown = onTty('');
    // The line is rewritten in place (CR, erase line) and cleared before the digest is printed.
    assert.match(shown, /^\r.\[Khashing 0\.\d\d GiB of 0\.09 GiB \(\d+%\)/);
    assert.ok(shown.startsWith('\r\x1b[K'), JSON.stringify(shown));
    assert.ok(/\[K[0-9a-f]{64}\r?\n$/.test(shown) && shown.includes('\r\x1b[K'), shown);
    assert.doesNotMatch(onTty('--quiet'), /hashing/);
  });
});
