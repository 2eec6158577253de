/**
 * PEM (RFC 7468) ⇄ DER: every `-----BEGIN X-----` block of a text, strictly base64-decoded, and PEM
 * output in 64-column lines. Legacy OpenSSL headers (Proc-Type, DEK-Info) are kept so callers can say
 * why an old-style encrypted key cannot be read. Layer L7.
 * @module
 */
import { badInput } from './module.js';

export interface PemBlock {
  /** The label after BEGIN, e.g. 'CERTIFICATE', 'PRIVATE KEY'. */
  label: string;
  /** RFC 1421 headers inside the block (legacy encrypted keys), lower-cased names. */
  headers: Map<string, string>;
  der: Uint8Array;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Strict base64 (RFC 4648 §4, padding required, no stray characters); throws on anything else. */
export function base64Decode(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new RangeError('base64 length is not a multiple of 4');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let acc = 0;
    for (let j = 0; j < 4; j++) {
      const ch = text.charCodeAt(i + j);
      const last = i + 4 === text.length;
      let v = ch < 128 ? (DECODE[ch] as number) : -1;
      if (ch === 61 /* = */ && last && j >= 4 - pad) v = 0;
      if (v < 0) throw new RangeError(`invalid base64 character at ${i + j}`);
      acc = acc * 64 + v;
    }
    const bytes = [acc >>> 16, (acc >>> 8) & 0xff, acc & 0xff];
    for (const b of bytes) if (o < out.length) out[o++] = b;
    // Non-zero bits under the padding would make two texts decode to the same bytes.
    if (i + 4 === text.length && pad > 0 && (acc & (pad === 2 ? 0xffff : 0xff)) !== 0) {
      throw new RangeError('non-canonical base64 padding');
    }
  }
  return out;
}

export function base64Encode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    s += ALPHABET[n >>> 18];
    s += ALPHABET[(n >>> 12) & 63];
    s += b === undefined ? '=' : ALPHABET[(n >>> 6) & 63];
    s += c === undefined ? '=' : ALPHABET[n & 63];
  }
  return s;
}

/** True when the input is text holding a PEM BEGIN line (rather than binary DER). */
export function looksLikePem(input: Uint8Array | string): boolean {
  const text =
    typeof input === 'string' ? input : new TextDecoder('latin1').decode(input.subarray(0, 65536));
  return /-----BEGIN [^-\r\n]*-----/.test(text);
}

const BEGIN = /^-----BEGIN ([A-Z0-9 #-]*)-----$/;

/**
 * Every PEM block in `text`, in order; text outside the blocks (comments, `openssl x509 -text` output)
 * is ignored as RFC 7468 allows. A malformed block is CKR_ARGUMENTS_BAD naming the line.
 */
export function decodePem(text: string): PemBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec((lines[i] as string).trim());
    if (!begin) continue;
    const label = begin[1] as string;
    const start = i + 1;
    const headers = new Map<string, string>();
    let body = '';
    let end = -1;
    for (let j = start; j < lines.length; j++) {
      const line = (lines[j] as string).trim();
      if (line.startsWith('-----END ')) {
        if (line !== `-----END ${label}-----`) {
          throw badInput(`PEM line ${j + 1}: '${line}' does not close BEGIN ${label}`);
        }
        end = j;
        break;
      }
      const header = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (header && body === '') headers.set((header[1] as string).toLowerCase(), header[2] ?? '');
      else body += line.replace(/\s+/g, '');
    }
    if (end < 0) throw badInput(`PEM block ${label} starting at line ${i + 1} has no END line`);
    let der: Uint8Array;
    try {
      der = base64Decode(body);
    } catch (e) {
      throw badInput(`PEM block ${label} at line ${i + 1}: ${(e as Error).message}`);
    }
    if (der.length === 0) throw badInput(`PEM block ${label} at line ${i + 1} is empty`);
    blocks.push({ label, headers, der });
    i = end;
  }
  return blocks;
}

/** A PEM block with 64-character lines and a final newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = base64Encode(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
