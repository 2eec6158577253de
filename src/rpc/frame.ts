/**
 * p11-kit RPC framing (p11-kit rpc-transport.c): a 12-byte big-endian header (serial, options length, body length),
 * the options bytes (the client's module name, ignored) and the body. The decoder cuts a byte stream into
 * frames and refuses, before buffering them, lengths above the configured limits. Layer L7.
 * @module
 */
import { malformed } from './wire.js';

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
  const view = new DataView(out.buffer);
  view.setUint32(0, serial >>> 0);
  view.setUint32(4, options.length);
  view.setUint32(8, body.length);
  out.set(options, HEADER_LENGTH);
  out.set(body, HEADER_LENGTH + options.length);
  return out;
}

/** Writes the header of a reply built with HEADER_LENGTH free bytes in front of its body. */
export function sealFrame(serial: number, buf: Uint8Array): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, HEADER_LENGTH);
  view.setUint32(0, serial >>> 0);
  view.setUint32(4, 0);
  view.setUint32(8, buf.length - HEADER_LENGTH);
  return buf;
}

/**
 * Incremental frame splitter. `push` returns every frame completed by the chunk; it throws
 * CKR_DEVICE_ERROR (the stream is out of step and must be closed) when a header announces more than
 * the limits allow. Frames that arrive whole in one chunk are views of it (Node hands every read its own
 * buffer); frames split across chunks are gathered into a copy.
 */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Total length of the frame being collected, once its header is known. */
  #need = 0;

  constructor(limits: FrameLimits = DEFAULT_FRAME_LIMITS) {
    this.#limits = limits;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#buffered === 0) return this.#whole(chunk);
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.#need === 0) {
        if (this.#buffered < HEADER_LENGTH) break;
        this.#need = this.#readHeader();
      }
      if (this.#buffered < this.#need) break;
      frames.push(this.#split(this.#take(this.#need)));
      this.#need = 0;
    }
    return frames;
  }

  /** The common case: nothing pending, frames read straight out of the chunk. */
  #whole(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (chunk.length - at >= HEADER_LENGTH) {
      const total = this.#frameLength(chunk.subarray(at, at + HEADER_LENGTH));
      if (chunk.length - at < total) break;
      frames.push(this.#split(chunk.subarray(at, at + total)));
      at += total;
    }
    if (at < chunk.length) {
      this.#chunks.push(chunk.slice(at));
      this.#buffered = chunk.length - at;
      if (this.#buffered >= HEADER_LENGTH) this.#need = this.#readHeader();
    }
    return frames;
  }

  #readHeader(): number {
    return this.#frameLength(this.#peek(HEADER_LENGTH));
  }

  #frameLength(head: Uint8Array): number {
    const view = new DataView(head.buffer, head.byteOffset, HEADER_LENGTH);
    const optionsLength = view.getUint32(4);
    const bodyLength = view.getUint32(8);
    if (optionsLength > this.#limits.maxOptions) {
      throw malformed(`frame options length ${optionsLength} exceeds ${this.#limits.maxOptions}`);
    }
    if (bodyLength > this.#limits.maxBody) {
      throw malformed(`frame body length ${bodyLength} exceeds ${this.#limits.maxBody}`);
    }
    return HEADER_LENGTH + optionsLength + bodyLength;
  }

  #split(bytes: Uint8Array): Frame {
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LENGTH);
    const optionsLength = view.getUint32(4);
    return {
      serial: view.getUint32(0),
      options: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + optionsLength),
      body: bytes.subarray(HEADER_LENGTH + optionsLength),
    };
  }

  /** The first `n` buffered bytes without consuming them (n ≤ buffered). */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    if (first.length >= n) return first.subarray(0, n);
    return this.#gather(n, false);
  }

  /** Removes and returns the first `n` buffered bytes as a fresh copy. */
  #take(n: number): Uint8Array {
    return this.#gather(n, true);
  }

  #gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = this.#chunks[i] as Uint8Array;
      const part = Math.min(c.length, n - filled);
      out.set(c.subarray(0, part), filled);
      filled += part;
      if (consume) {
        if (part === c.length) {
          this.#chunks.shift();
        } else {
          this.#chunks[0] = c.subarray(part);
        }
      } else {
        i++;
      }
    }
    if (consume) this.#buffered -= n;
    return out;
  }
}
