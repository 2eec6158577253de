import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPENSSL_MISSING, scratch } from '../unit/helpers/openssl.js';
import { baseEnv, cliWrapper } from './cli-harness.js';

const DOC = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url));

interface Step {
  command: string;
  expected: string[];
}

/** The `$ command` lines of docs/cli.md's console blocks, in order, each with the lines it prints. */
export function steps(markdown: string): Step[] {
  const out: Step[] = [];
  for (const m of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of (m[1] as string).split('\n').slice(0, -1)) {
      if (line.startsWith('$ ')) out.push({ command: line.slice(2), expected: [] });
      else out.at(-1)?.expected.push(line);
    }
  }
  return out;
}

const lineMatches = (pattern: string, line: string) =>
  new RegExp(
    `^${pattern
      .split('…')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  ).test(line);

/** Expected lines against actual ones; a line that is only `…` stands for any number of lines. */
export function matches(expected: string[], actual: string[]): boolean {
  const [e, ...restE] = expected;
  if (e === undefined) return actual.length === 0;
  if (e === '…')
    return actual.some((_, i) => matches(restE, actual.slice(i))) || matches(restE, []);
  const [a, ...restA] = actual;
  return a !== undefined && lineMatches(e, a) && matches(restE, restA);
}

describe('docs/cli.md: every example runs as shown', { skip: OPENSSL_MISSING }, () => {
  const tmp = scratch('corepkcs11-docs-');
  const env = { ...baseEnv(), PATH: `${cliWrapper(tmp.dir)}:${process.env.PATH}` };
  after(() => tmp.cleanup());

  it('the matcher: … inside a line, and a line of … for any lines', () => {
    assert.ok(matches(['a …z', '…', 'end'], ['a xyz', '1', '2', 'end']));
    assert.ok(matches(['…'], []));
    assert.ok(!matches(['a …z'], ['a xy']));
    assert.ok(!matches(['x'], ['x', 'y']));
  });

  it('prints what the document says, command by command', () => {
    const all = steps(readFileSync(DOC, 'utf8'));
    assert.ok(all.length >= 25, `only ${all.length} example commands found`);
    // One shell for the whole document (exports carry over); a marker before each command's output.
    const script = ['exec 2>&1', ...all.map((s, i) => `echo '@@step ${i}@@'\n${s.command}`)];
    const r = spawnSync('bash', ['-c', script.join('\n')], {
      cwd: tmp.dir,
      env,
      encoding: 'utf8',
    });
    const outputs = r.stdout.split(/^@@step \d+@@\n/m).slice(1);
    assert.equal(outputs.length, all.length, r.stdout);
    for (const [i, step] of all.entries()) {
      const actual = (outputs[i] as string).split('\n');
      if (actual.at(-1) === '') actual.pop();
      assert.ok(
        matches(step.expected, actual),
        `$ ${step.command}\nexpected:\n${step.expected.join('\n')}\nactual:\n${actual.join('\n')}`,
      );
    }
  });
});
