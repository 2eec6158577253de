import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createFlashPal } from '../../../../src/adapters/pal-flash/index.js';
import { Model, type Op } from './harness.js';

const GEOMETRY = { sectorSize: 4096, pageSize: 256, sectorCount: 8, writeSize: 8 };
const PAL_MODULE = fileURLToPath(
  new URL('../../../../src/adapters/pal-flash/index.js', import.meta.url),
);
const HARNESS = fileURLToPath(new URL('./harness.js', import.meta.url));

/** Operation i of the endless loop the child runs (the parent rebuilds it from the index). */
function opAt(i: number): Op {
  const label = `corepkcs11.obj.${i % 9}`;
  return i % 11 === 10
    ? { kind: 'destroy', label }
    : { kind: 'save', label, size: 300 + ((i * 613) % 1500), fill: i, isPrivate: i % 2 === 0 };
}

const CHILD = `
import { createFlashPal } from ${JSON.stringify(PAL_MODULE)};
import { apply } from ${JSON.stringify(HARNESS)};
const [path, start] = process.argv.slice(1);
const pal = createFlashPal({ path, geometry: ${JSON.stringify(GEOMETRY)} });
pal.initialize();
const opAt = ${opAt.toString()};
for (let i = Number(start); ; i++) {
  process.stdout.write('begin ' + i + '\\n');
  apply(pal, opAt(i));
  process.stdout.write('ack ' + i + '\\n');
}
`;

/** Runs the child until it has acknowledged a few operations more, then kills it with SIGKILL. */
function runAndKill(path: string, start: number, extra: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      CHILD,
      path,
      String(start),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if ((out.match(/^ack /gm)?.length ?? 0) >= extra) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    // 'close', not 'exit': at 'exit' lines the child wrote may still sit unread in the pipe, and an
    // operation begun but never seen here looks like a value from nowhere (the 1-in-20 flake).
    child.on('close', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(out);
      else reject(new Error(`child exited without being killed: ${err}`));
    });
  });
}

describe('flash PAL: image file after SIGKILL', () => {
  it('a process killed during a loop of saves and destroys leaves every acknowledged object intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pal-flash-kill-'));
    try {
      const path = join(dir, 'device.img');
      const model = new Model();
      let next = 0;
      for (let round = 0; round < 6; round++) {
        const out = await runAndKill(path, next, 40 + round * 37);
        // The text after the last newline may be a cut-off line: ignore it.
        for (const line of out.split('\n').slice(0, -1)) {
          const [what, n] = line.split(' ');
          if (what === 'begin') model.begin(opAt(Number(n)));
          if (what === 'ack') model.ack(opAt(Number(n)));
          if (what === 'begin' || what === 'ack') next = Number(n) + 1;
        }
        const pal = createFlashPal({ path, geometry: GEOMETRY });
        model.check(pal, `after kill ${round}`);
        pal.close();
      }
      assert.ok(next > 200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
