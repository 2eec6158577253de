/**
 * `corepkcs11 register` / `unregister` as an unprivileged user with a throwaway HOME: where the module
 * file goes ($XDG_CONFIG_HOME or ~/.config), what it says, replacing our own file but not someone
 * else's, refusals with their exit codes, and `info` naming the registration. (Root, whose file goes to
 * the system directory, and what p11-kit's programs do with the file: test/e2e/install.test.ts.)
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testUser, type User } from '../interop/helpers/p11kit.js';
import { CLI_PATH } from './cli-harness.js';

const PATH = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
const user = testUser('unprivileged', PATH);

describe('corepkcs11 register / unregister', {
  skip: typeof user === 'string' ? user : false,
}, () => {
  const u = user as User;
  const env = { COREPKCS11_PIN_ITERATIONS: '1000', COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS: '1' };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    u.run(process.execPath, [CLI_PATH, ...args], { ...env, ...extra });
  const modules = join(u.home, '.config', 'pkcs11', 'modules');
  const store = join(u.home, 'tok');

  before(async () => {
    const r = await cli(['init-token', '--store', store, '--label', 'reg', '--so-pin', '87654321']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => u.cleanup());

  it('writes ~/.config/pkcs11/modules/corepkcs11.module: the remote: line with the absolute store', async () => {
    const r = await cli(['register', '--store', 'tok']);
    assert.equal(r.code, 0, r.stderr);
    const file = join(modules, 'corepkcs11.module');
    assert.match(
      r.stdout,
      new RegExp(`Registered ${store} with p11-kit as module 'corepkcs11': ${file}`),
    );
    const text = readFileSync(file, 'utf8');
    assert.match(
      text,
      new RegExp(
        `^remote: \\|${process.execPath} \\S+/cli/main\\.js remote --store ${store}$`,
        'm',
      ),
    );
    assert.match(text, new RegExp(`^x-corepkcs11-store: ${store}$`, 'm'));
    assert.equal(statSync(file).mode & 0o777, 0o644);
    const info = await cli(['info', '--store', store, '--json']);
    assert.deepEqual(JSON.parse(info.stdout).registered, [file]);
  });

  it('registering the name again replaces our own file and says what it named before', async () => {
    const other = join(u.home, 'other');
    assert.equal(
      (await cli(['init-token', '--store', other, '--label', 'o', '--so-pin', '87654321'])).code,
      0,
    );
    const r = await cli(['register', '--store', other, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      name: 'corepkcs11',
      file: join(modules, 'corepkcs11.module'),
      store: other,
      system: false,
      replaced: store,
    });
  });

  it('$XDG_CONFIG_HOME/pkcs11/modules when XDG_CONFIG_HOME is set, as p11-kit reads it', async () => {
    const xdg = join(u.home, 'xdg');
    const r = await cli(['register', '--store', store, '--name', 'xdg-one'], {
      XDG_CONFIG_HOME: xdg,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(xdg, 'pkcs11', 'modules', 'xdg-one.module')));
  });

  it('a module file corepkcs11 did not write is kept (exit 1) unless --force', async () => {
    const foreign = await u.run('sh', [
      '-c',
      `mkdir -p ${modules} && echo 'module: other.so' > ${modules}/theirs.module`,
    ]);
    assert.equal(foreign.code, 0, foreign.stderr);
    const refused = await cli(['register', '--store', store, '--name', 'theirs']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /theirs\.module exists and was not written by corepkcs11.*--force/,
    );
    assert.equal(readFileSync(join(modules, 'theirs.module'), 'utf8'), 'module: other.so\n');
    const kept = await cli(['unregister', '--name', 'theirs']);
    assert.equal(kept.code, 1);
    assert.ok(existsSync(join(modules, 'theirs.module')));
    assert.equal(
      (await cli(['register', '--store', store, '--name', 'theirs', '--force'])).code,
      0,
    );
    assert.match(readFileSync(join(modules, 'theirs.module'), 'utf8'), /^remote: /m);
  });

  it('unregister removes our file; the store is untouched; a second unregister → exit 5', async () => {
    const r = await cli(['unregister', '--name', 'theirs']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Removed ${modules}/theirs.module \\(store ${store}\\)`));
    assert.ok(existsSync(store));
    const again = await cli(['unregister', '--name', 'theirs']);
    assert.equal(again.code, 5);
    assert.match(again.stderr, /no module file/);
  });

  it('refusals: a missing store → 7, memory: → 2, a bad --name → 2, --system without root → 1', async () => {
    const missing = await cli(['register', '--store', join(u.home, 'nope')]);
    assert.equal(missing.code, 7);
    assert.match(missing.stderr, /no token store/);
    assert.equal((await cli(['register', '--store', 'memory:'])).code, 2);
    const bad = await cli(['register', '--store', store, '--name', '../evil']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a module name/);
    const system = await cli(['register', '--store', store, '--system', '--name', 'sys']);
    assert.equal(system.code, 1);
    assert.match(system.stderr, /permission denied.*sudo/);
  });
});
