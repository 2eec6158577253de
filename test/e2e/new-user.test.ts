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

/** A new user's path, over a store in a directory and over a flash image. */
for (const kind of ['directory', 'flash image']) {
  describe(`a new user's path with openssl files (${kind} store)`, {
    skip: OPENSSL_MISSING,
  }, () => {
    const tmp = scratch('corepkcs11-e2e-');
    const dir = tmp.dir;
    const store = kind === 'directory' ? join(dir, 'token') : `flash:${join(dir, 'token.img')}`;
    const run = (...args: string[]) =>
      cli([args[0] as string, '--store', store, ...args.slice(1)], {
        cwd: dir,
        env: { COREPKCS11_PIN: PIN },
      });
    after(() => tmp.cleanup());

    before(() => {
      openssl(
        [
          'genpkey',
          '-algorithm',
          'EC',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-out',
          'device.key',
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
          '/CN=device 42/O=Acme',
          '-days',
          '30',
          '-out',
          'device.crt',
        ],
        dir,
      );
      writeFileSync(join(dir, 'firmware.bin'), 'firmware image v1\n'.repeat(100));
    });

    it('initialises a token', () => {
      const r = ok(
        cli(
          ['init-token', '--store', store, '--label', 'my device', '--so-pin', SO, '--pin', PIN],
          { cwd: dir },
        ),
        'init-token',
      );
      assert.match(r.stdout, /Token 'my device' .*initialised/);
      assert.match(ok(run('info'), 'info').stdout, /user PIN initialized/);
    });

    it('imports the key and certificate from PEM, and lists them with one CKA_ID', () => {
      const r = ok(run('import', 'device.key', 'device.crt', '--label', 'device'), 'import');
      assert.match(r.stdout, /Imported 3 objects/);
      const list = JSON.parse(ok(run('list', '--json'), 'list').stdout);
      assert.deepEqual(list.objects.map((o: { type: string }) => o.type).sort(), [
        'cert',
        'private',
        'public',
      ]);
      assert.equal(new Set(list.objects.map((o: { id: string }) => o.id)).size, 1);
      const cert = list.objects.find((o: { type: string }) => o.type === 'cert');
      assert.match(cert.subject, /CN=device 42/);
      const priv = list.objects.find((o: { type: string }) => o.type === 'private');
      assert.deepEqual(
        priv.flags.filter((f: string) => ['sensitive', 'extractable', 'private'].includes(f)),
        ['private', 'sensitive'],
      );
      assert.match(priv.uri, /^pkcs11:token=my%20device;.*object=device;type=private;id=%/);
      const human = ok(cli(['list', '--store', store], { cwd: dir }), 'list without PIN').stdout;
      assert.match(human, /2 objects \(public objects only/);
    });

    it('makes a CSR that openssl req -verify accepts', () => {
      ok(
        run('csr', '--label', 'device', '--subject', '/CN=device 42/O=Acme', '-o', 'device.csr'),
        'csr',
      );
      assert.match(
        openssl(['req', '-verify', '-in', 'device.csr', '-noout', '-subject'], dir),
        /CN\s*=\s*device 42/,
      );
    });

    it('signs a file that openssl dgst -verify accepts, with the certificate and with the exported key', () => {
      ok(run('sign', '--label', 'device', '-i', 'firmware.bin', '-o', 'firmware.sig'), 'sign');
      openssl(['x509', '-in', 'device.crt', '-pubkey', '-noout', '-out', 'cert-pub.pem'], dir);
      assert.match(
        openssl(
          [
            'dgst',
            '-sha256',
            '-verify',
            'cert-pub.pem',
            '-signature',
            'firmware.sig',
            'firmware.bin',
          ],
          dir,
        ),
        /Verified OK/,
      );
      ok(
        run('export', '--type', 'pubkey', '--label', 'device', '-o', 'exported.pem'),
        'export pubkey',
      );
      assert.equal(
        readFileSync(join(dir, 'exported.pem'), 'utf8'),
        readFileSync(join(dir, 'cert-pub.pem'), 'utf8'),
      );
      ok(run('export', '--type', 'cert', '--label', 'device', '-o', 'exported.crt'), 'export cert');
      assert.equal(
        readFileSync(join(dir, 'exported.crt'), 'utf8'),
        readFileSync(join(dir, 'device.crt'), 'utf8'),
      );
      assert.match(
        ok(
          run(
            'verify',
            '--label',
            'device',
            '-i',
            'firmware.bin',
            '--signature-file',
            'firmware.sig',
          ),
          'verify',
        ).stdout,
        /Signature is valid/,
      );
    });

    it('keeps the objects across a restart (every command is a new process) and a raw r‖s signature verifies too', () => {
      const list = JSON.parse(ok(run('list', '--json'), 'list').stdout);
      assert.equal(list.objects.length, 3);
      ok(
        run(
          'sign',
          'pkcs11:object=device;type=private',
          '-i',
          'firmware.bin',
          '-o',
          'raw.sig',
          '--format',
          'raw',
        ),
        'sign raw',
      );
      assert.equal(readFileSync(join(dir, 'raw.sig')).length, 64);
      ok(
        run('verify', '--label', 'device', '-i', 'firmware.bin', '--signature-file', 'raw.sig'),
        'verify raw (auto)',
      );
      writeFileSync(join(dir, 'tampered.bin'), 'firmware image v2\n');
      const bad = run(
        'verify',
        '--label',
        'device',
        '-i',
        'tampered.bin',
        '--signature-file',
        'firmware.sig',
      );
      assert.equal(bad.code, 6, bad.stderr);
    });

    it('deletes the objects, and they stay deleted', () => {
      const r = ok(run('delete', '--label', 'device', '--all'), 'delete');
      assert.equal(r.stdout.trim().split('\n').length, 3);
      assert.match(ok(run('list'), 'list').stdout, /^0 objects/m);
    });
  });
}

describe('more keys and mechanisms through the CLI', { skip: OPENSSL_MISSING }, () => {
  const tmp = scratch('corepkcs11-e2e-');
  const dir = tmp.dir;
  const run = (...args: string[]) =>
    cli([args[0] as string, '--store', 'tok', ...args.slice(1)], {
      cwd: dir,
      env: { COREPKCS11_PIN: PIN, COREPKCS11_SO_PIN: SO },
    });
  after(() => tmp.cleanup());
  before(() => {
    ok(run('init-token', '--label', 'more'), 'init-token');
    writeFileSync(join(dir, 'data.txt'), 'some data\n');
  });

  it('RSA: imports PKCS#1, signs PKCS#1 v1.5 and PSS that openssl verifies', () => {
    openssl(
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.pem'],
      dir,
    );
    openssl(['rsa', '-in', 'rsa.pem', '-traditional', '-out', 'rsa1.pem'], dir);
    openssl(['pkey', '-in', 'rsa.pem', '-pubout', '-out', 'rsa.pub'], dir);
    ok(run('import', 'rsa1.pem', '--label', 'rsa'), 'import rsa');
    ok(run('sign', '--label', 'rsa', '-i', 'data.txt', '-o', 'rsa.sig'), 'sign rsa');
    assert.match(
      openssl(['dgst', '-sha256', '-verify', 'rsa.pub', '-signature', 'rsa.sig', 'data.txt'], dir),
      /Verified OK/,
    );
    ok(
      run('sign', '--label', 'rsa', '-m', 'SHA256-RSA-PKCS-PSS', '-i', 'data.txt', '-o', 'pss.sig'),
      'sign pss',
    );
    const pss = ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-1'];
    assert.match(
      openssl(
        ['dgst', '-sha256', ...pss, '-verify', 'rsa.pub', '-signature', 'pss.sig', 'data.txt'],
        dir,
      ),
      /Verified OK/,
    );
    ok(
      run(
        'verify',
        '--label',
        'rsa',
        '-m',
        'SHA256-RSA-PKCS-PSS',
        '-i',
        'data.txt',
        '--signature-file',
        'pss.sig',
      ),
      'verify pss',
    );
  });

  it('imports an encrypted PKCS#8 key with the passphrase from the environment', () => {
    openssl(
      [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-384',
        '-aes-256-cbc',
        '-pass',
        'pass:s3cret',
        '-out',
        'enc.pem',
      ],
      dir,
    );
    const r = cli(['import', '--store', 'tok', 'enc.pem', '--label', 'enc'], {
      cwd: dir,
      env: { COREPKCS11_PIN: PIN, COREPKCS11_KEY_PASSPHRASE: 's3cret' },
    });
    ok(r, 'import encrypted');
    openssl(
      ['pkey', '-in', 'enc.pem', '-passin', 'pass:s3cret', '-pubout', '-out', 'enc.pub'],
      dir,
    );
    ok(
      run('sign', '--label', 'enc', '-m', 'ECDSA-SHA384', '-i', 'data.txt', '-o', 'enc.sig'),
      'sign p384',
    );
    assert.match(
      openssl(['dgst', '-sha384', '-verify', 'enc.pub', '-signature', 'enc.sig', 'data.txt'], dir),
      /Verified OK/,
    );
  });

  it('keygen P-521 writes a public key openssl reads, then signs what openssl verifies', () => {
    const r = ok(
      run('keygen', '--key-type', 'EC:secp521r1', '--label', 'gen', '-o', 'gen.pub'),
      'keygen',
    );
    assert.match(r.stdout, /Generated EC P-521 key pair 'gen'/);
    ok(
      run('sign', '--label', 'gen', '-m', 'ECDSA-SHA512', '-i', 'data.txt', '-o', 'gen.sig'),
      'sign p521',
    );
    assert.match(
      openssl(['dgst', '-sha512', '-verify', 'gen.pub', '-signature', 'gen.sig', 'data.txt'], dir),
      /Verified OK/,
    );
    const again = run('keygen', '--label', 'gen');
    assert.equal(again.code, 1, 'a second pair under the same label needs --replace');
    ok(
      run('keygen', '--label', 'gen', '--key-type', 'rsa:2048', '--replace', '-o', 'gen2.pub'),
      'keygen --replace',
    );
    const gens = JSON.parse(ok(run('list', '--label', 'gen', '--json'), 'list').stdout).objects;
    assert.deepEqual(
      gens.map((o: { keyType: string }) => o.keyType),
      ['RSA', 'RSA'],
    );
  });

  it('digest matches openssl, random gives the bytes asked for', () => {
    const r = ok(run('digest', '-m', 'SHA384', '-i', 'data.txt'), 'digest');
    assert.equal(
      r.stdout.trim(),
      openssl(['dgst', '-sha384', '-r', 'data.txt'], dir).split(' ')[0],
    );
    assert.match(ok(run('random', '16'), 'random').stdout, /^[0-9a-f]{32}\n$/);
    ok(run('random', '100', '-o', 'rand.bin'), 'random -o');
    assert.equal(readFileSync(join(dir, 'rand.bin')).length, 100);
  });

  it('changes the user PIN; the old one then fails with exit code 4', () => {
    ok(run('change-pin', '--new-pin', '13579'), 'change-pin');
    assert.equal(run('list').code, 4);
    ok(cli(['list', '--store', 'tok', '--pin', '13579'], { cwd: dir }), 'list with the new PIN');
    ok(cli(['init-pin', '--store', 'tok', '--so-pin', SO, '--pin', PIN], { cwd: dir }), 'init-pin');
    ok(run('list'), 'list with the reset PIN');
  });

  it('provisions a device in one command and replaces its credentials in another', () => {
    for (const n of [1, 2]) {
      openssl(
        ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `d${n}.key`],
        dir,
      );
      openssl(
        [
          'req',
          '-new',
          '-x509',
          '-key',
          `d${n}.key`,
          '-subj',
          `/CN=dev ${n}`,
          '-days',
          '9',
          '-out',
          `d${n}.crt`,
        ],
        dir,
      );
    }
    const first = ok(
      run('provision', '--cert', 'd1.crt', '--key', 'd1.key', '--root-cert', 'd2.crt'),
      'provision',
    );
    assert.match(
      first.stdout,
      /Stored: 'Device Priv TLS Key', 'Device Pub TLS Key', 'Device Cert', 'Root Cert'/,
    );
    const second = ok(
      run(
        'provision',
        '--cert',
        'd2.crt',
        '--key',
        'd2.key',
        '--public-key-out',
        'dev.pub',
        '--csr',
        'dev.csr',
        '--subject',
        '/CN=dev 2',
      ),
      'provision again',
    );
    assert.match(second.stdout, /Replaced 3 old objects/);
    assert.match(
      openssl(['req', '-verify', '-in', 'dev.csr', '-noout'], dir) +
        openssl(['pkey', '-pubin', '-in', 'dev.pub', '-noout'], dir),
      /^$/,
    );
    const objs = JSON.parse(ok(run('list', '--json'), 'list').stdout).objects.filter(
      (o: { label: string }) => /Device|Root/.test(o.label),
    );
    assert.equal(objs.length, 4);
    assert.match(objs.find((o: { label: string }) => o.label === 'Device Cert').subject, /dev 2/);
  });
});
