import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROGRESS_FROM_BYTES, progressMeter, table } from '../../../src/cli/output.js';
import { CELL_WIDTH, cell, safeJson, safeText } from '../../../src/cli/text.js';

describe('safeText', () => {
  it('escapes C0, DEL, C1, bidi and zero-width characters and line separators; keeps the rest', () => {
    assert.equal(safeText('c\x1b[31mRED\n\r\t\x00\x7f'), 'c\\x1b[31mRED\\x0a\\x0d\\x09\\x00\\x7f');
    assert.equal(
      safeText('a\u009bb\u202ec\u200bd\u2028e\ufeff'),
      'a\\x9bb\\u{202e}c\\u{200b}d\\u{2028}e\\u{feff}',
    );
    assert.equal(
      safeText('Grüße, 日本, emoji 🔑, back\\slash'),
      'Grüße, 日本, emoji 🔑, back\\slash',
    );
    assert.equal(safeText('\u{e0041}'), '\\u{e0041}');
  });

  it('is idempotent: escaping twice changes nothing', () => {
    const once = safeText('x\x1b\u202ey');
    assert.equal(safeText(once), once);
  });
});

describe('cell', () => {
  it(`cuts at ${CELL_WIDTH} characters with an ellipsis, counting code points, after escaping`, () => {
    assert.equal(cell('a'.repeat(CELL_WIDTH)), 'a'.repeat(CELL_WIDTH));
    assert.equal(cell('a'.repeat(CELL_WIDTH + 1)), `${'a'.repeat(CELL_WIDTH - 1)}…`);
    assert.equal(cell('🔑'.repeat(50), 3), '🔑🔑…');
    assert.equal(cell('\x1b\x1b', 6), '\\x1b…');
  });
});

describe('table', () => {
  it('pads by characters, cuts long cells unless wide, and never lets a cell hold a raw control', () => {
    const rows = [
      ['é', 'x'.repeat(45), '01'],
      ['ab\n', 'y', 'ff'.repeat(40)],
    ];
    // Column A is 6 wide ('ab\x0a'), LABEL 40 (cut), then two spaces between columns.
    const sp = (n: number) => ' '.repeat(n);
    assert.deepEqual(table(['A', 'LABEL', 'ID'], rows), [
      `A${sp(5 + 2)}LABEL${sp(35 + 2)}ID`,
      `é${sp(5 + 2)}${'x'.repeat(39)}…${sp(2)}01`,
      `ab\\x0a${sp(2)}y${sp(39 + 2)}${'ff'.repeat(31)}f…`,
    ]);
    assert.equal(
      table(['A', 'LABEL', 'ID'], rows, true)[1],
      `é${sp(5 + 2)}${'x'.repeat(45)}${sp(2)}01`,
    );
  });
});

describe('safeJson', () => {
  it('escapes what JSON.stringify leaves raw (DEL, C1, bidi), keeps indentation, parses back', () => {
    const value = { label: 'a\u009b\u202e\x7f\x1b\n', n: [1, 2] };
    const text = safeJson(JSON.stringify(value, null, 2));
    assert.ok(!/[\u007f-\u009f\u202e]/.test(text));
    assert.ok(text.includes('\n  "n": [\n'));
    assert.deepEqual(JSON.parse(text), value);
    assert.deepEqual(JSON.parse(safeJson(JSON.stringify('\u{e0041}'))), '\u{e0041}');
  });
});

describe('progressMeter', () => {
  const fake = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (s: string) => written.push(s) > 0 } };
  };

  it(`writes on a terminal once ${PROGRESS_FROM_BYTES} bytes have gone through, and clears its line`, () => {
    const t = fake(true);
    const meter = progressMeter('hashing', 2 ** 30, false, t.stream);
    meter(PROGRESS_FROM_BYTES - 1);
    assert.deepEqual(t.written, []);
    meter(2 ** 29);
    meter(-1);
    assert.deepEqual(t.written, ['\r\x1b[Khashing 0.50 GiB of 1.00 GiB (50%)', '\r\x1b[K']);
  });

  it('is silent in a pipe and when quiet', () => {
    for (const [tty, quiet] of [
      [false, false],
      [true, true],
    ] as const) {
      const t = fake(tty);
      const meter = progressMeter('hashing', undefined, quiet, t.stream);
      meter(2 ** 30);
      meter(-1);
      assert.deepEqual(t.written, []);
    }
  });
});
