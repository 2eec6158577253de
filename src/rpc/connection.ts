/**
 * One client connection: the version byte exchange, then frames answered strictly in order (p11-kit's own
 * server does the same; the client matches replies by serial, so order is not required but simplest),
 * with several requests allowed in flight. The connection owns one PKCS#11 application: closing it, by
 * C_Finalize, EOF or a killed client, finalizes that application once whatever is running has finished.
 * Reading pauses while too many requests are queued or too many reply bytes wait to be sent, and while a
 * request arriving in pieces waits for room in the server's memory budget (budget.ts). Layer L7.
 * @module
 */
import type { Socket } from 'node:net';
import { isPkcs11Error } from '../errors.js';
import type { BudgetWaiter, MemoryBudget } from './budget.js';
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
  /** The budget shared by every connection of the server for bytes held on their behalf. */
  budget?: MemoryBudget;
}

export class Connection implements BudgetWaiter {
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
  /** Bytes this connection counts in the budget now. */
  #charged = 0;
  #waitingForMemory = false;

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
    const budget = events.budget;
    this.#decoder = new FrameDecoder(limits, budget ? (n) => budget.fits(n, this) : undefined);
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

  /** Whether a frame of this connection waits for room in the memory budget. */
  get waitingForMemory(): boolean {
    return this.#waitingForMemory;
  }

  /**
   * What the budget counts for this connection: the frame being received at its full announced length
   * once admitted, requests not yet answered, replies not yet sent. (Bytes of a frame still waiting to be
   * admitted, at most about one read, are not counted: they must not keep the frame they belong to out.)
   */
  #recount(): void {
    const budget = this.#events.budget;
    if (!budget) return;
    const now = this.#closed
      ? 0
      : this.#queuedBytes + this.#decoder.reserved + this.#socket.writableLength;
    budget.adjust(now - this.#charged);
    this.#charged = now;
  }

  /** Called by the budget when bytes were given back: lets the waiting frame in if it fits now. */
  retry(): boolean {
    if (this.#closed || this.#decoder.waiting === 0) return true;
    const frames = this.#decoder.resume();
    this.#accept(frames);
    if (this.#decoder.waiting > 0) return false;
    this.#waitingForMemory = false;
    if (!this.#full()) this.#socket.resume();
    return true;
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
    this.#accept(frames);
    const waiting = this.#decoder.waiting;
    if (waiting > 0 && !this.#waitingForMemory) {
      // Nothing more is read until the frame is let in: the rest stays in the client's socket.
      const budget = this.#events.budget as MemoryBudget;
      this.#waitingForMemory = true;
      this.#socket.pause();
      budget.wait(this);
      this.#events.log?.({
        call: 'memory',
        rv: 0,
        detail: `a ${waiting}-byte request waits: ${budget.used} of the ${budget.limit}-byte memory budget in use`,
        connection: this.id,
      });
    }
  }

  /** Queues complete requests and runs them; recounts what the connection holds. */
  #accept(frames: Frame[]): void {
    this.#queue.push(...frames);
    for (const f of frames) this.#queuedBytes += f.body.length + f.options.length;
    this.#recount();
    if (frames.length === 0) return;
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
        if (!this.#full() && !this.#waitingForMemory) this.#socket.resume();
        // The reply counts until the socket has taken it.
        const flushed = this.#socket.write(sealFrame(frame.serial, reply), () => this.#recount());
        this.#recount();
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
    // Everything the client left half-sent or unanswered goes now, and with it its share of the budget.
    this.#decoder.clear();
    this.#events.budget?.cancel(this);
    this.#recount();
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
