import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs, {
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { selfHolder, tagOf, tempMark } from '../../../../src/adapters/fs-common/holder.js';
import { createFilePal, fileNameOf } from '../../../../src/adapters/pal-file/index.js';
import { RESERVE_BYTES, RESERVE_NAME } from '../../../../src/adapters/pal-file/reserve.js';
import { PKCS11 } from '../../../../src/create.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import * as C from '../../../../src/pkcs11/constants.js';
import { palConformance } from '../../storage/pal-conformance.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'corepkcs11-pal-file-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);

describe('file PAL', () => {
  it('creates the directory 0700 and every object file 0600', () => {
    const dir = join(tempDir(), 'store');
    const pal = createFilePal(dir);
    pal.initialize();
    pal.saveObject('Device Priv TLS Key', bytes('secret'), true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  });

  it('saves, finds, reads, overwrites and destroys by label; unknown handles → CKR_OBJECT_HANDLE_INVALID', () => {
    const pal = createFilePal(tempDir());
    pal.initialize();
    const h = pal.saveObject('a/b:c', bytes('one'), false);
    assert.equal(pal.findObject('a/b:c'), h);
    assert.equal(pal.findObject('missing'), 0);
    assert.equal(pal.saveObject('a/b:c', bytes('two'), true), h);
    const v = pal.getObjectValue(h);
    assert.deepEqual(v, { data: bytes('two'), isPrivate: true });
    pal.getObjectValueCleanup(v);
    assert.deepEqual(v.data, new Uint8Array(3));
    pal.destroyObject(h);
    assert.equal(pal.findObject('a/b:c'), 0);
    assert.throws(
      () => pal.getObjectValue(h),
      (e) => isPkcs11Error(e, C.CKR_OBJECT_HANDLE_INVALID),
    );
    assert.throws(
      () => pal.destroyObject(999),
      (e) => isPkcs11Error(e, C.CKR_OBJECT_HANDLE_INVALID),
    );
  });

  it('maps labels to safe file names (no path separators, no dot files)', () => {
    for (const label of ['../../etc/passwd', '.hidden', 'a\\b', 'ünï', '']) {
      const name = fileNameOf(label);
      assert.ok(!name.includes('/') && !name.includes('\\') && !name.startsWith('.'), name);
    }
  });

  it('removes temp files of dead writers at initialize and keeps those of live ones', () => {
    const dir = tempDir();
    const gone = Number(spawnSync(process.execPath, ['-p', 'process.pid']).stdout.toString());
    const dead = tagOf({ ...selfHolder(), procPid: gone, pid: gone });
    writeFileSync(join(dir, '.x.obj.tmp-999999999-abc'), 'torn by an older version');
    writeFileSync(join(dir, `.z.obj.tmp-${dead}-abc`), 'torn');
    writeFileSync(join(dir, `.y.obj.tmp-${process.pid}-abc`), 'in progress, older version');
    writeFileSync(join(dir, `.w.obj${tempMark()}abc`), 'in progress');
    createFilePal(dir).initialize();
    assert.deepEqual(
      readdirSync(dir)
        .filter((n) => n !== '.reserve')
        .sort(),
      [`.w.obj${tempMark()}abc`, `.y.obj.tmp-${process.pid}-abc`],
    );
  });

  it('keeps a 64 KiB reserve, made by the first write and not by opening (reading writes nothing)', () => {
    const dir = tempDir();
    createFilePal(dir).initialize();
    assert.deepEqual(readdirSync(dir), []);
    const pal = createFilePal(dir);
    pal.initialize();
    pal.saveObject('one', bytes('1'), false);
    assert.equal(statSync(join(dir, RESERVE_NAME)).size, RESERVE_BYTES);
    assert.equal(statSync(join(dir, RESERVE_NAME)).mode & 0o777, 0o600);
  });

  it('breaks a lock left by a dead process', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.lock'), '999999999');
    const pal = createFilePal(dir, { lockTimeoutMs: 2000 });
    pal.initialize();
    assert.equal(
      pal.exclusive?.(() => 42),
      42,
    );
  });

  it('times out on a lock held by a live process → CKR_DEVICE_ERROR', () => {
    const dir = tempDir();
    symlinkSync(`${tagOf(selfHolder())}.another`, join(dir, '.lock'));
    const pal = createFilePal(dir, { lockTimeoutMs: 100 });
    assert.throws(
      () => pal.exclusive?.(() => 1),
      (e) => isPkcs11Error(e, C.CKR_DEVICE_ERROR),
    );
  });
});

const child = fileURLToPath(new URL('../../../fixtures/create-objects.js', import.meta.url));

function run(dir: string, tag: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, tag, String(count)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`child ${tag} exited ${code}: ${err}`)),
    );
  });
}

/** Runs `fn` counting fsync calls on directories and on files (the port imports fsyncSync by name). */
function countingFsyncs(fn: () => void): { dirs: number; files: number } {
  const counts = { dirs: 0, files: 0 };
  const original = fs.fsyncSync;
  fs.fsyncSync = (fd: number) => {
    if (fs.fstatSync(fd).isDirectory()) counts.dirs++;
    else counts.files++;
    original(fd);
  };
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
  return counts;
}

/** A process's first write also makes the store's reserve (reserve.ts): done before counting fsyncs. */
function madeReserve(pal: ReturnType<typeof createFilePal>): void {
  pal.destroyObject(pal.saveObject('first write', bytes('f'), false));
}

describe('file PAL durability', () => {
  it('outside a section every save and destroy syncs its file and the directory', () => {
    const pal = createFilePal(tempDir());
    pal.initialize();
    madeReserve(pal);
    const counts = countingFsyncs(() => {
      const h = pal.saveObject('one', bytes('1'), false);
      pal.saveObject('two', bytes('2'), false);
      pal.destroyObject(h);
    });
    assert.deepEqual(counts, { dirs: 3, files: 2 });
  });

  it('inside exclusive() each file is synced and the directory once, when the outermost section ends', () => {
    const pal = createFilePal(tempDir());
    pal.initialize();
    madeReserve(pal);
    let inside: { dirs: number; files: number } | undefined;
    const counts = countingFsyncs(() => {
      pal.exclusive?.(() => {
        pal.saveObject('one', bytes('1'), false);
        pal.exclusive?.(() => pal.saveObject('two', bytes('2'), false));
        pal.destroyObject(pal.findObject('one'));
        inside = countingFsyncs(() => pal.saveObject('three', bytes('3'), false));
      });
    });
    assert.deepEqual(inside, { dirs: 0, files: 1 });
    assert.deepEqual(counts, { dirs: 1, files: 3 });
    assert.equal(pal.findObject('one'), 0);
    assert.notEqual(pal.findObject('three'), 0);
  });

  it('a section that throws still syncs what it did, then releases the lock', () => {
    const dir = tempDir();
    const pal = createFilePal(dir);
    pal.initialize();
    madeReserve(pal);
    const counts = countingFsyncs(() => {
      assert.throws(() =>
        pal.exclusive?.(() => {
          pal.saveObject('kept', bytes('k'), false);
          throw new Error('boom');
        }),
      );
    });
    assert.deepEqual(counts, { dirs: 1, files: 1 });
    assert.ok(!readdirSync(dir).includes('.lock'));
    assert.equal(
      pal.exclusive?.(() => 'again'),
      'again',
    );
  });

  it('a section with nothing written syncs nothing', () => {
    const pal = createFilePal(tempDir());
    pal.initialize();
    madeReserve(pal);
    pal.saveObject('x', bytes('x'), false);
    const counts = countingFsyncs(() => pal.exclusive?.(() => pal.findObject('x')));
    assert.deepEqual(counts, { dirs: 0, files: 0 });
  });
});

describe('file PAL shared by processes', () => {
  it('loses no object when three processes create objects in one directory at once', async () => {
    const dir = tempDir();
    await Promise.all([run(dir, 'a', 40), run(dir, 'b', 40), run(dir, 'c', 40)]);
    const p11 = new PKCS11(dir, { pinIterations: 10, allowWeakPinIterations: true });
    p11.C_Initialize();
    const [slot] = p11.C_GetSlotList(true);
    const s = p11.C_OpenSession(slot as Buffer, C.CKF_SERIAL_SESSION);
    p11.C_FindObjectsInit(s, [{ type: C.CKA_CLASS, value: C.CKO_DATA }]);
    const found = p11.C_FindObjects(s, 1000);
    p11.C_FindObjectsFinal(s);
    const labels = found.map((h) =>
      String(p11.C_GetAttributeValue(s, h, [{ type: C.CKA_LABEL }])[0]?.value),
    );
    assert.equal(new Set(labels).size, 120);
    for (const tag of ['a', 'b', 'c'])
      for (let i = 0; i < 40; i++) assert.ok(labels.includes(`${tag}-${i}`));
    p11.C_Finalize();
    p11.close();
  });

  it('shows objects another process created after the next C_Initialize', async () => {
    const dir = tempDir();
    const p11 = new PKCS11(dir, { pinIterations: 10, allowWeakPinIterations: true });
    p11.C_Initialize();
    const count = () => {
      const [slot] = p11.C_GetSlotList(true);
      const s = p11.C_OpenSession(slot as Buffer, C.CKF_SERIAL_SESSION);
      p11.C_FindObjectsInit(s, [{ type: C.CKA_CLASS, value: C.CKO_DATA }]);
      const n = p11.C_FindObjects(s, 100).length;
      p11.C_FindObjectsFinal(s);
      return n;
    };
    assert.equal(count(), 0);
    await run(dir, 'late', 3);
    p11.C_Finalize();
    p11.C_Initialize();
    assert.equal(count(), 3);
    p11.C_Finalize();
    p11.close();
  });
});

palConformance('file', () => {
  const dir = tempDir();
  return {
    pal: createFilePal(dir),
    reopen: () => createFilePal(dir),
    unbounded:
      'a directory is bounded by its file system: full-disk.test.ts fills a tmpfs in a mount namespace instead',
  };
});
