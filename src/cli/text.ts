/**
 * Printing strings that come from a token or a file (labels, token fields, certificate subjects, file
 * names in messages) without letting them drive the terminal: control and invisible formatting
 * characters are shown as escapes, and table cells are cut to a fixed width. Every line the commands
 * print passes through `safeText` (output.ts does it for `say`, tables, warnings and errors), so a new
 * command is safe by using those; call it directly for anything written another way. Layer L9.
 * @module
 */

/**
 * What must never reach a terminal raw: C0 and C1 controls and DEL (ESC starts colour and cursor
 * sequences; CR and LF rewrite or break lines), Unicode format characters (bidi overrides such as
 * U+202E reorder what follows, zero-width characters make two labels look the same) and line/paragraph
 * separators.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0) as number;
  return cp < 0x100
    ? `\\x${cp.toString(16).padStart(2, '0')}`
    : `\\u{${cp.toString(16).padStart(4, '0')}}`;
}

/**
 * `text` with every unsafe character written as `\xNN` (below U+0100) or `\u{NNNN}`: `c\x1b[31mRED`
 * for a label holding ESC. Printable text, backslashes included, is left as it is, so applying it
 * twice changes nothing; the exact value is in `--json` output and in the object's URI.
 */
export function safeText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Characters a table cell shows before it is cut (`--wide` shows every cell whole). */
export const CELL_WIDTH = 40;
/** Characters an ID column shows: the hex of a 32-byte CKA_ID, whole. */
export const ID_WIDTH = 64;

/**
 * A table cell: safe, and at most `width` characters, the last one `…` when it was cut (never inside
 * an escape: `\x1b` is shown whole or not at all).
 */
export function cell(text: string, width: number = CELL_WIDTH): string {
  const pieces = Array.from(text, (ch) => safeText(ch));
  let length = 0;
  for (const piece of pieces) length += charLength(piece);
  if (length <= width) return pieces.join('');
  let out = '';
  let used = 0;
  for (const piece of pieces) {
    const n = charLength(piece);
    if (used + n > width - 1) break;
    out += piece;
    used += n;
  }
  return `${out}…`;
}

/** Length in characters (code points), as tables pad them. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * JSON text with the characters JSON.stringify leaves raw but a terminal acts on (DEL, C1 controls,
 * format characters, separators) written as `\uNNNN`; it parses back to the same value.
 */
export function safeJson(json: string): string {
  return json.replace(UNSAFE, (ch) => {
    const cp = ch.codePointAt(0) as number;
    // JSON.stringify escapes every C0 control inside strings: a raw newline is indentation.
    if (ch === '\n') return ch;
    if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
    // Astral format characters (U+E0001 tags…): a surrogate pair of escapes.
    const hi = 0xd800 + ((cp - 0x10000) >> 10);
    const lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    return `\\u${hi.toString(16)}\\u${lo.toString(16)}`;
  });
}
