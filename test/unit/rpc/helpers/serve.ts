/**
 * Servers for one test file: over fake engines (every connection gets its own FakeCryptoki, kept in
 * `apps` so tests can look at what the server did with it), or over one initialized memory token (every
 * connection its own Application, as `corepkcs11 serve` runs it).
 * @module
 */
import assert from 'node:assert/strict';
import * as C from '../../../../src/pkcs11/constants.js';
import type { WireAttribute } from '../../../../src/rpc/attributes.js';
import {
  type RpcServer,
  type RpcServerOptions,
  startRpcServer,
} from '../../../../src/rpc/server.js';
import { Application } from '../../../../src/token/application.js';
import type { Token } from '../../../../src/token/token.js';
import { initializedMemoryToken } from '../../../helpers/token.js';
import { HANDSHAKE, RpcClient, socketDir } from './client.js';
import { FakeCryptoki, type FakeOptions, PIN, SLOT } from './fake-cryptoki.js';

export interface FakeServer {
  server: RpcServer;
  apps: FakeCryptoki[];
  path: string;
  /** Connects and sends the version byte. */
  open(versionByte?: number): Promise<RpcClient>;
  /** Connects, C_Initialize, C_OpenSession on the fake slot; returns the client and the session. */
  session(versionByte?: number): Promise<{ client: RpcClient; session: number }>;
  stop(): Promise<void>;
}

export async function fakeServer(
  fake: FakeOptions = {},
  options: Partial<RpcServerOptions> = {},
): Promise<FakeServer> {
  const dir = socketDir();
  const apps: FakeCryptoki[] = [];
  const server = await startRpcServer({
    socketPath: dir.path,
    createApplication: () => {
      const app = new FakeCryptoki(fake);
      apps.push(app);
      return app;
    },
    ...options,
  });
  const open = (v = 0) => RpcClient.open(dir.path, v);
  return {
    server,
    apps,
    path: dir.path,
    open,
    async session(v = 0) {
      const client = await open(v);
      const init = await client.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]);
      if (init.rv !== 0) throw new Error(`C_Initialize → ${init.rv}`);
      const opened = await client.call('C_OpenSession', [SLOT, 4]);
      return { client, session: opened.args[0] as number };
    },
    async stop() {
      await server.close();
      dir.cleanup();
    },
  };
}

export interface TokenServer {
  /** The token every connection's application runs on (test/helpers/token.ts's PINs). */
  token: Token;
  server: RpcServer;
  /**
   * Connects with `versionByte` (the protocol the client asks for), C_Initialize, and a R/W session on
   * slot 1, each asserted to succeed; returns the client and the session.
   */
  connect(versionByte?: number): Promise<{ c: RpcClient; session: number }>;
  stop(): Promise<void>;
}

export async function tokenServer(): Promise<TokenServer> {
  const dir = socketDir();
  const token = initializedMemoryToken();
  const server = await startRpcServer({
    socketPath: dir.path,
    createApplication: () => new Application(token),
  });
  return {
    token,
    server,
    async connect(v = 0) {
      const c = await RpcClient.open(dir.path, v);
      assert.equal((await c.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)])).rv, 0);
      const r = await c.call('C_OpenSession', [1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION]);
      assert.equal(r.rv, 0);
      return { c, session: r.args[0] as number };
    },
    async stop() {
      await server.close();
      dir.cleanup();
    },
  };
}

/** A CKA_ attribute with a byte-array wire value. */
export function bytesAttr(type: number, value: Uint8Array): WireAttribute {
  return { type, length: value.length, value: { kind: 'bytes', value } };
}

export const PIN_BYTES = new TextEncoder().encode(PIN);
