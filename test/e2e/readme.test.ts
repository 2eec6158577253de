import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPENSSL_MISSING, openssl, scratch } from '../unit/helpers/openssl.js';
import { baseEnv, cliWrapper, readmeBlocks } from './cli-harness.js';

const DIST = fileURLToPath(new URL('../../src/', import.meta.url));
const blocks = (lang: string) => readmeBlocks('## The command line', lang);

describe('README command-line examples run as written', { skip: OPENSSL_MISSING }, () => {
  const tmp = scratch('corepkcs11-readme-');
  const bin = cliWrapper(tmp.dir);
  const env = { ...baseEnv(), PATH: `${bin}:${process.env.PATH}` };
  after(() => tmp.cleanup());

  it('the shell session', () => {
    const [script] = blocks('sh');
    assert.ok(script, 'no sh block');
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: tmp.dir,
      env,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Imported 3 objects/);
    assert.match(r.stdout, /Verified OK/);
    assert.match(r.stdout, /Signature is valid/);
    assert.match(r.stdout, /Stored: 'Device Priv TLS Key'/);
  });

  it('the library example (after the shell session made its files)', () => {
    const [code] = blocks('js');
    assert.ok(code, 'no js block');
    const local = code
      .replace("from 'corepkcs11/helpers'", `from '${join(DIST, 'helpers/index.js')}'`)
      .replace("from 'corepkcs11'", `from '${join(DIST, 'index.js')}'`);
    writeFileSync(join(tmp.dir, 'example.mjs'), local);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: tmp.dir, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /'Device Priv TLS Key', 'Device Pub TLS Key', 'Device Cert'/);
    assert.match(r.stdout, /^Device Cert$/m);
    openssl(['req', '-verify', '-in', 'device-2.csr', '-noout'], tmp.dir);
  });
});
