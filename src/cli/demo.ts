/**
 * `corepkcs11 demo`: provisions a token kept in a directory (SO and user PIN, an EC P-256 device key pair
 * under the corePKCS11 labels), signs a message on the token and verifies it, printing each step.
 * @module
 */
import { parseArgs } from 'node:util';
import type { Handle } from '../api/convert.js';
import { PKCS11 } from '../create.js';
import * as C from '../pkcs11/constants.js';
import { say } from './output.js';

const HELP = `usage: corepkcs11 demo [--store DIR] [--pin PIN] [--so-pin PIN]

Provision a token in DIR (default .token), sign a message with the device key and verify it.
  --store DIR     token directory (created if missing), or memory:
  --pin PIN       user PIN (default 0000, corePKCS11's default)
  --so-pin PIN    SO PIN used when the token is new (default 12345678)
`;

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

function findOne(p11: PKCS11, s: Handle, label: string, cls: number): Handle | null {
  p11.C_FindObjectsInit(s, [
    { type: C.CKA_LABEL, value: label },
    { type: C.CKA_CLASS, value: cls },
  ]);
  const h = p11.C_FindObjects(s);
  p11.C_FindObjectsFinal(s);
  return h;
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string', default: '.token' },
      pin: { type: 'string', default: '0000' },
      'so-pin': { type: 'string', default: '12345678' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const p11 = new PKCS11(values.store, { create: true });
  p11.C_Initialize();
  try {
    const [slot] = p11.C_GetSlotList(true);
    if (!slot) throw new Error('no slot');
    const info = p11.C_GetTokenInfo(slot);
    if (!(info.flags & C.CKF_TOKEN_INITIALIZED)) {
      say(`new token in ${values.store}: C_InitToken, C_InitPIN`);
      p11.C_InitToken(slot, values['so-pin'], 'corepkcs11 demo');
      const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      p11.C_Login(so, C.CKU_SO, values['so-pin']);
      p11.C_InitPIN(so, values.pin);
      p11.C_CloseSession(so);
    }
    const t = p11.C_GetTokenInfo(slot);
    say(
      `token '${t.label.trim()}' serial ${t.serialNumber.trim()}, ${t.model.trim()} by ${t.manufacturerID.trim()}`,
    );
    const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    p11.C_Login(s, C.CKU_USER, values.pin);
    let priv = findOne(p11, s, 'Device Priv TLS Key', C.CKO_PRIVATE_KEY);
    let pub = findOne(p11, s, 'Device Pub TLS Key', C.CKO_PUBLIC_KEY);
    if (!priv || !pub) {
      say('generating the device key pair (EC P-256) on the token');
      const kp = p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_EC_PARAMS, value: P256 },
          { type: C.CKA_VERIFY, value: true },
          { type: C.CKA_LABEL, value: 'Device Pub TLS Key' },
        ],
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_PRIVATE, value: true },
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_LABEL, value: 'Device Priv TLS Key' },
        ],
      );
      priv = kp.privateKey;
      pub = kp.publicKey;
    } else {
      say('found the device key pair from an earlier run');
    }
    const message = Buffer.from(`corepkcs11 demo ${new Date().toISOString()}`);
    p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, priv);
    const sig = p11.C_Sign(s, message, Buffer.alloc(64));
    say(`signed "${message}" with CKM_ECDSA_SHA256: ${sig.toString('hex')}`);
    p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, pub);
    p11.C_Verify(s, message, sig);
    say('verified on the token: OK');
    const [point] = p11.C_GetAttributeValue(s, pub, [{ type: C.CKA_EC_POINT }]);
    say(
      `device public key (CKA_EC_POINT): ${Buffer.from(point?.value as Uint8Array).toString('hex')}`,
    );
    p11.C_CloseSession(s);
    return 0;
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}
