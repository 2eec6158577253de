/**
 * `corepkcs11 provision`: FreeRTOS's dev-mode provisioning in one command. Puts a device certificate and
 * key (or a key pair generated on the token), the JITP and root certificates and the code-verification
 * key under corePKCS11's well-known labels, replacing what was there only after the new objects are
 * stored. Layer L9 (command line).
 * @module
 */

import { findObjectWithLabelAndClass } from '../helpers/core.js';
import { createCsr } from '../helpers/csr.js';
import { type DeviceCredentials, provisionDevice } from '../helpers/device.js';
import { parseKeyType } from '../helpers/key-types.js';
import { encodeSpki } from '../helpers/keys.js';
import { LABEL_DEVICE_PRIVATE_KEY } from '../helpers/labels.js';
import { encodePem } from '../helpers/pem.js';
import * as C from '../pkcs11/constants.js';
import { loggedIn, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { MAX_CREDENTIAL_FILE, readInput } from './input.js';
import { COMMON_HELP, flag, PIN_HELP, parseCommand, quiet, str } from './options.js';
import { printJson, say, type Written, withProgress, writeOutput } from './output.js';
import { PASSPHRASE_HELP, passphraseFor } from './passphrase.js';

const HELP = `usage: corepkcs11 provision [--cert F --key F | --generate MODE] [more credentials] [options]

Provision a device the way FreeRTOS's dev-mode key provisioning does, in one step, under the labels
corePKCS11 applications look for: 'Device Priv TLS Key', 'Device Pub TLS Key', 'Device Cert',
'JITP Cert', 'Root Cert', 'Code Verify Key'. Inputs are all read and checked first (the certificate
must be for the key); the old objects are destroyed only after the new ones are stored.
  --cert F             device certificate (PEM or DER)
  --key F              its private key (PKCS#8, encrypted PKCS#8, SEC1 or PKCS#1)
  --jitp-cert F        JITP (device CA) certificate
  --root-cert F        server root CA certificate
  --code-verify-key F  code-signing public key (or certificate)
  --generate MODE      without --key and --cert: if-missing (default), always or never make a
                       device key pair on the token
  --key-type T         of a generated pair: EC:prime256v1 (default), EC:secp384r1, rsa:2048, …
  --public-key-out F   write the device public key (PEM)
  --csr F              write a certificate request for the device key (needs --subject)
  --subject S          its subject, e.g. "/CN=device 1"
${PASSPHRASE_HELP}
${PIN_HELP}
${COMMON_HELP}`;

const FILES = {
  cert: 'certificate',
  key: 'privateKey',
  'jitp-cert': 'jitpCertificate',
  'root-cert': 'rootCertificate',
  'code-verify-key': 'codeVerificationKey',
} as const;

export async function provisionCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...Object.fromEntries(Object.keys(FILES).map((k) => [k, { type: 'string' as const }])),
      generate: { type: 'string' },
      'key-type': { type: 'string' },
      'public-key-out': { type: 'string' },
      csr: { type: 'string' },
      subject: { type: 'string' },
      passphrase: { type: 'string' },
    },
    HELP,
  );
  if (!p) return EXIT.OK;
  const generate = str(p, 'generate') ?? 'if-missing';
  if (!['if-missing', 'always', 'never'].includes(generate)) {
    throw new CliError(EXIT.USAGE, `--generate is if-missing, always or never, not '${generate}'`);
  }
  if (str(p, 'csr') !== undefined && str(p, 'subject') === undefined)
    throw new CliError(EXIT.USAGE, '--csr needs --subject');
  let keyType: ReturnType<typeof parseKeyType> | undefined;
  try {
    keyType =
      str(p, 'key-type') === undefined ? undefined : parseKeyType(str(p, 'key-type') as string);
  } catch (e) {
    throw new CliError(EXIT.USAGE, (e as { detail?: string }).detail ?? String(e));
  }
  const creds: DeviceCredentials = {
    generate: generate as DeviceCredentials['generate'],
    ...(keyType ? { keyType } : {}),
  };
  const files: Array<[string, Buffer]> = [];
  for (const [flagName, field] of Object.entries(FILES)) {
    const file = str(p, flagName);
    if (file === undefined) continue;
    const data = await readInput(file, `--${flagName} file`, MAX_CREDENTIAL_FILE);
    files.push([file, data]);
    creds[field] = data;
  }
  const json = flag(p, 'json');
  return withToken(p, async (t) => {
    const s = await loggedIn(t, p);
    const keyFile = files.find(([, d]) => d === creds.privateKey);
    if (keyFile) {
      const pass = await passphraseFor(p, keyFile[0], keyFile[1]);
      if (pass !== undefined) creds.passphrase = pass;
    }
    let r: Awaited<ReturnType<typeof provisionDevice>>;
    try {
      r = await withProgress('provisioning', json, () => provisionDevice(t.p11, s, creds));
    } catch (e) {
      const detail = (e as { detail?: unknown }).detail;
      if ((e as { code?: unknown }).code === C.CKR_ARGUMENTS_BAD && typeof detail === 'string') {
        throw new CliError(EXIT.INPUT, `${detail}; nothing changed`);
      }
      throw e;
    }
    const pem = r.publicKey ? encodePem('PUBLIC KEY', encodeSpki(r.publicKey)) : undefined;
    const written: Written[] = [];
    const write = (path: string, text: string) => {
      const w = writeOutput(path, text, { format: 'PEM', quiet: quiet(p) });
      if (w) written.push(w);
    };
    const pubOut = str(p, 'public-key-out');
    if (pem && pubOut !== undefined) write(pubOut, pem);
    let csrPem: string | undefined;
    if (str(p, 'csr') !== undefined) {
      const priv = findObjectWithLabelAndClass(
        t.p11,
        s,
        LABEL_DEVICE_PRIVATE_KEY,
        C.CKO_PRIVATE_KEY,
      );
      if (!priv)
        throw new CliError(
          EXIT.NOT_FOUND,
          `no '${LABEL_DEVICE_PRIVATE_KEY}' to sign a request with`,
        );
      csrPem = encodePem(
        'CERTIFICATE REQUEST',
        createCsr(t.p11, s, { privateKey: priv, subject: str(p, 'subject') as string }),
      );
      write(str(p, 'csr') as string, csrPem);
    }
    if (json) {
      printJson({ ...r, publicKey: undefined, publicKeyPem: pem, csrPem, output: written });
      return EXIT.OK;
    }
    say(
      r.stored.length > 0
        ? `Stored: ${r.stored.map((l) => `'${l}'`).join(', ')}`
        : 'Nothing to store: the device already has its key pair',
    );
    if (r.destroyed > 0) say(`Replaced ${r.destroyed} old object${r.destroyed === 1 ? '' : 's'}`);
    if (r.generated) say('Generated the device key pair on the token');
    for (const w of r.warnings) say(`Warning: ${w}`);
    return EXIT.OK;
  });
}
