import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { baseEnv, CLI_PATH, cli } from '../../e2e/cli-harness.js';
import { scratch } from '../helpers/openssl.js';

/** util-linux `script` gives the CLI a pseudo-terminal, as a user's shell would. */
const NO_PTY =
  spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script is not installed';

/** Runs the CLI on a pty; types `answer` when `prompt` appears. */
function onTerminal(
  args: string[],
  cwd: string,
  prompt: string,
  answer: string,
): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI_PATH, ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env: baseEnv() });
  let output = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (!typed && output.includes(prompt)) {
      typed = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? -1, output })),
  );
}

describe('PIN prompt on a terminal', { skip: NO_PTY }, () => {
  it('asks for the user PIN without echoing it, then logs in', async () => {
    const tmp = scratch('corepkcs11-tty-');
    try {
      const init = cli(
        [
          'init-token',
          '--store',
          'tok',
          '--label',
          'tty',
          '--so-pin',
          '87654321',
          '--pin',
          '97531',
        ],
        { cwd: tmp.dir },
      );
      assert.equal(init.code, 0, init.stderr);
      const r = await onTerminal(['list', '-l', '--store', 'tok'], tmp.dir, 'User PIN: ', '97531');
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /^0 objects$/m);
      assert.ok(!r.output.includes('97531'), 'the PIN was echoed');
      const wrong = await onTerminal(
        ['list', '-l', '--store', 'tok'],
        tmp.dir,
        'User PIN: ',
        '11111',
      );
      assert.equal(wrong.code, 4, wrong.output);
    } finally {
      tmp.cleanup();
    }
  });
});
