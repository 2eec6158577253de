/**
 * The pkcs11-tool script of issue 4, run unchanged against every server under comparison: each step
 * drives pkcs11-tool through p11-kit-client.so and checks the result itself or with openssl. A step
 * returns undefined when it passes, or why it failed.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { type RunResult, run, type Tools, type Workdir } from './env.js';
import { LEGACY_STEPS } from './steps-legacy.js';

export interface StepContext {
  tools: Tools;
  dir: Workdir;
  /** pkcs11-tool through p11-kit-client.so against the server under test. */
  tool(args: string[]): Promise<RunResult>;
}

export interface Step {
  name: string;
  needs?: 'openssl';
  run(c: StepContext): Promise<string | undefined>;
}

const PIN = ['--login', '--pin', '1234'];

function expect(r: RunResult, pattern?: RegExp): string | undefined {
  if (r.code !== 0)
    return `exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`;
  if (pattern && !pattern.test(r.stdout + r.stderr)) return `output lacks ${pattern}`;
  return undefined;
}

async function openssl(c: StepContext, args: string[]): Promise<RunResult> {
  return run(c.tools.openssl as string, args);
}

/** Inputs made once per target: data, its SHA-256, and an openssl key, certificate and public key. */
export async function prepareInputs(c: StepContext): Promise<void> {
  const data = Buffer.from('corepkcs11 interop: the quick brown fox\n');
  writeFileSync(c.dir.file('data.txt'), data);
  writeFileSync(c.dir.file('data.sha256'), createHash('sha256').update(data).digest());
  if (!c.tools.openssl) return;
  const f = c.dir.file;
  await openssl(c, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    f('imp.pem'),
  ]);
  await openssl(c, [
    'pkey',
    '-in',
    f('imp.pem'),
    '-pubout',
    '-outform',
    'DER',
    '-out',
    f('imp-pub.der'),
  ]);
  await openssl(
    c,
    ['req', '-new', '-x509', '-key', f('imp.pem'), '-subj', '/CN=corepkcs11 interop'].concat([
      '-days',
      '2',
      '-outform',
      'DER',
      '-out',
      f('imp-cert.der'),
    ]),
  );
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}

/**
 * The SubjectPublicKeyInfo of an EC public key, from CKA_EC_PARAMS and CKA_EC_POINT as `-O` prints them
 * (pkcs11-tool 0.23 --read-object cannot export a P-384 key: "cannot create EVP_PKEY").
 */
async function ecPublicKey(c: StepContext, id: string, out: string): Promise<string | undefined> {
  const listed = await c.tool(['-O', '--type', 'pubkey']);
  // -O lists every object whatever --id says: pick the public key block with this ID.
  const block = listed.stdout
    .split(/(?=Public Key Object|Private Key Object|Certificate Object|Data object)/)
    .find((b) => b.startsWith('Public Key Object') && new RegExp(`ID:\\s+${id}\\b`).test(b));
  const point = block && /EC_POINT:\s+([0-9a-f]+)/.exec(block)?.[1];
  const params = block && /EC_PARAMS:\s+([0-9a-f]+)/.exec(block)?.[1];
  if (!point || !params)
    return `no EC_POINT/EC_PARAMS listed: ${expect(listed) ?? listed.stdout.slice(0, 80)}`;
  const octets = Buffer.from(point, 'hex');
  // CKA_EC_POINT is a DER OCTET STRING around the point.
  const raw = octets[1]! & 0x80 ? octets.subarray(2 + (octets[1]! & 0x7f)) : octets.subarray(2);
  const algorithm = tlv(
    0x30,
    Buffer.concat([Buffer.from('06072a8648ce3d0201', 'hex'), Buffer.from(params, 'hex')]),
  );
  writeFileSync(
    out,
    tlv(0x30, Buffer.concat([algorithm, tlv(0x03, Buffer.concat([Buffer.of(0), raw]))])),
  );
  return undefined;
}

async function signAndCheck(
  c: StepContext,
  id: string,
  mech: string[],
  input: string,
  verify: string[],
): Promise<string | undefined> {
  const f = c.dir.file;
  const sig = f(`sig-${id}-${mech[1]}.bin`);
  const pub = f(`pub-${id}.der`);
  const signed = await c.tool([...PIN, '--sign', '--id', id, ...mech, '-i', f(input), '-o', sig]);
  const failed = expect(signed);
  if (failed) return `sign: ${failed}`;
  if (mech[1] === 'ECDSA') {
    const missing = await ecPublicKey(c, id, pub);
    if (missing) return missing;
  } else {
    const read = await c.tool(['--read-object', '--type', 'pubkey', '--id', id, '-o', pub]);
    if (read.code !== 0) return `read pubkey: ${expect(read)}`;
  }
  const v = await openssl(
    c,
    verify.map((a) => a.replace('$PUB', pub).replace('$SIG', sig)),
  );
  return v.code === 0 ? undefined : `openssl verify: ${(v.stdout + v.stderr).trim().slice(-160)}`;
}

const pkeyutl = (input: string, extra: string[] = []) => [
  'pkeyutl',
  '-verify',
  '-pubin',
  '-keyform',
  'DER',
  '-inkey',
  '$PUB',
  '-sigfile',
  '$SIG',
  '-in',
  input,
  ...extra,
];

export const STEPS: Step[] = [
  { name: '-I (module info)', run: async (c) => expect(await c.tool(['-I']), /Cryptoki version/) },
  { name: '-L (list slots)', run: async (c) => expect(await c.tool(['-L']), /token label\s*:/) },
  { name: '-M (mechanisms)', run: async (c) => expect(await c.tool(['-M']), /SHA256/) },
  { name: '-O (objects, no login)', run: async (c) => expect(await c.tool(['-O'])) },
  {
    name: '--init-token',
    run: async (c) =>
      expect(
        await c.tool([
          '--init-token',
          '--slot-index',
          '0',
          '--label',
          'interop',
          '--so-pin',
          '5678',
        ]),
        /successfully initialized/i,
      ),
  },
  {
    name: '--init-pin',
    run: async (c) =>
      expect(
        await c.tool([
          '--login',
          '--login-type',
          'so',
          '--so-pin',
          '5678',
          '--init-pin',
          '--pin',
          '1234',
        ]),
        /successfully initialized/i,
      ),
  },
  {
    name: '--change-pin',
    run: async (c) =>
      expect(await c.tool([...PIN, '--change-pin', '--new-pin', '4321'])) ??
      expect(await c.tool(['--login', '--pin', '4321', '--change-pin', '--new-pin', '1234'])) ??
      expect(await c.tool([...PIN, '-O'])),
  },
  { name: '--login -O', run: async (c) => expect(await c.tool([...PIN, '-O'])) },
  ...(
    [
      ['EC prime256v1', 'EC:prime256v1', '01'],
      ['EC secp384r1', 'EC:secp384r1', '02'],
      ['RSA 2048', 'rsa:2048', '03'],
    ] as const
  ).map(
    ([what, type, id]): Step => ({
      name: `--keypairgen ${what}`,
      run: async (c) =>
        expect(
          await c.tool([
            ...PIN,
            '--keypairgen',
            '--key-type',
            type,
            '--id',
            id,
            '--label',
            `k${id}`,
          ]),
          /Key pair generated/,
        ),
    }),
  ),
  {
    name: '--hash SHA256',
    run: async (c) => {
      const out = c.dir.file('hash.bin');
      const r = await c.tool(['--hash', '-m', 'SHA256', '-i', c.dir.file('data.txt'), '-o', out]);
      const failed = expect(r);
      if (failed) return failed;
      const same = readFileSync(out).equals(readFileSync(c.dir.file('data.sha256')));
      return same ? undefined : 'digest differs from SHA-256 computed by node';
    },
  },
  {
    name: '--generate-random 32',
    run: async (c) => {
      const out = c.dir.file('random.bin');
      const failed = expect(await c.tool(['--generate-random', '32', '-o', out]));
      return failed ?? (readFileSync(out).length === 32 ? undefined : 'not 32 bytes');
    },
  },
  {
    name: 'ECDSA P-256 sign, openssl verify',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(
        c,
        '01',
        ['-m', 'ECDSA', '--signature-format', 'openssl'],
        'data.sha256',
        pkeyutl(c.dir.file('data.sha256')),
      ),
  },
  {
    name: 'ECDSA P-384 sign, openssl verify',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(
        c,
        '02',
        ['-m', 'ECDSA', '--signature-format', 'openssl'],
        'data.sha256',
        pkeyutl(c.dir.file('data.sha256')),
      ),
  },
  {
    name: 'ECDSA sign + pkcs11-tool --verify',
    run: async (c) => {
      const sig = c.dir.file('sig-verify.bin');
      const input = ['-i', c.dir.file('data.sha256')];
      return (
        expect(
          await c.tool([...PIN, '--sign', '--id', '01', '-m', 'ECDSA', ...input, '-o', sig]),
        ) ??
        expect(
          await c.tool([
            ...PIN,
            '--verify',
            '--id',
            '01',
            '-m',
            'ECDSA',
            ...input,
            '--signature-file',
            sig,
          ]),
          /Signature is valid/,
        )
      );
    },
  },
  {
    name: 'RSA-PKCS sign, openssl verify',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(c, '03', ['-m', 'RSA-PKCS'], 'data.txt', pkeyutl(c.dir.file('data.txt'))),
  },
  {
    name: 'SHA256-RSA-PKCS sign, openssl verify',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(c, '03', ['-m', 'SHA256-RSA-PKCS'], 'data.txt', [
        'dgst',
        '-sha256',
        '-keyform',
        'DER',
        '-verify',
        '$PUB',
        '-signature',
        '$SIG',
        c.dir.file('data.txt'),
      ]),
  },
  {
    name: 'RSA-PKCS-PSS sign, openssl verify',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(
        c,
        '03',
        ['-m', 'RSA-PKCS-PSS', '--hash-algorithm', 'SHA256', '--mgf', 'MGF1-SHA256'],
        'data.sha256',
        pkeyutl(c.dir.file('data.sha256'), [
          '-pkeyopt',
          'rsa_padding_mode:pss',
          '-pkeyopt',
          'digest:sha256',
          '-pkeyopt',
          'rsa_pss_saltlen:-1',
        ]),
      ),
  },
  {
    name: '--write-object certificate (DER)',
    needs: 'openssl',
    run: async (c) =>
      expect(
        await c.tool(
          [
            ...PIN,
            '--write-object',
            c.dir.file('imp-cert.der'),
            '--type',
            'cert',
            '--id',
            '10',
          ].concat(['--label', 'imported']),
        ),
      ),
  },
  {
    name: '--write-object private key (PEM)',
    needs: 'openssl',
    run: async (c) =>
      expect(
        await c.tool(
          [
            ...PIN,
            '--write-object',
            c.dir.file('imp.pem'),
            '--type',
            'privkey',
            '--id',
            '10',
          ].concat(['--label', 'imported']),
        ),
      ),
  },
  {
    name: '--write-object public key (DER)',
    needs: 'openssl',
    run: async (c) =>
      expect(
        await c.tool(
          [
            ...PIN,
            '--write-object',
            c.dir.file('imp-pub.der'),
            '--type',
            'pubkey',
            '--id',
            '10',
          ].concat(['--label', 'imported']),
        ),
      ),
  },
  {
    name: '--read-object certificate',
    needs: 'openssl',
    run: async (c) => {
      const out = c.dir.file('cert-back.der');
      const failed = expect(
        await c.tool(['--read-object', '--type', 'cert', '--id', '10', '-o', out]),
      );
      if (failed) return failed;
      return readFileSync(out).equals(readFileSync(c.dir.file('imp-cert.der')))
        ? undefined
        : 'differs';
    },
  },
  {
    name: 'imported key signs, openssl verifies',
    needs: 'openssl',
    run: (c) =>
      signAndCheck(
        c,
        '10',
        ['-m', 'ECDSA', '--signature-format', 'openssl'],
        'data.sha256',
        pkeyutl(c.dir.file('data.sha256')),
      ),
  },
  {
    name: '--delete-object certificate',
    needs: 'openssl',
    run: async (c) => {
      const failed = expect(
        await c.tool([...PIN, '--delete-object', '--type', 'cert', '--id', '10']),
      );
      if (failed) return failed;
      const listed = await c.tool([...PIN, '-O', '--type', 'cert']);
      return /Certificate Object/.test(listed.stdout) ? 'certificate still listed' : undefined;
    },
  },
  {
    name: '--test',
    run: async (c) => {
      const r = await c.tool([...PIN, '--test']);
      const errors = /(\d+) errors?/.exec(r.stdout + r.stderr);
      if (/No errors/.test(r.stdout + r.stderr)) return undefined;
      return errors ? `${errors[1]} errors` : expect(r, /No errors/);
    },
  },
];
STEPS.push(...LEGACY_STEPS);
