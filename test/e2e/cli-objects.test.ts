import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPENSSL_MISSING, scratch, selfSigned } from '../unit/helpers/openssl.js';
import { type CliResult, cli, storeFingerprint } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
  return r;
}

describe('import: a key or certificate is stored once', { skip: OPENSSL_MISSING }, () => {
  const tmp = scratch('corepkcs11-dup-');
  const store = join(tmp.dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  const run = (...args: string[]) => cli(args, { cwd: tmp.dir, env });
  const count = () => JSON.parse(ok(run('list', '--json'), 'list').stdout).objects.length;
  after(() => tmp.cleanup());
  before(() => {
    ok(run('init-token', '--label', 'dup', '--so-pin', SO), 'init-token');
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = k.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(join(tmp.dir, 'key.pem'), pem);
    selfSigned(tmp.dir, 'key.pem', 'cert.pem');
    const cert = readFileSync(join(tmp.dir, 'cert.pem'), 'utf8');
    writeFileSync(join(tmp.dir, 'twice.pem'), pem + cert + pem + cert);
    writeFileSync(join(tmp.dir, 'copy.pem'), pem);
  });

  it('a PEM file holding the key and its certificate twice → 3 objects, and says so', () => {
    const r = ok(run('import', 'twice.pem', '--label', 'device'), 'import');
    assert.deepEqual(
      r.stdout.split('\n').map((l) => l.split(/ {2,}/).slice(0, 3).join(' ')),
      [
        'FILE CLASS LABEL',
        'twice.pem private device',
        'twice.pem public device',
        'twice.pem cert device',
        'Imported 3 objects',
        '',
      ],
    );
    assert.equal(
      r.stderr,
      'twice.pem: the same private key again: stored once\n' +
        'twice.pem: the same public key again: stored once\n' +
        'twice.pem: the same certificate again: stored once\n',
    );
    assert.equal(count(), 3);
  });

  it('the same key from another file, under another label → exit 1 naming it, nothing stored', () => {
    const before = storeFingerprint(store);
    const r = run('import', 'copy.pem');
    assert.equal(r.code, 1);
    const id = JSON.parse(run('list', '--json').stdout).objects[0].id;
    assert.equal(
      r.stderr,
      `corepkcs11 import: copy.pem: the token already holds this private key (labelled 'device', id ${id}); nothing imported (hint: --allow-duplicate stores a second copy; --type or --no-public imports only the rest)\n`,
    );
    assert.deepEqual(storeFingerprint(store), before);
    const cert = run('import', 'cert.pem', '--label', 'other');
    assert.equal(cert.code, 1);
    assert.match(
      cert.stderr,
      /cert\.pem: the token already holds this certificate \(labelled 'device'/,
    );
  });

  it('--allow-duplicate stores the second copy; --replace replaces the same label instead', () => {
    ok(run('import', 'copy.pem', '--allow-duplicate', '-q'), 'allow-duplicate');
    assert.equal(count(), 5);
    ok(run('delete', '--label', 'copy', '--all'), 'delete the copy');
    ok(run('import', 'key.pem', '--label', 'device', '--replace', '-q'), 'replace');
    assert.equal(count(), 3);
  });

  it('two files with the same key in one import → stored once, the second file named', () => {
    ok(
      run('delete', '--id', JSON.parse(run('list', '--json').stdout).objects[0].id, '--all'),
      'delete',
    );
    assert.equal(count(), 0);
    const r = ok(run('import', 'key.pem', 'copy.pem', '--no-public'), 'import');
    assert.equal(r.stderr, 'copy.pem: the same private key also in key.pem: stored once\n');
    assert.equal(count(), 1);
  });
});

describe('files written are confirmed; lists are sorted', () => {
  const tmp = scratch('corepkcs11-conf-');
  const store = join(tmp.dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  const run = (...args: string[]) => cli(args, { cwd: tmp.dir, env });
  after(() => tmp.cleanup());
  before(() => {
    ok(run('init-token', '--label', 'conf', '--so-pin', SO), 'init-token');
    writeFileSync(join(tmp.dir, 'firmware.bin'), 'firmware v1\n');
    for (const label of ['zeta', 'alpha', 'mid']) ok(run('keygen', '--label', label, '-q'), label);
  });

  it('sign/digest/random/export/csr/keygen -o FILE → one "wrote FILE (N bytes, FORMAT)" line on stderr', () => {
    const cases: Array<[string[], string, string]> = [
      [['sign', '--label', 'mid', '-i', 'firmware.bin', '-o', 'fw.sig'], 'fw.sig', 'DER'],
      [
        ['sign', '--label', 'mid', '-i', 'firmware.bin', '-o', 'fw.raw', '-f', 'raw'],
        'fw.raw',
        'raw',
      ],
      [['digest', '-i', 'firmware.bin', '-o', 'fw.sha256'], 'fw.sha256', 'binary'],
      [['random', '16', '-o', 'r.bin'], 'r.bin', 'binary'],
      [['export', '--label', 'mid', '-o', 'mid.pub'], 'mid.pub', 'PEM'],
      [['export', '--label', 'mid', '-o', 'mid.der', '-f', 'der'], 'mid.der', 'DER'],
      [['csr', '--label', 'mid', '--subject', '/CN=mid', '-o', 'mid.csr'], 'mid.csr', 'PEM'],
      [['keygen', '--label', 'new', '-o', 'new.pub'], 'new.pub', 'PEM'],
    ];
    for (const [args, file, format] of cases) {
      const r = ok(run(...args), args.join(' '));
      const size = statSync(join(tmp.dir, file)).size;
      assert.equal(r.stderr, `wrote ${file} (${size} bytes, ${format})\n`, args.join(' '));
      const quiet = ok(
        run(...args, '--quiet', ...(args[0] === 'keygen' ? ['--replace'] : [])),
        'q',
      );
      assert.equal(quiet.stderr, '', `${args.join(' ')} --quiet`);
    }
    const json = JSON.parse(
      ok(run('sign', '--label', 'mid', '-i', 'firmware.bin', '-o', 'j.sig', '--json', '-q'), 'json')
        .stdout,
    );
    assert.deepEqual(json.output, {
      path: 'j.sig',
      bytes: statSync(join(tmp.dir, 'j.sig')).size,
      format: 'DER',
    });
    assert.equal(readFileSync(join(tmp.dir, 'j.sig')).toString('hex'), json.signature);
  });

  it('list is sorted by class, label, id; --sort chooses; the same twice', () => {
    const labels = (args: string[] = []) =>
      ok(run('list', ...args), 'list')
        .stdout.split('\n')
        .slice(1, -2)
        .map((l) => l.split(/ +/).slice(0, 2).join(' '));
    const sorted = [
      'private alpha',
      'private mid',
      'private new',
      'private zeta',
      'public alpha',
      'public mid',
      'public new',
      'public zeta',
    ];
    assert.deepEqual(labels(), sorted);
    assert.equal(run('list').stdout, run('list').stdout);
    assert.deepEqual(labels(['--sort', 'label,class']).slice(0, 3), [
      'private alpha',
      'public alpha',
      'private mid',
    ]);
    const json = JSON.parse(ok(run('list', '--json'), 'json').stdout).objects;
    assert.deepEqual(
      json.map((o: { type: string; label: string }) => `${o.type} ${o.label}`),
      sorted,
    );
    const bad = run('list', '--sort', 'size');
    assert.deepEqual(
      [bad.code, bad.stderr],
      [
        2,
        "corepkcs11 list: --sort takes class, label, id, key (comma-separated) or none, not 'size'\n",
      ],
    );
  });
});

describe('export: the public key of a private key whose public object is absent', () => {
  const tmp = scratch('corepkcs11-export-');
  const store = join(tmp.dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  const run = (...args: string[]) => cli(args, { cwd: tmp.dir, env });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiPem = (k: typeof ec.publicKey) => k.export({ type: 'spki', format: 'pem' }) as string;
  after(() => tmp.cleanup());
  before(() => {
    ok(run('init-token', '--label', 'export', '--so-pin', SO), 'init-token');
    writeFileSync(join(tmp.dir, 'ec.pem'), ec.privateKey.export({ type: 'sec1', format: 'pem' }));
    writeFileSync(
      join(tmp.dir, 'rsa.pem'),
      rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }),
    );
    ok(run('import', 'ec.pem', 'rsa.pem', '--no-public', '-q'), 'import --no-public');
  });

  it('import --no-public, then export --type pubkey → the key openssl/node read from the file', () => {
    assert.equal(
      ok(run('export', '--label', 'ec', '--type', 'pubkey'), 'ec').stdout,
      spkiPem(ec.publicKey),
    );
    assert.equal(ok(run('export', '--label', 'rsa'), 'rsa').stdout, spkiPem(rsa.publicKey));
    const der = ok(run('export', '--label', 'rsa', '-f', 'der', '-o', 'rsa.der', '--json'), 'der');
    assert.deepEqual(JSON.parse(der.stdout).from, 'private key');
    const back = createPublicKey({
      key: readFileSync(join(tmp.dir, 'rsa.der')),
      format: 'der',
      type: 'spki',
    });
    assert.ok(back.equals(rsa.publicKey));
  });

  it('without a PIN the private key is not seen → exit 5 saying to give --pin', () => {
    const r = cli(['export', '--label', 'ec'], { cwd: tmp.dir, env: { COREPKCS11_STORE: store } });
    assert.equal(r.code, 5);
    assert.equal(
      r.stderr,
      "corepkcs11 export: no public or private key labelled 'ec' on the token (hint: give --pin: a private key is listed only when logged in)\n",
    );
  });

  it('a generated EC key whose public object was deleted → exit 5, saying what is missing', () => {
    ok(run('keygen', '--label', 'gen', '-q'), 'keygen');
    ok(run('delete', '--label', 'gen', '--type', 'pubkey'), 'delete');
    const r = run('export', '--label', 'gen', '--type', 'pubkey');
    assert.equal(r.code, 5);
    assert.equal(
      r.stderr,
      "corepkcs11 export: the private key labelled 'gen' does not hold its public key (an EC private key has no point; it has no CKA_PUBLIC_KEY_INFO), and no public key or certificate with its CKA_ID is on the token (hint: import its public key or certificate with the same --id)\n",
    );
  });

  it('--help says --type is optional and what export needs', () => {
    const help = ok(run('export', '--help'), 'help').stdout;
    assert.ok(
      help.startsWith(
        'usage: corepkcs11 export (--label L | --id HEX | pkcs11:URI) [--type cert|pubkey] [-o FILE]',
      ),
    );
    assert.match(help, /only a private key matches/);
  });
});
