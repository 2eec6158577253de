/**
 * The PKCS#11 3.0 calls through a real p11-kit ≥ 0.25 client (issue 15 item 4): a C program
 * (test/fixtures/v3-client.c) loads p11-kit-client.so, takes its default "PKCS 11" interface (3.0 from
 * 0.25, 3.2 from 0.26) and drives
 * C_LoginUser, C_SessionCancel, the NULL-mechanism cancel, message signing and verification, and a
 * message encryption against our server, in this process, on a memory token. Debian bookworm ships
 * p11-kit 0.24, whose client has no 3.0 calls: the test runs only for the client modules listed in
 * COREPKCS11_P11KIT_CLIENT (colon-separated paths, e.g. a p11-kit 0.25.5 or 0.26.4 build), and says so
 * when skipped.
 * @module
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as C from '../../src/pkcs11/constants.js';
import { type RpcServer, startRpcServer } from '../../src/rpc/server.js';
import { Application } from '../../src/token/application.js';
import { initializedMemoryToken, USER_PIN } from '../helpers/token.js';
import { run, workdir } from './helpers/env.js';

const PIN = USER_PIN;
const SOURCE = fileURLToPath(new URL('../../../test/fixtures/v3-client.c', import.meta.url));
const clients = (process.env.COREPKCS11_P11KIT_CLIENT ?? '').split(':').filter((p) => p !== '');
const skip =
  clients.length === 0
    ? 'no p11-kit ≥ 0.25 client: set COREPKCS11_P11KIT_CLIENT=/path/to/p11-kit-client.so (bookworm has 0.24)'
    : clients.find((p) => !existsSync(p))
      ? `COREPKCS11_P11KIT_CLIENT names a missing file`
      : !existsSync('/usr/include/p11-kit-1/p11-kit/pkcs11.h')
        ? 'no p11-kit headers (libp11-kit-dev) to build the C client'
        : false;

describe('PKCS#11 3.0 through a p11-kit ≥ 0.25 client', { skip }, () => {
  const dir = workdir('corepkcs11-v3-');
  const socket = dir.file('pkcs11');
  const program = dir.file('v3-client');
  let server: RpcServer;
  before(async () => {
    const cc = await run('cc', [
      '-std=c11',
      '-I/usr/include/p11-kit-1',
      '-o',
      program,
      SOURCE,
      '-ldl',
    ]);
    assert.equal(cc.code, 0, cc.stderr);
    const token = initializedMemoryToken();
    server = await startRpcServer({
      socketPath: socket,
      createApplication: () => new Application(token),
    });
  });
  after(async () => {
    await server?.close();
    dir.cleanup();
  });

  const mac = createHmac('sha256', Buffer.alloc(32, 0x5a))
    .update('a message in two parts')
    .digest('hex');

  for (const client of clients) {
    it(`${client}: C_LoginUser, C_SessionCancel, NULL-mechanism cancel, message sign/verify → the CKRs below`, async () => {
      const r = await run(program, [client, PIN], {
        P11_KIT_SERVER_ADDRESS: `unix:path=${socket}`,
      });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const rv = new Map(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => [l.split(' ')[0], l.split(' ').slice(1)]),
      );
      const code = (name: string) => Number(rv.get(name)?.[0]);
      // 0.25's client offers "PKCS 11" 3.0 by default, 0.26's 3.2 (a list that begins as 3.0's)
      assert.match(rv.get('version')?.[0] ?? '', /^3\.[0-2]$/, 'a 3.x function list');
      for (const ok of [
        'C_GetInterface',
        'C_Initialize',
        'C_OpenSession',
        'C_LoginUser',
        'C_DigestInit',
        'C_SessionCancel',
        'C_DigestInit-again',
        'C_DigestInit-NULL',
        'C_CreateObject',
        'C_MessageSignInit',
        'C_SignMessage',
        'C_SignMessageBegin',
        'C_SignMessageNext-part',
        'C_SignMessageNext-last',
        'C_MessageSignFinal',
        'C_MessageVerifyInit',
        'C_VerifyMessage',
        'C_MessageVerifyFinal',
        'C_GenerateKey',
        'C_Finalize',
      ]) {
        assert.equal(code(ok), C.CKR_OK, `${ok}: ${r.stdout}`);
      }
      assert.equal(code('C_LoginUser-named'), C.CKR_ARGUMENTS_BAD);
      assert.equal(code('C_LoginUser-again'), C.CKR_USER_ALREADY_LOGGED_IN);
      assert.equal(code('C_DigestUpdate-cancelled'), C.CKR_OPERATION_NOT_INITIALIZED);
      assert.equal(code('C_DigestUpdate-ended'), C.CKR_OPERATION_NOT_INITIALIZED);
      assert.equal(rv.get('C_SignMessage')?.[1], mac, 'the HMAC node:crypto computes');
      assert.equal(rv.get('C_SignMessageNext-last')?.[1], mac, 'the same, in two parts');
      assert.equal(code('C_VerifyMessage-wrong'), C.CKR_SIGNATURE_INVALID);
      // AES-GCM messages: 0.25's client cannot send CKM_AES_GCM without a CK_GCM_PARAMS (its
      // serializer fails: CKR_HOST_MEMORY); 0.26's can, and then the parameter's pointers cannot cross.
      const init = code('C_MessageEncryptInit');
      assert.ok([C.CKR_OK, C.CKR_HOST_MEMORY].includes(init), `C_MessageEncryptInit ${init}`);
      if (init === C.CKR_OK) {
        assert.equal(code('C_EncryptMessage'), C.CKR_MECHANISM_PARAM_INVALID);
        assert.equal(code('C_MessageEncryptFinal'), C.CKR_OK);
      }
    });
  }
});
