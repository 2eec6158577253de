/**
 * One client connection: the version byte exchange, then frames answered strictly in order (p11-kit's own
 * server does the same; the client matches replies by serial, so order is not required but simplest),
 * with several requests allowed in flight. The connection owns one PKCS#11 application: closing it, by
 * C_Finalize, EOF or a killed client, finalizes that application once whatever is running has finished.
 * Reading pauses while too many requests are queued or too many reply bytes wait to be sent. Layer L7.
 * @module
 */
import type { Socket } from 'node:net';
import { isPkcs11Error } from '../errors.js';
import { type DispatchContext, type DispatchEvent, dispatch } from './dispatch.js';
import { type Frame, FrameDecoder, type FrameLimits, HEADER_LENGTH, sealFrame } from './frame.js';
import type { ServedApplication } from './handlers.js';
import type { MessageLimits } from './message.js';

/** The highest protocol version spoken: 2 is p11-kit 0.26 (C_DeriveKey2, new mechanism encoding). */
export const MAX_PROTOCOL_VERSION = 2;

export interface ConnectionLimits extends FrameLimits, MessageLimits {
  /** Largest single output (random bytes, found handles × 8). */
  maxOutput: number;
  /** Requests received and not yet answered before reading pauses. */
  maxQueuedFrames: number;
  /**
   * Bytes of requests received and not yet answered before reading pauses: with maxQueuedFrames alone,
   * a client that never reads its replies could park maxQueuedFrames × maxBody bytes here.
   */
  maxQueuedBytes: number;
  /** Reply bytes waiting in the socket before processing pauses. */
  maxPendingWrite: number;
}

export interface ConnectionEvents {
  /** A request answered with an error, or a connection-level failure. */
  log?: (event: DispatchEvent & { connection: number }) => void;
}

export class Connection {
  readonly id: number;
  readonly #socket: Socket;
  readonly #app: ServedApplication;
  readonly #decoder: FrameDecoder;
  readonly #limits: ConnectionLimits;
  readonly #maxVersion: number;
  readonly #events: ConnectionEvents;
  #ctx: DispatchContext | undefined;
  #queue: Frame[] = [];
  #queuedBytes = 0;
  #running = false;
  #closed = false;
  #initialized = false;
  #finalized = false;
  #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    id: number,
    socket: Socket,
    app: ServedApplication,
    limits: ConnectionLimits,
    maxVersion: number,
    events: ConnectionEvents,
  ) {
    this.id = id;
    this.#socket = socket;
    this.#app = app;
    this.#limits = limits;
    this.#maxVersion = maxVersion;
    this.#events = events;
    this.#decoder = new FrameDecoder(limits);
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {
      // 'close' follows; a reset by a killed client is not an event worth more than that.
    });
  }

  /**
   * Bytes this connection holds: a partial request, requests waiting to be answered and replies
   * waiting to be sent. Bounded by about maxBody + maxQueuedBytes + maxPendingWrite + maxOutput.
   */
  get buffered(): number {
    return this.#decoder.buffered + this.#queuedBytes + this.#socket.writableLength;
  }

  /** Resolves once the socket is closed and the application finalized. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Closes the connection; its application is finalized once the running request ends. */
  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    // A plain Uint8Array view (no copy): values handed to the engine are Uint8Array, not Buffer.
    let data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#ctx === undefined) {
      if (data.length === 0) return;
      // The client's highest version; answer min(that, ours) as both p11-kit servers do.
      const version = Math.min(data[0] as number, this.#maxVersion);
      this.#ctx = this.#context(version);
      this.#socket.write(Uint8Array.of(version));
      data = data.subarray(1);
    }
    let frames: Frame[];
    try {
      frames = this.#decoder.push(data);
    } catch (e) {
      // A header that breaks the limits: the stream cannot be trusted to stay in step.
      this.#log('frame', e);
      this.close();
      return;
    }
    if (frames.length === 0) return;
    this.#queue.push(...frames);
    for (const f of frames) this.#queuedBytes += f.body.length + f.options.length;
    if (this.#full()) this.#socket.pause();
    if (!this.#running) void this.#run();
  }

  #full(): boolean {
    return (
      this.#queue.length >= this.#limits.maxQueuedFrames ||
      this.#queuedBytes >= this.#limits.maxQueuedBytes
    );
  }

  #context(version: number): DispatchContext {
    return {
      app: this.#app,
      version,
      maxOutput: this.#limits.maxOutput,
      limits: this.#limits,
      onInitialized: (initialized) => {
        this.#initialized = initialized;
      },
      log: this.#events.log ? (e) => this.#events.log?.({ ...e, connection: this.id }) : undefined,
    };
  }

  async #run(): Promise<void> {
    this.#running = true;
    const ctx = this.#ctx as DispatchContext;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const frame = this.#queue.shift() as Frame;
        const result = dispatch(frame.body, ctx, HEADER_LENGTH);
        const reply = result instanceof Promise ? await result : result;
        if (this.#closed) break;
        // The request is released only now: until it is answered, its bytes are still held.
        this.#queuedBytes -= frame.body.length + frame.options.length;
        if (!this.#full()) this.#socket.resume();
        const flushed = this.#socket.write(sealFrame(frame.serial, reply));
        if (!flushed && this.#socket.writableLength > this.#limits.maxPendingWrite) {
          await new Promise<void>((resolve) => {
            // Both listeners go once either fires: one left behind per wait would pile up.
            const done = () => {
              this.#socket.off('drain', done);
              this.#socket.off('close', done);
              resolve();
            };
            this.#socket.once('drain', done);
            this.#socket.once('close', done);
          });
        }
      }
    } finally {
      this.#running = false;
      if (this.#closed) this.#finish();
    }
  }

  #onClose(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (!this.#running) this.#finish();
  }

  /** Logs out and drops everything the client left behind: an open application is finalized. */
  #finish(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    if (this.#initialized) {
      try {
        this.#app.finalize();
      } catch (e) {
        this.#log('C_Finalize (connection closed)', e);
      }
      this.#initialized = false;
    }
    this.#resolveDone();
  }

  #log(call: string, e: unknown): void {
    // A Pkcs11Error's message is only its CKR name: the operator needs the detail (which limit, …).
    const detail = isPkcs11Error(e)
      ? `${e.message}${e.detail ? `: ${e.detail}` : ''}`
      : e instanceof Error
        ? e.message
        : String(e);
    this.#events.log?.({ call, rv: 0, detail, error: e, connection: this.id });
  }
}
