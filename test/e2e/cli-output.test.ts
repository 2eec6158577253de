import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scratch } from '../unit/helpers/openssl.js';
import { type CliResult, cli, storeFingerprint } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';

/** ESC (colour), LF, a bidi override (U+202E) and a C1 CSI (U+009B): each would act on a terminal. */
const HOSTILE = 'c\x1b[31mRED\nX\u202eY\u009b';
const HOSTILE_SHOWN = 'c\\x1b[31mRED\\x0aX\\u{202e}Y\\x9b';
const LONG = `${'L'.repeat(4999)}!`;

const TOKEN_LABEL = 'tok\x1b[7mX\ny';
const TOKEN_LABEL_SHOWN = 'tok\\x1b[7mX\\x0ay';

/** True for a character a terminal acts on: C0 controls but LF, DEL, C1, bidi and zero-width marks. */
function acts(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x0a) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x61c ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

function assertInert(text: string, what: string): void {
  const bad = [...text].find((ch) => acts(ch.codePointAt(0) as number));
  assert.equal(bad, undefined, `${what}: raw ${JSON.stringify(bad)} in ${JSON.stringify(text)}`);
}

function inert(r: CliResult, what: string): CliResult {
  assertInert(r.stdout, `${what} stdout`);
  assertInert(r.stderr, `${what} stderr`);
  return r;
}

describe('--json: every outcome machine-readable', () => {
  const tmp = scratch('corepkcs11-json-');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: join(tmp.dir, 'tok') };
  const run = (...args: string[]) => cli(args, { cwd: tmp.dir, env });
  after(() => tmp.cleanup());
  before(() => {
    assert.equal(run('init-token', '--label', 'json', '--so-pin', SO).code, 0);
    writeFileSync(join(tmp.dir, 'data.txt'), 'data\n');
  });

  /** stdout is exactly one JSON object; stderr the same failure as one line. */
  function failure(r: CliResult, code: number) {
    assert.equal(r.code, code, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    return JSON.parse(r.stdout);
  }

  it('a wrong PIN → exit 4 and {error, ckr: CKR_PIN_INCORRECT (160), hint, exitCode: 4} on stdout', () => {
    const r = run('list', '--json', '--pin', '000000');
    assert.deepEqual(failure(r, 4), {
      command: 'list',
      error: 'CKR_PIN_INCORRECT in C_Login',
      ckr: { name: 'CKR_PIN_INCORRECT', code: 0xa0 },
      hint: 'check --pin or COREPKCS11_PIN; the PIN locks after too many wrong tries',
      exitCode: 4,
    });
    assert.equal(
      r.stderr,
      'corepkcs11 list: CKR_PIN_INCORRECT in C_Login (hint: check --pin or COREPKCS11_PIN; the PIN locks after too many wrong tries)\n',
    );
    assert.equal(run('list').code, 0); // a good login gives the try back
  });

  it('a failure the CLI diagnoses → ckr null, the exit code unchanged (5)', () => {
    const r = run('sign', '--label', 'nope', '-i', 'data.txt', '--json');
    assert.deepEqual(failure(r, 5), {
      command: 'sign',
      error: "no private key labelled 'nope' on the token",
      ckr: null,
      hint: '`corepkcs11 list` shows the objects (give --pin to see private ones)',
      exitCode: 5,
    });
  });

  it('a usage error and an unknown command → exit 2, JSON too', () => {
    const bad = failure(run('list', '--frobnicate', '--json'), 2);
    assert.equal(bad.command, 'list');
    assert.match(bad.error, /--frobnicate/);
    assert.deepEqual([bad.ckr, bad.hint, bad.exitCode], [null, 'see --help', 2]);
    assert.deepEqual(failure(run('frobnicate', '--json'), 2), {
      command: '',
      error: "unknown command 'frobnicate'",
      ckr: null,
      hint: 'corepkcs11 --help lists them',
      exitCode: 2,
    });
  });

  it('a signature that does not verify → exit 6 with CKR_SIGNATURE_INVALID', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(tmp.dir, 'k.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.equal(run('import', 'k.pem', '-q').code, 0);
    assert.equal(run('sign', '--label', 'k', '-i', 'k.pem', '-o', 'k.sig', '-q').code, 0);
    const j = failure(run('verify', '--label', 'k', '-i', 'data.txt', '-s', 'k.sig', '--json'), 6);
    assert.deepEqual(j.ckr, { name: 'CKR_SIGNATURE_INVALID', code: 0xc0 });
    assert.equal(j.exitCode, 6);
  });
});

describe('strings from the token are printed safely', () => {
  const tmp = scratch('corepkcs11-safe-');
  const store = join(tmp.dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  const run = (...args: string[]) => inert(cli(args, { cwd: tmp.dir, env }), args.join(' '));
  let ids: Record<string, string> = {};
  after(() => tmp.cleanup());
  before(() => {
    for (const name of ['a', 'b']) {
      const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      writeFileSync(join(tmp.dir, `${name}.pem`), k.export({ type: 'pkcs8', format: 'pem' }));
    }
    const init = run('init-token', '--label', TOKEN_LABEL, '--so-pin', SO);
    assert.equal(init.code, 0, init.stderr);
    assert.ok(init.stdout.startsWith(`Token '${TOKEN_LABEL_SHOWN}' (serial `), init.stdout);
    const a = run('import', 'a.pem', '--label', HOSTILE);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^FILE {3}CLASS {4}LABEL {2}/);
    assert.ok(a.stdout.includes(`a.pem  private  ${HOSTILE_SHOWN}  `), a.stdout);
    assert.equal(run('import', 'b.pem', '--label', LONG, '--no-public').code, 0);
    const objects = JSON.parse(run('list', '--json').stdout).objects;
    ids = Object.fromEntries(objects.map((o: { label: string; id: string }) => [o.label, o.id]));
  });

  it('list: control and bidi characters escaped, a long label cut to 40 characters with …', () => {
    const r = run('list');
    const a = ids[HOSTILE] as string;
    const b = ids[LONG] as string;
    const w = HOSTILE_SHOWN.length;
    const cut = `${'L'.repeat(39)}…`;
    const pad = (s: string, n: number) => s + ' '.repeat(n - [...s].length);
    const expected = [
      `${pad('CLASS', 7)}  ${pad('LABEL', 40)}  ${pad('ID', 40)}  ${pad('KEY', 8)}  FLAGS`,
      `${pad('private', 7)}  ${pad(cut, 40)}  ${b}  EC P-256  private,sensitive,sign`,
      `${pad('private', 7)}  ${pad(HOSTILE_SHOWN, 40)}  ${a}  EC P-256  private,sensitive,sign`,
      `${pad('public', 7)}  ${pad(HOSTILE_SHOWN, 40)}  ${a}  EC P-256  verify`,
      '3 objects',
      '',
    ].join('\n');
    assert.ok(w < 40);
    assert.equal(r.stdout, expected);
  });

  it('list --wide shows the whole label; --json gives the exact value, escaped as JSON', () => {
    assert.ok(run('list', '--wide').stdout.includes(`private  ${LONG}  `));
    const text = run('list', '--json').stdout;
    assert.ok(text.includes('"label": "c\\u001b[31mRED\\nX\\u202eY\\u009b"'), text);
    const labels = JSON.parse(text).objects.map((o: { label: string }) => o.label);
    assert.deepEqual(labels.sort(), [HOSTILE, HOSTILE, LONG].sort());
  });

  it('messages and confirmations escape what they quote (labels, token fields, file names)', () => {
    const miss = run('sign', '--label', `${HOSTILE}?`, '-i', 'a.pem');
    assert.equal(miss.code, 5);
    assert.ok(
      miss.stderr.startsWith(`corepkcs11 sign: no private key labelled '${HOSTILE_SHOWN}?'`),
    );
    const out = `sig\x1b]0;title\x07.bin`;
    const signed = run('sign', '--label', HOSTILE, '-i', 'a.pem', '-o', out);
    assert.match(signed.stderr, /^wrote sig\\x1b\]0;title\\x07\.bin \(7[0-2] bytes, DER\)\n$/);
    assert.ok(run('info').stdout.includes(`\nToken label:  ${TOKEN_LABEL_SHOWN}\n`));
    const gone = run('delete', '--label', HOSTILE, '--all').stdout.split('\n');
    assert.deepEqual(gone.sort(), [
      '',
      `Deleted private '${HOSTILE_SHOWN}' (id ${ids[HOSTILE]})`,
      `Deleted public '${HOSTILE_SHOWN}' (id ${ids[HOSTILE]})`,
    ]);
  });
});

describe('one rule for labels: never empty', () => {
  const tmp = scratch('corepkcs11-label-');
  const store = join(tmp.dir, 'tok');
  const env = { COREPKCS11_PIN: PIN, COREPKCS11_STORE: store };
  after(() => tmp.cleanup());

  const refusal = (command: string, flag = '--label') =>
    `corepkcs11 ${command}: ${flag} must not be empty (hint: name objects without a label by --id or by their pkcs11: URI)\n`;

  it("init-token, import, keygen, sign and list refuse --label '' → exit 2, the store unchanged", () => {
    const run = (...args: string[]) => cli(args, { cwd: tmp.dir, env });
    const init = run('init-token', '--label', '', '--so-pin', SO);
    assert.deepEqual([init.code, init.stderr], [2, refusal('init-token')]);
    assert.equal(run('init-token', '--label', 'labels', '--so-pin', SO).code, 0);
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(join(tmp.dir, 'k.pem'), k.export({ type: 'pkcs8', format: 'pem' }));
    const before = storeFingerprint(store);
    for (const [args, command, flag] of [
      [['import', 'k.pem', '--label', ''], 'import', '--label'],
      [['import', 'k.pem', '--public-label', ''], 'import', '--public-label'],
      [['keygen', '--label', ''], 'keygen', '--label'],
      [['sign', '--label', '', '-i', 'k.pem'], 'sign', '--label'],
      [['list', '--label', ''], 'list', '--label'],
    ] as const) {
      const r = run(...args);
      assert.deepEqual(
        [r.code, r.stdout, r.stderr],
        [2, '', refusal(command, flag)],
        args.join(' '),
      );
    }
    assert.deepEqual(storeFingerprint(store), before);
  });
});
