/**
 * The store lock (issue 16 §2): a lock whose holder is dead is broken at once — a killed process, pid 1
 * of a killed PID namespace (every container), a pid since reused by an unrelated process — and one
 * whose holder runs is never broken, however old. Holders that cannot be checked from here (another
 * kernel) are judged by the lock's age. Real processes, real namespaces (`unshare`); tests needing a
 * facility the machine lacks say why they skip.
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  lstatSync,
  lutimesSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTag, selfHolder, tagOf } from '../../../../src/adapters/fs-common/holder.js';
import { acquireLock } from '../../../../src/adapters/fs-common/lock.js';
import { assertRv, C } from '../../../helpers/token.js';

const CHILD = fileURLToPath(new URL('../../../fixtures/lock-child.js', import.meta.url));
const dirs: string[] = [];
function lockPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-lock-'));
  dirs.push(dir);
  return join(dir, '.lock');
}
const children: ChildProcess[] = [];
after(() => {
  // a holder behind unshare is its child: kill it first, or its pipes keep this file running
  for (const c of children) spawnSync('pkill', ['-KILL', '-P', String(c.pid)]);
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Whether `path` exists, as itself (a lock is a symbolic link to nowhere). */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const onlyLockLeft = (path: string) =>
  assert.deepEqual(readdirSync(join(path, '..')), exists(path) ? ['.lock'] : []);

/** Sets the lock's time (not its target's) to `ms` from now. */
const age = (path: string, ms: number) => {
  const t = (Date.now() - ms) / 1000;
  lutimesSync(path, t, t);
};

/** Runs the lock-child fixture holding `path` (behind `prefix`, e.g. unshare); resolves once it holds. */
function holder(path: string, prefix: string[] = []) {
  const argv = [...prefix, process.execPath, CHILD, 'hold', path];
  // stderr kept: unshare complains when its child is killed ("sigprocmask unblock failed")
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  children.push(child);
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  type Held = { pid: number; procPid: number; spawned: number; exited: Promise<void> };
  return new Promise<Held>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^locked (\d+) (\d+)$/m.exec(out);
      if (m) resolve({ pid: Number(m[1]), procPid: Number(m[2]), spawned: child.pid ?? 0, exited });
    });
    child.once('close', (code) =>
      reject(new Error(`holder ended (${code}) before locking: ${out}${err}`)),
    );
  });
}

/** Why `unshare` with `args` cannot run here, or false when it can. */
function unshareMissing(args: string[]): string | false {
  const r = spawnSync('unshare', [...args, 'true'], { encoding: 'utf8' });
  if (r.error) return `unshare cannot run here: ${r.error.message}`;
  return r.status === 0
    ? false
    : `unshare ${args.join(' ')} is not permitted here: ${r.stderr.trim()}`;
}
const asRoot = process.getuid?.() === 0;
/** A user namespace mapping us to root where we are not root already (no privilege needed). */
const userNs = asRoot ? [] : ['-r'];
const PID_NS = [...userNs, '--pid', '--fork', '--kill-child'];
const noPidNs = unshareMissing(PID_NS);
const CONTAINER = [...userNs, '--pid', '--fork', '--mount-proc', '--kill-child'];
const noContainer = unshareMissing(CONTAINER);
const notInitNs =
  selfHolder().pidNs === 0xeffffffc
    ? false
    : 'this process is not in the initial PID namespace: a holder behind its own /proc is judged by age here';

describe('the store lock', () => {
  it('is a symbolic link naming its holder, removed on release, leaving no temp file → CKR_OK', () => {
    const path = lockPath();
    const lock = acquireLock(path, 1000);
    const target = readlinkSync(path);
    assert.ok(target.startsWith(`${tagOf(selfHolder())}.`), target);
    assert.ok(target.length < 60, `${target.length} bytes: too long to live in an ext4 inode`);
    assert.equal(parseTag(tagOf(selfHolder()))?.pid, process.pid);
    onlyLockLeft(path);
    lock.release();
    assert.equal(exists(path), false);
  });

  it('held by a live owner: a second taker waits, then times out → CKR_DEVICE_ERROR', () => {
    const path = lockPath();
    const lock = acquireLock(path, 1000);
    assertRv(() => acquireLock(path, 50), C.CKR_DEVICE_ERROR);
    lock.release();
    acquireLock(path, 50).release();
  });

  it('held by a live process for an hour: never broken for being old → CKR_DEVICE_ERROR', async () => {
    const path = lockPath();
    await holder(path);
    age(path, 3_600_000);
    assertRv(() => acquireLock(path, 300), C.CKR_DEVICE_ERROR);
  });

  it('left by a killed process is broken at once → CKR_OK', async () => {
    const path = lockPath();
    const h = await holder(path);
    process.kill(h.procPid, 'SIGKILL');
    await h.exited;
    const lock = acquireLock(path, 200);
    assert.equal(parseTag(readlinkSync(path).replace(/\.[0-9a-z]+$/, ''))?.pid, process.pid);
    onlyLockLeft(path);
    lock.release();
  });

  it('left by pid 1 of a PID namespace that was killed (unshare --pid --fork) is broken at once → CKR_OK', {
    skip: noPidNs,
  }, async () => {
    const path = lockPath();
    const h = await holder(path, ['unshare', ...PID_NS]);
    assert.equal(h.pid, 1, "the holder is pid 1 of its namespace, like a container's main process");
    process.kill(h.procPid, 'SIGKILL');
    await h.exited;
    acquireLock(path, 200).release();
  });

  it('left by pid 1 of a killed container with its own /proc (unshare --mount-proc) is broken at once → CKR_OK', {
    skip: noContainer || notInitNs,
  }, async () => {
    const path = lockPath();
    const h = await holder(path, ['unshare', ...CONTAINER]);
    assert.equal(h.pid, 1);
    assert.equal(h.procPid, 1, 'the holder sees only its own /proc');
    // the holder is the child of `unshare` (the process we started)
    const r = spawnSync('pkill', ['-KILL', '-P', String(h.spawned)]);
    assert.equal(r.status, 0, 'the holder was found and killed');
    await h.exited;
    acquireLock(path, 200).release();
  });

  it('held by pid 1 of a live container with its own /proc: not broken → CKR_DEVICE_ERROR', {
    skip: noContainer || notInitNs,
  }, async () => {
    const path = lockPath();
    await holder(path, ['unshare', ...CONTAINER]);
    age(path, 3_600_000);
    assertRv(() => acquireLock(path, 300), C.CKR_DEVICE_ERROR);
  });

  it('left by a process whose pid now belongs to an unrelated live process (pid reuse) is broken at once → CKR_OK', {
    skip: noContainer,
  }, () => {
    const path = lockPath();
    const out = join(path, '..', 'holder.out');
    // In a fresh PID namespace: the holder locks and is killed, ns_last_pid makes the next process
    // (a sleep) get the holder's pid, then a taker in the same namespace tries the lock.
    const script = [
      `"$NODE" "$CHILD" hold "$LOCK" > "$OUT" & h=$!`,
      'i=0; until grep -q locked "$OUT"; do sleep 0.05; i=$((i+1)); [ $i -lt 1200 ] || exit 3; done',
      'kill -9 $h; wait $h 2>/dev/null',
      'echo $((h-1)) > /proc/sys/kernel/ns_last_pid || exit 5',
      'sleep 60 & s=$!',
      '[ "$s" = "$h" ] || { echo "pid not reused: $h, then $s"; kill $s; exit 4; }',
      'echo "reused $s"',
      `"$NODE" "$CHILD" take "$LOCK" 300; kill $s`,
    ].join('\n');
    const r = spawnSync('unshare', [...CONTAINER, 'sh', '-c', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE: process.execPath, CHILD, LOCK: path, OUT: out },
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^reused \d+$/m);
    assert.match(r.stdout, /^taken$/m, r.stdout);
  });

  it("an older version's lock naming a live pid (pid 1) is not broken while fresh → CKR_DEVICE_ERROR; once old → CKR_OK", () => {
    const path = lockPath();
    writeFileSync(path, '1 abc');
    const future = (Date.now() + 3_600_000) / 1000;
    utimesSync(path, future, future); // kept fresh, as by a heartbeat
    assertRv(() => acquireLock(path, 50, { unknownStaleMs: 300 }), C.CKR_DEVICE_ERROR);
    age(path, 1000);
    const lock = acquireLock(path, 50, { unknownStaleMs: 300 });
    onlyLockLeft(path);
    lock.release();
  });

  it('held on another kernel (a host sharing the file system): kept while fresh → CKR_DEVICE_ERROR naming it; broken once untouched → CKR_OK', () => {
    const path = lockPath();
    const boot = selfHolder().boot === '0123456789ab' ? 'ba9876543210' : '0123456789ab';
    const remote = { ...selfHolder(), boot };
    symlinkSync(`${tagOf(remote)}.xyz`, path);
    const future = (Date.now() + 3_600_000) / 1000;
    lutimesSync(path, future, future);
    try {
      acquireLock(path, 50, { unknownStaleMs: 300 });
      assert.fail('a fresh lock of an unknown holder was broken');
    } catch (e) {
      assertRv(() => {
        throw e;
      }, C.CKR_DEVICE_ERROR);
      assert.match(String((e as { detail?: string }).detail), /under another kernel/);
    }
    age(path, 1000);
    acquireLock(path, 50, { unknownStaleMs: 300 }).release();
  });

  it("the holder's heartbeat keeps its lock fresh", () => {
    const path = lockPath();
    const lock = acquireLock(path, 50, { heartbeatMs: 0 });
    age(path, 3_600_000);
    lock.heartbeat();
    assert.ok(
      Date.now() - lstatSync(path).mtimeMs < 60_000,
      'the heartbeat moved the lock time to now',
    );
    lock.release();
  });

  it('an empty lock file (a crash between create and write) is broken once stale, not while fresh', () => {
    const path = lockPath();
    writeFileSync(path, '');
    assertRv(() => acquireLock(path, 50), C.CKR_DEVICE_ERROR);
    age(path, 60_000);
    const lock = acquireLock(path, 50);
    onlyLockLeft(path);
    lock.release();
    assert.equal(exists(path), false);
  });

  it('release leaves alone a lock that is no longer ours (broken and retaken by another)', () => {
    const path = lockPath();
    const lock = acquireLock(path, 1000);
    rmSync(path);
    symlinkSync(`${tagOf(selfHolder())}.someoneelse`, path);
    lock.release();
    assert.equal(readlinkSync(path), `${tagOf(selfHolder())}.someoneelse`);
  });
});
