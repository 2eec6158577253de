/**
 * `corepkcs11 keygen` and `csr`: a key pair generated on the token (its public key written as PEM) and a
 * PKCS#10 request signed by a private key on the token. Layer L9 (command line).
 * @module
 */

import { findObjects } from '../helpers/core.js';
import { type CsrHash, createCsr } from '../helpers/csr.js';
import { generateKeyPair, parseKeyType } from '../helpers/keygen.js';
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

Generate a key pair on the token (the private key never leaves it) and write the public key as PEM.
  --key-type T     EC:prime256v1 (default), EC:secp384r1, EC:secp521r1, rsa:2048, rsa:3072, rsa:4096
  --label L        label of both keys
  --id HEX         CKA_ID of both keys (default: SHA-1 of the public key)
  -o, --output F   public key PEM file (default: stdout)
  --replace        replace an existing key pair with this label (after the new one is made)
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
  let keyType: ReturnType<typeof parseKeyType>;
  try {
    keyType = parseKeyType(str(p, 'key-type') ?? 'EC:prime256v1');
  } catch (e) {
    throw new CliError(EXIT.USAGE, (e as { detail?: string }).detail ?? String(e));
  }
  const id = str(p, 'id') === undefined ? undefined : hexId(str(p, 'id') as string);
  const json = flag(p, 'json');
  return withToken(p, async (t) => {
    const s = await loggedIn(t, p);
    const old = [C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY].flatMap((cls) =>
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
    const what = keyType.kind === 'ec' ? `EC ${keyType.curve}` : `RSA ${keyType.bits}`;
    const pair = await withProgress(`generating ${what} key pair on the token`, json, () =>
      generateKeyPair(t.p11, s, { keyType, label, ...(id ? { id } : {}) }),
    );
    for (const h of old) t.p11.C_DestroyObject(s, h);
    const pem = encodePem('PUBLIC KEY', encodeSpki(pair.publicKeyData));
    const out = str(p, 'output');
    const written =
      out === undefined ? undefined : writeOutput(out, pem, { format: 'PEM', quiet: quiet(p) });
    const info = t.info();
    if (json) {
      printJson({
        keyType: what,
        bits: keyBits(pair.publicKeyData),
        label,
        id: pair.id,
        privateKey: objectUri({ token: info, label, objectClass: C.CKO_PRIVATE_KEY, id: pair.id }),
        publicKey: objectUri({ token: info, label, objectClass: C.CKO_PUBLIC_KEY, id: pair.id }),
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
