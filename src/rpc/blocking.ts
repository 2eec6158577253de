/**
 * One client served with blocking reads and writes: the version byte, then read, dispatch, write, in
 * order, until the stream ends. This is `corepkcs11 remote`, which p11-kit starts per application with a
 * socket on its stdin and stdout: a process that serves one client has nothing to gain from an event
 * loop, and a reader blocked in read(2) answers a request as soon as its last byte lands, where an event
 * loop wakes up again for each of the three writes p11-kit-client.so sends a message in. The engine's
 * synchronous calls are used (one client, nothing to overlap with). Layer L7.
 * @module
 */
import { isPkcs11Error } from '../errors.js';
import { type ConnectionLimits, MAX_PROTOCOL_VERSION } from './connection.js';
import { type DispatchContext, type DispatchEvent, dispatch } from './dispatch.js';
import { FrameDecoder, HEADER_LENGTH, sealFrame } from './frame.js';
import type { ServedApplication } from './handlers.js';

/** The two ends of the stream, both blocking. */
export interface BlockingIo {
  /** Reads into `buf`; returns the byte count, 0 at the end of the stream. */
  read(buf: Uint8Array): number;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): void;
}

export interface BlockingServeOptions {
  app: ServedApplication;
  limits: ConnectionLimits;
  /** Highest protocol version to negotiate (0–2). Default 2. */
  maxProtocolVersion?: number;
  /** Errors answered and why the stream was closed. Never receives request data. */
  log?: (event: DispatchEvent) => void;
}

const READ_SIZE = 64 * 1024;

/**
 * Serves until the client closes its end (or sends a frame header beyond the limits, which ends the
 * stream as p11-kit's server does). An application left initialized is finalized before returning.
 */
export async function serveBlocking(io: BlockingIo, options: BlockingServeOptions): Promise<void> {
  const { app, limits, log } = options;
  const maxVersion = Math.min(
    options.maxProtocolVersion ?? MAX_PROTOCOL_VERSION,
    MAX_PROTOCOL_VERSION,
  );
  const decoder = new FrameDecoder(limits);
  let initialized = false;
  let ctx: DispatchContext | undefined;
  // One read buffer; what a read brings is copied out, since frames are views of it and the engine may
  // keep what it is given. (A fresh zero-filled 64 KiB buffer per read cost more than the round trip.)
  const buf = new Uint8Array(READ_SIZE);
  try {
    for (;;) {
      const n = io.read(buf);
      if (n === 0) return;
      // From Node's pool of small allocations: a fresh ArrayBuffer per read costs more than the read.
      let data: Uint8Array = Buffer.allocUnsafe(n);
      data.set(buf.subarray(0, n));
      if (ctx === undefined) {
        // The client's highest version; answer min(that, ours) as both p11-kit servers do.
        const version = Math.min(data[0] as number, maxVersion);
        io.write(Uint8Array.of(version));
        ctx = {
          app,
          version,
          sync: true,
          maxOutput: limits.maxOutput,
          limits,
          onInitialized: (yes) => {
            initialized = yes;
          },
          log,
        };
        data = data.subarray(1);
      }
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = decoder.push(data);
      } catch (e) {
        // A header that breaks the limits: the stream cannot be trusted to stay in step.
        log?.({ call: 'frame', rv: 0, detail: describe(e), error: e });
        return;
      }
      for (const frame of frames) {
        const result = dispatch(frame.body, ctx, HEADER_LENGTH);
        const reply = result instanceof Promise ? await result : result;
        io.write(sealFrame(frame.serial, reply));
      }
    }
  } finally {
    if (initialized) {
      try {
        app.finalize();
      } catch (e) {
        log?.({ call: 'C_Finalize (stream closed)', rv: 0, detail: describe(e), error: e });
      }
    }
  }
}

function describe(e: unknown): string {
  if (isPkcs11Error(e)) return `${e.message}${e.detail ? `: ${e.detail}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}
