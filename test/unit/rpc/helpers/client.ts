/**
 * A minimal p11-kit RPC client over a unix socket for the server tests: raw byte streams, or calls
 * encoded with our codec and their decoded replies.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CALL_ID } from '../../../../src/rpc/calls.js';
import { encodeFrame, type Frame, FrameDecoder } from '../../../../src/rpc/frame.js';
import { type Arg, decodeMessage, encodeMessage } from '../../../../src/rpc/message.js';

/** A private directory for a test socket; `cleanup` removes it. */
export function socketDir(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-rpc-'));
  return {
    path: join(dir, 'pkcs11'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export class RawClient {
  readonly socket: Socket;
  #received: Buffer[] = [];
  #length = 0;
  #waiters: (() => void)[] = [];
  closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (b: Buffer) => {
      this.#received.push(b);
      this.#length += b.length;
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        for (const w of this.#waiters.splice(0)) w();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  get received(): Buffer {
    return Buffer.concat(this.#received);
  }

  /** Waits until `n` bytes have arrived (or the socket closed). */
  async waitFor(n: number): Promise<Buffer> {
    while (this.#length < n && !this.socket.destroyed) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    return this.received;
  }

  close(): void {
    this.socket.end();
  }
}

/** A client speaking the protocol with our codec: one call at a time, or pipelined. */
export class RpcClient {
  readonly raw: RawClient;
  version = -1;
  #serial = 0x10;
  #frames = new FrameDecoder();
  #consumed = 0;
  #pending: Frame[] = [];

  private constructor(raw: RawClient) {
    this.raw = raw;
  }

  static async open(path: string, versionByte = 0): Promise<RpcClient> {
    const c = new RpcClient(await RawClient.open(path));
    c.raw.write(Uint8Array.of(versionByte));
    const got = await c.raw.waitFor(1);
    c.version = got[0] ?? -1;
    c.#consumed = 1;
    return c;
  }

  /** Sends a request without waiting; returns its serial. */
  send(name: string, args: Arg[]): number {
    const id = CALL_ID[name];
    if (id === undefined) throw new Error(name);
    const serial = this.#serial++;
    const body = encodeMessage(id, 'request', args, { version: this.version });
    this.raw.write(encodeFrame(serial, body, new TextEncoder().encode('client')));
    return serial;
  }

  /** The next reply frame. */
  async next(): Promise<Frame> {
    for (;;) {
      const all = this.raw.received;
      if (all.length > this.#consumed) {
        const fresh = all.subarray(this.#consumed);
        this.#pending.push(
          ...this.#frames.push(new Uint8Array(fresh.buffer, fresh.byteOffset, fresh.length)),
        );
        this.#consumed = all.length;
      }
      const f = this.#pending.shift();
      if (f) return f;
      if (this.raw.socket.destroyed) throw new Error('connection closed');
      await this.raw.waitFor(all.length + 1);
    }
  }

  /** Calls and decodes the reply: `{ rv }` for an ERROR reply, `{ args }` otherwise. */
  async call(name: string, args: Arg[], mechanism?: number): Promise<{ rv: number; args: Arg[] }> {
    const serial = this.send(name, args);
    const f = await this.next();
    if (f.serial !== serial) throw new Error(`reply serial ${f.serial} ≠ ${serial}`);
    const ctx =
      mechanism === undefined ? { version: this.version } : { version: this.version, mechanism };
    const { call, args: out } = decodeMessage(f.body, 'reply', ctx);
    return call.id === 0 ? { rv: out[0] as number, args: [] } : { rv: 0, args: out };
  }

  close(): void {
    this.raw.close();
  }
}

export const HANDSHAKE = new TextEncoder().encode('PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1');
