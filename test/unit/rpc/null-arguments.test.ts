/**
 * A NULL PIN over RPC (p11-kit-client sends a byte array with no data) is CKR_ARGUMENTS_BAD and spends
 * no PIN try: it used to be checked as an empty, wrong PIN. (C_GenerateRandom into a NULL buffer cannot
 * be told from a zero-length one for p11-kit clients before 0.25: rpc/handlers.ts answers it as that.)
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

const SO = utf8('87654321');
const PIN = utf8('1234');
const NULL_PTR = { lengthOnly: 0 };

describe('RPC: a NULL PIN → CKR_ARGUMENTS_BAD', () => {
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
    app.initToken(1, SO, new Uint8Array(32).fill(0x20));
    const s = app.openSession(1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    app.login(s, C.CKU_SO, SO);
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
    return { c, session: r.args[0] as number };
  }
  const userFlags = async (c: RpcClient) =>
    ((await c.call('C_GetTokenInfo', [1])).args[4] as number) &
    (C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY | C.CKF_USER_PIN_LOCKED);

  it('C_Login with a NULL PIN → CKR_ARGUMENTS_BAD, no try spent; C_SetPIN and C_InitPIN the same', async () => {
    const { c, session } = await connect();
    for (let i = 0; i < 12; i++) {
      assert.equal(
        (await c.call('C_Login', [session, C.CKU_USER, NULL_PTR])).rv,
        C.CKR_ARGUMENTS_BAD,
      );
    }
    assert.equal((await c.call('C_SetPIN', [session, NULL_PTR, PIN])).rv, C.CKR_ARGUMENTS_BAD);
    assert.equal(await userFlags(c), 0, 'no try spent');
    // An empty (non-NULL) PIN is a PIN: checked, wrong, counted.
    assert.equal(
      (await c.call('C_Login', [session, C.CKU_USER, new Uint8Array(0)])).rv,
      C.CKR_PIN_INCORRECT,
    );
    assert.equal(await userFlags(c), C.CKF_USER_PIN_COUNT_LOW);
    assert.equal((await c.call('C_Login', [session, C.CKU_USER, PIN])).rv, C.CKR_OK);
    assert.equal(await userFlags(c), 0);
    assert.equal((await c.call('C_Logout', [session])).rv, C.CKR_OK);
    assert.equal((await c.call('C_Login', [session, C.CKU_SO, SO])).rv, C.CKR_OK);
    assert.equal((await c.call('C_InitPIN', [session, NULL_PTR])).rv, C.CKR_ARGUMENTS_BAD);
    c.close();
  });
});
