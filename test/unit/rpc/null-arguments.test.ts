/**
 * A NULL PIN over RPC (p11-kit-client sends a byte array with no data) is CKR_ARGUMENTS_BAD and spends
 * no PIN try: it used to be checked as an empty, wrong PIN. (C_GenerateRandom into a NULL buffer cannot
 * be told from a zero-length one for p11-kit clients before 0.25: rpc/handlers.ts answers it as that.)
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import { utf8 } from '../../../src/util/bytes.js';
import { SO_PIN, USER_PIN } from '../../helpers/token.js';
import type { RpcClient } from './helpers/client.js';
import { type TokenServer, tokenServer } from './helpers/serve.js';

const SO = utf8(SO_PIN);
const PIN = utf8(USER_PIN);
const NULL_PTR = { lengthOnly: 0 };

describe('RPC: a NULL PIN → CKR_ARGUMENTS_BAD', () => {
  let served: TokenServer;
  before(async () => {
    served = await tokenServer();
  });
  after(() => served.stop());

  const connect = () => served.connect();
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
