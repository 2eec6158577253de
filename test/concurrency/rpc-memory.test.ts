/**
 * Issue 16 §6: what half-sent frames cost the RPC server. Many connections each send half of a 16 MiB
 * request and stall; the server (a child process, so its resident memory is its own) must stay within its
 * memory budget plus a constant, make the rest wait instead of buffering them, and give the memory back
 * when the clients leave: a second round on the same server peaks no higher. Memory is read from
 * /proc/PID/status (VmHWM, the peak resident set), never timed.
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { socketDir } from '../unit/rpc/helpers/client.js';

const SERVER = fileURLToPath(new URL('../fixtures/rpc-memory-server.js', import.meta.url));
const MiB = 1024 * 1024;
const BUDGET = 40 * MiB;
/** What the server may use beyond the budget: Node's own growth, one read per connection, GC slack. */
const CONSTANT = 40 * MiB;
const CONNECTIONS = 48;
const BODY = 16 * MiB;
const SENT = 8 * MiB;

interface Stats {
  connections: number;
  waiting: number;
  bufferedBytes: number;
  budgetedBytes: number;
  arrayBuffers: number;
  waitLogs: number;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  assert.ok(m, `${field} of ${pid}`);
  return Number(m[1]) * 1024;
}

const supported = (() => {
  try {
    readFileSync('/proc/self/status');
    return false;
  } catch {
    return 'needs /proc (Linux) to read the server process resident memory';
  }
})();

describe('RPC server memory under stalled half-frames', { skip: supported }, () => {
  const dir = socketDir();
  let server: ChildProcess;
  const stats = (message = 'stats') =>
    new Promise<Stats>((resolve) => {
      server.once('message', (m) => resolve(m as Stats));
      server.send(message);
    });
  const until = async (
    cond: (s: Stats) => boolean,
    what: string,
    message = 'stats',
  ): Promise<Stats> => {
    let s = await stats(message);
    for (let i = 0; i < 1500 && !cond(s); i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = await stats(message);
    }
    assert.ok(cond(s), `${what}: ${JSON.stringify(s)}`);
    return s;
  };

  before(async () => {
    server = fork(SERVER, [dir.path, String(BUDGET)], {
      execArgv: ['--expose-gc'],
      stdio: 'inherit',
    });
    await new Promise((r) => server.once('message', r));
  });
  after(() => {
    server.kill('SIGKILL');
    dir.cleanup();
  });

  /** N connections, each the version byte, a header announcing BODY bytes, then SENT of them. */
  async function stall(): Promise<{ sockets: Socket[]; flushed: () => number }> {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(0x10, 1);
    header.writeUInt32BE(BODY, 9);
    const part = Buffer.alloc(SENT, 0x41); // one buffer shared by every write: the test stays small
    let flushed = 0;
    const sockets = await Promise.all(
      Array.from(
        { length: CONNECTIONS },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect(dir.path, () => resolve(s));
            s.on('error', () => {});
          }),
      ),
    );
    for (const s of sockets) {
      s.write(header);
      s.write(part, () => flushed++);
    }
    return { sockets, flushed: () => flushed };
  }

  async function round(): Promise<void> {
    const admitted = Math.floor(BUDGET / (BODY + 12));
    const { sockets, flushed } = await stall();
    const held = await until(
      (s) =>
        s.waiting === CONNECTIONS - admitted &&
        s.bufferedBytes >= admitted * SENT &&
        flushed() >= admitted,
      `${admitted} requests let in and read, the other ${CONNECTIONS - admitted} waiting`,
    );
    assert.ok(held.budgetedBytes <= BUDGET, `budget counts ${held.budgetedBytes}`);
    assert.ok(held.waitLogs >= CONNECTIONS - admitted, 'each wait is logged');
    for (const s of sockets) s.destroy();
    await until(
      (s) => s.connections === 0 && s.bufferedBytes === 0 && s.budgetedBytes === 0,
      'all given back',
    );
  }

  it(`${CONNECTIONS} connections × half of a 16 MiB request: peak RSS ≤ baseline + budget + constant, twice`, async () => {
    const base = await stats('gc');
    const baseline = status(server.pid as number, 'VmRSS');
    await round();
    const first = status(server.pid as number, 'VmHWM');
    // V8 frees the backing stores of collected ArrayBuffers on a background thread after the GC, and
    // process.memoryUsage() counts them until then: collect and read again until they are given back.
    await until(
      (s) => s.arrayBuffers <= base.arrayBuffers + 1 * MiB,
      `buffers returned after the clients left (${base.arrayBuffers} before)`,
      'gc',
    );
    await round();
    const second = status(server.pid as number, 'VmHWM');
    const bound = baseline + BUDGET + CONSTANT;
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    console.log(
      `# baseline ${mib(baseline)}, peak after round 1 ${mib(first)}, after round 2 ${mib(second)}, bound ${mib(bound)}`,
    );
    assert.ok(first <= bound, `round 1 peak ${mib(first)} > ${mib(bound)}`);
    assert.ok(
      second <= bound,
      `round 2 peak ${mib(second)} > ${mib(bound)}: memory was not reused`,
    );
  });
});
