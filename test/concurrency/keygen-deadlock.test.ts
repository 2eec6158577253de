/**
 * The flake of issue 10: a test process stuck at startup with no CPU and no output. gdb on a hung one
 * showed its main thread blocked on a mutex inside node:crypto: KeyObjectHandle::ExportJWK holds the
 * key's lock, a string it allocates triggers a garbage collection, the collection frees the finished
 * generateKeyPairSync job, and that job's destructor (~KeyPairGenConfig) takes the same, non-recursive
 * lock. Any KeyObject that comes straight out of generateKeyPair(Sync) and is exported as JWK can hang
 * a Node 20 process this way: the token's RSA key generation did (src/adapters/crypto-node/rsa.ts), as
 * do the test helpers that make key material.
 *
 * The child below makes the collection land inside the export: before each key it fills the young
 * generation until a chosen number of bytes is left, sweeping that number across the window the
 * generation and the export allocate in. Before the fix it hung within about a hundred keys.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const RSA_MODULE = new URL('../../src/adapters/crypto-node/rsa.js', import.meta.url).href;

const CHILD = `
  import { getHeapSpaceStatistics } from 'node:v8';
  const { generateRsa, generateRsaAsync } = await import(process.argv[1]);
  const keys = Number(process.argv[2]);
  const e = Uint8Array.of(1, 0, 1);
  const free = () =>
    getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_available_size;
  let keep;
  for (let i = 0; i < keys; i++) {
    const leave = (i * 97) % 24000;
    let now = free();
    for (let steps = 0; now > leave + 256 && steps < 5000; steps++) {
      keep = new Array(Math.min(1000, Math.max(1, ((now - leave) / 16) | 0))).fill(i);
      const after = free();
      if (after > now) break;
      now = after;
    }
    if (i % 16 === 15) await generateRsaAsync(512, e);
    else generateRsa(512, e);
    if (i % 20 === 0) process.stdout.write(i + '\\n');
  }
  process.stdout.write('done ' + String(keep.length > 0) + '\\n');
`;

/** Runs the child for `keys` keys; a child still running after `budgetMs` is killed and counts as hung. */
function generate(keys: number, budgetMs: number): Promise<{ reached: string; hung: boolean }> {
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=1',
      '--min-semi-space-size=1',
      '--input-type=module',
      '-e',
      CHILD,
      RSA_MODULE,
      String(keys),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs);
    child.on('close', () => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      resolve({ reached: last, hung: !last.startsWith('done') });
    });
  });
}

describe('RSA key generation under garbage collection (the startup-hang flake)', () => {
  it('generates keys while collections land inside the export: no deadlock', {
    timeout: 90_000,
  }, async () => {
    const keys = Number(process.env.KEYGEN_DEADLOCK_KEYS ?? 400);
    const r = await generate(keys, 15_000 + keys * 25);
    assert.equal(r.hung, false, `the child deadlocked (last key reached: ${r.reached})`);
  });
});
