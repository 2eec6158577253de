/**
 * Issue 7 (S2/S3) over RPC: each connection is its own application. One connection's login never shows in
 * another's session state, and closing a connection logs it out and ends its sessions.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import type { RpcServer } from '../../../src/rpc/server.js';
import type { Token } from '../../../src/token/token.js';
import { utf8 } from '../../../src/util/bytes.js';
import { USER_PIN } from '../../helpers/token.js';
import type { RpcClient } from './helpers/client.js';
import { type TokenServer, tokenServer } from './helpers/serve.js';

const PIN = utf8(USER_PIN);

describe('RPC connections are separate applications', () => {
  let served: TokenServer;
  let token: Token;
  let server: RpcServer;
  before(async () => {
    served = await tokenServer();
    ({ token, server } = served);
  });
  after(() => served.stop());

  const connect = () => served.connect();

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
