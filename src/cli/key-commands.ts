/**
 * `corepkcs11 keygen` and `csr`: a key pair (its public key written as PEM) or a secret key generated on
 * the token, and a PKCS#10 request signed by a private key on the token. Layer L9 (command line).
 * @module
 */

import { findObjects } from '../helpers/core.js';
import { type CsrHash, createCsr } from '../helpers/csr.js';
import { describeKeyType, parseAnyKeyType } from '../helpers/key-types.js';
import { generateKeyPair, generateSecretKey } from '../helpers/keygen.js';
import { encodeSpki, keyBits } from '../helpers/keys.js';
import { encodePem } from '../helpers/pem.js';
import { objectUri } from '../helpers/uri.js';
import * as C from '../pkcs11/constants.js';
import { loggedIn, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import {
  COMMON_HELP,
  flag,
  hexId,
  PIN_HELP,
  parseCommand,
  quiet,
  required,
  str,
} from './options.js';
import { hex, printJson, say, withProgress, writeOutput } from './output.js';
import {
  checkTokenMatches,
  SELECT_HELP,
  SELECT_OPTIONS,
  selectionOf,
  selectOne,
} from './select.js';

const KEYGEN_HELP = `usage: corepkcs11 keygen --label L [--key-type T] [--id HEX] [-o PUB.pem] [options]

Generate a key on the token (a private or secret key never leaves it); a key pair's public key is
written as PEM.
  --key-type T     key pairs: EC:prime256v1 (default), EC:secp384r1, EC:secp521r1, EC:ed25519,
                   EC:ed448 (EdDSA), EC:x25519, EC:x448 (ECDH), rsa:2048, rsa:3072, rsa:4096,
                   DSA:2048 (also 1024, 3072; fresh domain parameters)
                   secret keys: AES:128, AES:192, AES:256, CHACHA20, GENERIC:N (N bytes, HMAC),
                   DES, DES2, DES3 (tokens of the compatible profile only)
  --label L        label of the key (of both keys of a pair)
  --id HEX         CKA_ID (default: SHA-1 of a pair's public key; none for a secret key)
  -o, --output F   public key PEM file (default: stdout)
  --replace        replace an existing key with this label (after the new one is made)
${PIN_HELP}
${COMMON_HELP}`;

export async function keygenCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      'key-type': { type: 'string' },
      label: { type: 'string', short: 'a' },
      id: { type: 'string', short: 'd' },
      output: { type: 'string', short: 'o' },
      replace: { type: 'boolean' },
    },
    KEYGEN_HELP,
  );
  if (!p) return EXIT.OK;
  const label = required(p, 'label');
  let keyType: ReturnType<typeof parseAnyKeyType>;
  try {
    keyType = parseAnyKeyType(str(p, 'key-type') ?? 'EC:prime256v1');
  } catch (e) {
    throw new CliError(EXIT.USAGE, (e as { detail?: string }).detail ?? String(e));
  }
  if (keyType.kind === 'secret' && str(p, 'output') !== undefined)
    throw new CliError(EXIT.USAGE, 'a secret key has no public key to write: drop --output');
  const id = str(p, 'id') === undefined ? undefined : hexId(str(p, 'id') as string);
  const json = flag(p, 'json');
  const what = describeKeyType(keyType);
  return withToken(p, async (t) => {
    const s = await loggedIn(t, p);
    const old = [C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY].flatMap((cls) =>
      findObjects(t.p11, s, [
        { type: C.CKA_CLASS, value: cls },
        { type: C.CKA_LABEL, value: label },
      ]),
    );
    if (old.length > 0 && !flag(p, 'replace')) {
      throw new CliError(
        EXIT.FAILED,
        `a key labelled '${label}' already exists`,
        'add --replace to replace it, or choose another --label',
      );
    }
    const info = t.info();
    const uri = (objectClass: number, keyId?: Uint8Array) =>
      objectUri({ token: info, label, objectClass, ...(keyId ? { id: keyId } : {}) });
    if (keyType.kind === 'secret') {
      generateSecretKey(t.p11, s, keyType, { label, ...(id ? { id } : {}) });
      for (const h of old) t.p11.C_DestroyObject(s, h);
      if (json) {
        printJson({
          keyType: what,
          bits: keyType.bytes * 8,
          label,
          id: id ?? null,
          secretKey: uri(C.CKO_SECRET_KEY, id),
          replaced: old.length,
        });
      } else say(`Generated ${what} secret key '${label}'${id ? ` (id ${hex(id)})` : ''}`);
      return EXIT.OK;
    }
    const pairType = keyType;
    const pair = await withProgress(`generating ${what} key pair on the token`, json, () =>
      generateKeyPair(t.p11, s, { keyType: pairType, label, ...(id ? { id } : {}) }),
    );
    for (const h of old) t.p11.C_DestroyObject(s, h);
    const pem = encodePem('PUBLIC KEY', encodeSpki(pair.publicKeyData));
    const out = str(p, 'output');
    const written =
      out === undefined ? undefined : writeOutput(out, pem, { format: 'PEM', quiet: quiet(p) });
    if (json) {
      printJson({
        keyType: what,
        bits: keyBits(pair.publicKeyData),
        label,
        id: pair.id,
        privateKey: uri(C.CKO_PRIVATE_KEY, pair.id),
        publicKey: uri(C.CKO_PUBLIC_KEY, pair.id),
        publicKeyPem: pem,
        replaced: old.length,
        ...(written ? { output: written } : {}),
      });
    } else {
      say(`Generated ${what} key pair '${label}' (id ${hex(pair.id)})`);
      if (out === undefined) process.stdout.write(pem);
    }
    return EXIT.OK;
  });
}

const CSR_HELP = `usage: corepkcs11 csr (--label L | --id HEX | pkcs11:URI) --subject "/CN=…" [-o FILE] [options]

Make a PKCS#10 certificate signing request for a key pair on the token, signed by its private key
(ECDSA or RSA PKCS#1 v1.5), as PEM. openssl req -verify accepts it.
${SELECT_HELP}
  --subject S      subject in OpenSSL form, e.g. "/CN=device 1/O=Acme/C=US"
  --hash H         sha256 (default; sha384 for P-384, sha512 for P-521), sha384, sha512
  -o, --output F   request file (default: stdout)
${PIN_HELP}
${COMMON_HELP}`;

export async function csrCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...SELECT_OPTIONS,
      subject: { type: 'string' },
      hash: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
    CSR_HELP,
    'uri',
  );
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  const subject = required(p, 'subject');
  const hash = str(p, 'hash');
  if (hash !== undefined && !['sha256', 'sha384', 'sha512'].includes(hash)) {
    throw new CliError(EXIT.USAGE, `--hash is sha256, sha384 or sha512, not '${hash}'`);
  }
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const s = await loggedIn(t, p, 'user', sel.uri);
    const key = selectOne(t.p11, s, sel, C.CKO_PRIVATE_KEY);
    let der: Uint8Array;
    try {
      der = createCsr(t.p11, s, {
        privateKey: key,
        subject,
        ...(hash ? { hash: hash as CsrHash } : {}),
      });
    } catch (e) {
      const detail = (e as { detail?: unknown }).detail;
      if ((e as { code?: unknown }).code === C.CKR_ARGUMENTS_BAD && typeof detail === 'string') {
        throw new CliError(/subject/i.test(detail) ? EXIT.USAGE : EXIT.NOT_FOUND, detail);
      }
      throw e;
    }
    const pem = encodePem('CERTIFICATE REQUEST', der);
    const out = str(p, 'output');
    if (flag(p, 'json')) {
      const written =
        out === undefined ? undefined : writeOutput(out, pem, { format: 'PEM', quiet: quiet(p) });
      printJson({ subject, csrPem: pem, ...(written ? { output: written } : {}) });
    } else {
      writeOutput(out, pem, { format: 'PEM', quiet: quiet(p) });
    }
    return EXIT.OK;
  });
}
