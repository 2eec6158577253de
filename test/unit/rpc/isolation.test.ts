/**
 * Issue 7 (S2/S3) over RPC: each connection is its own application. One connection's login never shows in
 * another's session state, and closing a connection logs it out and ends its sessions.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import * as C from '../../../src/pkcs11/constants.js';
import { type RpcServer, startRpcServer } from '../../../src/rpc/server.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { utf8 } from '../../../src/util/bytes.js';
import { HANDSHAKE, RpcClient, socketDir } from './helpers/client.js';

const PIN = utf8('1234');

describe('RPC connections are separate applications', () => {
  const dir = socketDir();
  let token: Token;
  let server: RpcServer;
  before(async () => {
    token = new Token(createMemoryPal(), createNodeCrypto(), {
      pinIterations: 1000,
      allowWeakPinIterations: true,
      warn: () => {},
    });
    const app = new Application(token);
    app.initialize();
    const label = new Uint8Array(32).fill(0x20);
    app.initToken(1, utf8('87654321'), label);
    const s = app.openSession(1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    app.login(s, C.CKU_SO, utf8('87654321'));
    app.initPin(s, PIN);
    app.finalize();
    server = await startRpcServer({
      socketPath: dir.path,
      createApplication: () => new Application(token),
    });
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  async function connect(): Promise<{ c: RpcClient; session: number }> {
    const c = await RpcClient.open(dir.path);
    assert.equal((await c.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)])).rv, 0);
    const r = await c.call('C_OpenSession', [1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION]);
    assert.equal(r.rv, 0);
    return { c, session: r.args[0] as number };
  }

  const state = async (c: RpcClient, session: number) =>
    (await c.call('C_GetSessionInfo', [session])).args[1];

  it("a login on one connection leaves another's sessions public (CKS_RW_PUBLIC_SESSION)", async () => {
    const a = await connect();
    const b = await connect();
    assert.equal((await a.c.call('C_Login', [a.session, C.CKU_USER, PIN])).rv, 0);
    assert.equal(await state(a.c, a.session), C.CKS_RW_USER_FUNCTIONS);
    assert.equal(await state(b.c, b.session), C.CKS_RW_PUBLIC_SESSION);
    // b logs in on its own: not CKR_USER_ALREADY_LOGGED_IN
    assert.equal((await b.c.call('C_Login', [b.session, C.CKU_USER, PIN])).rv, 0);
    a.c.close();
    b.c.close();
  });

  it("one connection's session handles do not exist on another → CKR_SESSION_HANDLE_INVALID", async () => {
    const a = await connect();
    const b = await connect();
    // a has sessions 1..3 now, b only its first: handles are per application
    await a.c.call('C_OpenSession', [1, C.CKF_SERIAL_SESSION]);
    const third = (await a.c.call('C_OpenSession', [1, C.CKF_SERIAL_SESSION])).args[0] as number;
    assert.equal((await a.c.call('C_GetSessionInfo', [third])).rv, 0);
    assert.equal((await b.c.call('C_GetSessionInfo', [third])).rv, C.CKR_SESSION_HANDLE_INVALID);
    a.c.close();
    b.c.close();
  });

  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('closing a connection closes its sessions (the token counts them no more)', async () => {
    await settle(() => server.connections === 0);
    const before = token.sessionCount;
    assert.equal(before, 0, 'the earlier connections have been finalized');
    const a = await connect();
    assert.equal(token.sessionCount, before + 1);
    a.c.close();
    await a.c.raw.closed;
    for (let i = 0; i < 50 && token.sessionCount !== before; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(token.sessionCount, before);
  });
});
