import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CKR_BUFFER_TOO_SMALL, CKR_OK } from '../../../src/pkcs11/constants.js';
import { call, check, runGroups } from '../../../src/qualification/unity.js';

function capture() {
  let text = '';
  return {
    write: (s: string) => {
      text += s;
    },
    text: () => text,
  };
}

describe('Unity report', () => {
  it('prints PASS lines, the separator, the counts and OK when every test passes', async () => {
    const out = capture();
    const report = await runGroups(
      [
        {
          name: 'G',
          tests: [
            { group: 'G', name: 'A', run() {} },
            { group: 'G', name: 'B', async run() {} },
          ],
        },
      ],
      out.write,
    );
    assert.equal(
      out.text(),
      'TEST(G, A) PASS\nTEST(G, B) PASS\n\n-----------------------\n2 Tests 0 Failures 0 Ignored\nOK\n',
    );
    assert.deepEqual([report.tests, report.failures, report.ignored], [2, 0, 0]);
  });

  it('prints file:line::FAIL: message at the failing assertion and FAIL at the end', async () => {
    const out = capture();
    const report = await runGroups(
      [
        {
          name: 'G',
          tests: [
            {
              group: 'G',
              name: 'Broken',
              run() {
                check.that(false, 'Something went wrong.');
              },
            },
            { group: 'G', name: 'Fine', run() {} },
          ],
        },
      ],
      out.write,
    );
    const lines = out.text().split('\n');
    assert.match(
      lines[0] ?? '',
      /^TEST\(G, Broken\) unity\.test\.js:\d+::FAIL: Something went wrong\.$/,
    );
    assert.equal(lines[1], 'TEST(G, Fine) PASS');
    assert.deepEqual(lines.slice(2), [
      '',
      '-----------------------',
      '2 Tests 1 Failures 0 Ignored',
      'FAIL',
      '',
    ]);
    assert.equal(report.results[0]?.status, 'FAIL');
  });

  it('names expected and actual CKRs when a call returns the wrong code', async () => {
    const out = capture();
    await runGroups(
      [
        {
          name: 'G',
          tests: [
            {
              group: 'G',
              name: 'Rv',
              run() {
                const r = call(() => {
                  throw Object.assign(new Error('CKR_BUFFER_TOO_SMALL'), {
                    code: CKR_BUFFER_TOO_SMALL,
                  });
                });
                check.rv(CKR_OK, r, 'Digest failed.');
              },
            },
          ],
        },
      ],
      out.write,
    );
    assert.match(out.text(), /::FAIL: Digest failed\. Expected CKR_OK Was CKR_BUFFER_TOO_SMALL\n/);
  });

  it('reports only the first failure; teardown runs and an exception is a failure', async () => {
    const out = capture();
    let tornDown = 0;
    const report = await runGroups(
      [
        {
          name: 'G',
          teardown() {
            tornDown++;
            check.fail('teardown failure');
          },
          tests: [
            {
              group: 'G',
              name: 'Throws',
              run() {
                throw new TypeError('boom');
              },
            },
          ],
        },
      ],
      out.write,
    );
    assert.equal(tornDown, 1);
    assert.match(
      out.text(),
      /^TEST\(G, Throws\) \S+:\d+::FAIL: Unexpected exception TypeError: boom\n/,
    );
    assert.equal(report.failures, 1);
  });
});
