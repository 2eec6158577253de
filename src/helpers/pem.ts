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

/** Strict base64 (RFC 4648 §4, padding required, no stray characters); throws RangeError on anything else. */
export function base64Decode(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  // Buffer skips what it cannot read: only the one canonical spelling of the bytes it got is accepted,
  // so two texts never decode to the same bytes.
  if (bytes.toString('base64') !== text) throw new RangeError('not canonical base64 (RFC 4648 §4)');
  return new Uint8Array(bytes);
}

export function base64Encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
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
