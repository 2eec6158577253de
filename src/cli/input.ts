/**
 * Command inputs (a file or stdin) read in chunks: files named with -i are opened before the token is,
 * so a missing one fails first; whole-file reads are bounded and the bound is stated; data to sign,
 * verify or hash is streamed through the token's multi-part calls in bounded memory, with progress on
 * a terminal for large inputs. Layer L9 (command line).
 * @module
 */
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import * as C from '../pkcs11/constants.js';
import { CliError, EXIT } from './errors.js';
import { progressMeter } from './output.js';

/** Bytes a streamed input is read in; the most the CLI holds of it at once. */
export const CHUNK_BYTES = 1 << 20;
/** An input that ends within this many bytes goes to the token in one call (C_Sign, C_Digest, …). */
export const ONE_PART_BYTES = 1 << 20;
/** The largest file `import` and `provision` read (PEM bundles, keys, certificates). */
export const MAX_CREDENTIAL_FILE = 16 << 20;
/** The largest signature file `verify` reads. */
export const MAX_SIGNATURE_FILE = 64 << 10;

export interface InputSource {
  /** The file name, or `(stdin)`. */
  name: string;
  /** The size when the input is a regular file. */
  size: number | undefined;
  stream: Readable;
}

const mib = (n: number) => `${n / (1 << 20)} MiB`;

function cannotRead(what: string, name: string, e: unknown): CliError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
  return new CliError(EXIT.INPUT, `cannot read ${what} ${name}: ${why}`);
}

/** Opens a file (or stdin for `-` / none) now, so a bad path fails before any token work (exit 3). */
export function openInput(path: string | undefined, what = 'input'): InputSource {
  if (path === undefined || path === '-') {
    return { name: '(stdin)', size: undefined, stream: process.stdin };
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw cannotRead(what, path, e);
  }
  const stat = fstatSync(fd);
  if (stat.isDirectory()) {
    closeSync(fd);
    throw cannotRead(what, path, Object.assign(new Error(), { code: 'EISDIR' }));
  }
  return {
    name: path,
    size: stat.isFile() ? stat.size : undefined,
    stream: createReadStream('', { fd, highWaterMark: CHUNK_BYTES }),
  };
}

function tooLarge(what: string, name: string, limit: number): CliError {
  return new CliError(
    EXIT.INPUT,
    `${what} ${name} is larger than ${mib(limit)}`,
    `${what}s are read whole, up to ${mib(limit)}`,
  );
}

/** All of an input, refused (exit 3) past `limit` bytes without reading more than that. */
export async function readAll(src: InputSource, what: string, limit: number): Promise<Buffer> {
  if (src.size !== undefined && src.size > limit) {
    src.stream.destroy();
    throw tooLarge(what, src.name, limit);
  }
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const part of src.stream) {
      length += (part as Buffer).length;
      if (length > limit) throw tooLarge(what, src.name, limit);
      parts.push(part as Buffer);
    }
  } catch (e) {
    src.stream.destroy();
    throw e instanceof CliError ? e : cannotRead(what, src.name, e);
  }
  return Buffer.concat(parts, length);
}

/** Opens and reads a whole file (or stdin), bounded by `limit`. */
export function readInput(path: string | undefined, what: string, limit: number): Promise<Buffer> {
  return readAll(openInput(path, what), what, limit);
}

/** The token calls that take an input whole or in parts (C_Sign or C_SignUpdate…C_SignFinal, …). */
export interface PartsCalls<T> {
  /** Starts the operation; `head` is the first part (RSA-PSS parameters are chosen from it). */
  init(head: Buffer): void;
  whole(data: Buffer): T;
  update(part: Buffer): void;
  final(): T;
}

export interface StreamOptions {
  /** What is being done, for the progress line and for messages: `signing`, `hashing`. */
  verb: string;
  /** The mechanism's name, for the message when it only takes one part. */
  mechanism: string;
  quiet: boolean;
}

/**
 * Feeds an input to the token: whole when it ends within ONE_PART_BYTES, else in chunks through the
 * multi-part calls, holding at most about 2 MiB of it. A mechanism that only takes one part
 * (CKM_ECDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_RSA_X_509: their input is a digest or a block made
 * for the key) is refused for a larger input with a message saying how to hash instead (exit 3).
 */
export async function streamInput<T>(
  src: InputSource,
  calls: PartsCalls<T>,
  options: StreamOptions,
): Promise<T> {
  const it = src.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    const head: Buffer[] = [];
    let headLength = 0;
    let next = await it.next();
    while (!next.done && headLength <= ONE_PART_BYTES) {
      head.push(next.value);
      headLength += next.value.length;
      next = await it.next();
    }
    const first = Buffer.concat(head, headLength);
    calls.init(first);
    if (next.done) return calls.whole(first);
    const meter = progressMeter(options.verb, src.size, options.quiet);
    try {
      updateFirst(calls, first, options);
      let done = headLength;
      for (; !next.done; next = await it.next()) {
        calls.update(next.value);
        done += next.value.length;
        meter(done);
      }
    } finally {
      meter(-1);
    }
    return calls.final();
  } catch (e) {
    src.stream.destroy();
    if (e instanceof Error && 'errno' in e && 'syscall' in e)
      throw cannotRead('input', src.name, e);
    throw e;
  }
}

function updateFirst<T>(calls: PartsCalls<T>, first: Buffer, options: StreamOptions): void {
  try {
    calls.update(first);
  } catch (e) {
    if ((e as { code?: unknown }).code !== C.CKR_FUNCTION_NOT_SUPPORTED) throw e;
    throw new CliError(
      EXIT.INPUT,
      `${options.mechanism} takes its input in one part (a digest, or a block made for the key), ` +
        `at most ${mib(ONE_PART_BYTES)}; this input is larger`,
      'let the token hash it: -m ECDSA-SHA256, SHA256-RSA-PKCS or SHA256-RSA-PKCS-PSS',
      C.CKR_FUNCTION_NOT_SUPPORTED,
    );
  }
}
