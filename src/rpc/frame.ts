/**
 * p11-kit RPC framing (p11-kit rpc-transport.c): a 12-byte big-endian header (serial, options length, body length),
 * the options bytes (the client's module name, ignored) and the body. The decoder cuts a byte stream into
 * frames and refuses, before buffering them, lengths above the configured limits. Layer L7.
 * @module
 */
import { malformed, readU32, writeU32 } from './wire.js';

export const HEADER_LENGTH = 12;

export interface Frame {
  /** The request's "call code": the reply must carry the same value. */
  serial: number;
  options: Uint8Array;
  body: Uint8Array;
}

export interface FrameLimits {
  /** Largest body accepted, in bytes. */
  maxBody: number;
  /** Largest options field accepted, in bytes. */
  maxOptions: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxBody: 16 * 1024 * 1024, maxOptions: 4096 };

const EMPTY = new Uint8Array(0);

/** One frame as bytes: header, options, body. */
export function encodeFrame(
  serial: number,
  body: Uint8Array,
  options: Uint8Array = EMPTY,
): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + options.length + body.length);
  writeU32(out, 0, serial >>> 0);
  writeU32(out, 4, options.length);
  writeU32(out, 8, body.length);
  out.set(options, HEADER_LENGTH);
  out.set(body, HEADER_LENGTH + options.length);
  return out;
}

/** Writes the header of a reply built with HEADER_LENGTH free bytes in front of its body. */
export function sealFrame(serial: number, buf: Uint8Array): Uint8Array {
  writeU32(buf, 0, serial >>> 0);
  writeU32(buf, 4, 0);
  writeU32(buf, 8, buf.length - HEADER_LENGTH);
  return buf;
}

/**
 * Asked before a frame that arrives in pieces is given its buffer: `bytes` is the frame's whole length.
 * Answering false holds the frame back (the decoder buffers nothing more for it than what already
 * arrived) until `resume`.
 */
export type Admit = (bytes: number) => boolean;

/**
 * Incremental frame splitter. `push` returns every frame completed by the chunk; it throws
 * CKR_DEVICE_ERROR (the stream is out of step and must be closed) when a header announces more than the
 * limits allow. Frames that arrive whole in one chunk are views of it (Node hands every read its own
 * buffer); a frame split across chunks is copied into one buffer of its announced length, allocated once
 * `admit` agrees (so what a half-sent frame costs can be budgeted before it is spent).
 */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  readonly #admit: Admit;
  readonly #head = new Uint8Array(HEADER_LENGTH);
  #headFill = 0;
  /** Total length of the frame being collected, once its header is known; 0 before. */
  #need = 0;
  /** The admitted frame being filled, and how much of it has arrived. */
  #frame: Uint8Array | undefined;
  #fill = 0;
  /** Chunks that arrived while the frame in progress waited to be admitted, in order. */
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(limits: FrameLimits = DEFAULT_FRAME_LIMITS, admit: Admit = () => true) {
    this.#limits = limits;
    this.#admit = admit;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return (this.#frame ? this.#fill : this.#headFill) + this.#heldBytes;
  }

  /** The full length of the admitted frame being filled (what its buffer holds), or 0. */
  get reserved(): number {
    return this.#frame ? this.#need : 0;
  }

  /** The length of a frame whose header arrived and that `admit` has not yet let in, or 0. */
  get waiting(): number {
    return this.#need > 0 && !this.#frame ? this.#need : 0;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.waiting > 0) {
      this.#hold(chunk);
      return [];
    }
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#frame) {
        const n = Math.min(this.#need - this.#fill, chunk.length - at);
        this.#frame.set(chunk.subarray(at, at + n), this.#fill);
        this.#fill += n;
        at += n;
        if (this.#fill === this.#need) frames.push(this.#done());
        continue;
      }
      if (this.#headFill === 0 && chunk.length - at >= HEADER_LENGTH) {
        const total = this.#frameLength(chunk.subarray(at, at + HEADER_LENGTH));
        if (chunk.length - at >= total) {
          // The common case: a whole frame in the chunk, returned as a view of it.
          frames.push(split(chunk.subarray(at, at + total)));
          at += total;
          continue;
        }
      }
      const n = Math.min(HEADER_LENGTH - this.#headFill, chunk.length - at);
      this.#head.set(chunk.subarray(at, at + n), this.#headFill);
      this.#headFill += n;
      at += n;
      if (this.#headFill < HEADER_LENGTH) break;
      this.#need = this.#frameLength(this.#head);
      if (!this.#open()) {
        this.#hold(chunk.subarray(at));
        break;
      }
      if (this.#fill === this.#need) frames.push(this.#done());
    }
    return frames;
  }

  /** Asks `admit` again for a frame held back; returns the frames the held bytes complete. */
  resume(): Frame[] {
    if (this.waiting === 0 || !this.#open()) return [];
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    const frames: Frame[] = [];
    const first = this.#fill === this.#need ? [this.#done()] : [];
    frames.push(...first);
    for (const chunk of held) frames.push(...this.push(chunk));
    return frames;
  }

  /** Drops everything buffered (the connection is gone). */
  clear(): void {
    this.#headFill = 0;
    this.#need = 0;
    this.#frame = undefined;
    this.#fill = 0;
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** Gives the frame whose header is in #head its buffer, if admitted. */
  #open(): boolean {
    if (!this.#admit(this.#need)) return false;
    // Not zero-filled: writing zeros would make every page of the buffer resident at once (glibc reuses
    // freed memory for a large allocation once one was freed), where only what arrives should be. No byte
    // of it is read before it was written: the frame is returned only once full. (Small ones come from
    // Node's pool.)
    const buf = Buffer.allocUnsafe(this.#need);
    this.#frame = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    this.#frame.set(this.#head);
    this.#fill = HEADER_LENGTH;
    this.#headFill = 0;
    return true;
  }

  #hold(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
  }

  #done(): Frame {
    const frame = split(this.#frame as Uint8Array);
    this.#frame = undefined;
    this.#fill = 0;
    this.#need = 0;
    return frame;
  }

  #frameLength(head: Uint8Array): number {
    const optionsLength = readU32(head, 4);
    const bodyLength = readU32(head, 8);
    if (optionsLength > this.#limits.maxOptions) {
      throw malformed(`frame options length ${optionsLength} exceeds ${this.#limits.maxOptions}`);
    }
    if (bodyLength > this.#limits.maxBody) {
      throw malformed(`frame body length ${bodyLength} exceeds ${this.#limits.maxBody}`);
    }
    return HEADER_LENGTH + optionsLength + bodyLength;
  }
}

function split(bytes: Uint8Array): Frame {
  const optionsLength = readU32(bytes, 4);
  return {
    serial: readU32(bytes, 0),
    options: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + optionsLength),
    body: bytes.subarray(HEADER_LENGTH + optionsLength),
  };
}
