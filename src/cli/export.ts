/**
 * `corepkcs11 export`: a certificate, or a public key as SubjectPublicKeyInfo, written as PEM or DER.
 * The public key comes from a public key object or, when the selection names only a private key, from
 * what the token holds about it: an RSA key's modulus and exponent, a key's CKA_PUBLIC_KEY_INFO, or
 * the public key or certificate with its CKA_ID. Private and secret keys never leave the token.
 * Layer L9 (command line).
 * @module
 */
import { findObjects } from '../helpers/core.js';
import { readPublicKey } from '../helpers/keygen.js';
import { encodeSpki, type PublicKeyData, parseSpki } from '../helpers/keys.js';
import { type Handle, readAttribute, readUlongAttribute } from '../helpers/module.js';
import { encodePem } from '../helpers/pem.js';
import { parseCertificate } from '../helpers/x509.js';
import * as C from '../pkcs11/constants.js';
import { maybeLoggedIn, type Token, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { COMMON_HELP, flag, PIN_HELP, parseCommand, quiet, str } from './options.js';
import { hex, printJson, writeOutput } from './output.js';
import {
  checkTokenMatches,
  describeNarrowing,
  describeSelection,
  SELECT_HELP,
  SELECT_OPTIONS,
  type Selection,
  selectionOf,
  selectOne,
  templateOf,
} from './select.js';

const HELP = `usage: corepkcs11 export (--label L | --id HEX | pkcs11:URI) [--type cert|pubkey] [-o FILE] [options]

Write a certificate, or a public key as SubjectPublicKeyInfo, in PEM (default) or DER. Without
--type: the certificate the selection names, else its public key. The public key is read from a
public key object or, when only a private key matches, from what the token holds about that key:
an RSA key's modulus and exponent, its CKA_PUBLIC_KEY_INFO (import stores it), or the public key
or certificate with the same CKA_ID. Private and secret keys never leave the token; a private key
is only seen with a PIN.
${SELECT_HELP}
  -o, --output F   output file (default: stdout)
  -f, --format F   pem (default) or der
${PIN_HELP}
${COMMON_HELP}`;

interface Exported {
  der: Uint8Array;
  pemLabel: 'CERTIFICATE' | 'PUBLIC KEY';
  /** Where it was read: `certificate`, `public key`, or `private key` (derived). */
  from: string;
}

function certificateOf(t: Token, s: Handle, h: Handle): Exported {
  const der = readAttribute(t.p11, s, h, C.CKA_VALUE);
  if (!der) throw new CliError(EXIT.FAILED, 'the certificate has no CKA_VALUE');
  return { der: Uint8Array.from(der), pemLabel: 'CERTIFICATE', from: 'certificate' };
}

/** The public key of a private key object, from what the token holds about it; null when nothing. */
function publicOfPrivate(t: Token, s: Handle, h: Handle): PublicKeyData | null {
  if (readUlongAttribute(t.p11, s, h, C.CKA_KEY_TYPE) === C.CKK_RSA) {
    return readPublicKey(t.p11, s, h);
  }
  let info: Uint8Array | undefined;
  try {
    info = readAttribute(t.p11, s, h, C.CKA_PUBLIC_KEY_INFO);
  } catch {
    info = undefined; // the token keeps no CKA_PUBLIC_KEY_INFO for this key
  }
  if (info && info.length > 0) return parseSpki(info);
  const id = readAttribute(t.p11, s, h, C.CKA_ID);
  if (!id || id.length === 0) return null;
  const byId = (cls: number) =>
    findObjects(t.p11, s, [
      { type: C.CKA_CLASS, value: cls },
      { type: C.CKA_ID, value: Buffer.from(id) },
    ]);
  const [pub] = byId(C.CKO_PUBLIC_KEY);
  if (pub) return readPublicKey(t.p11, s, pub);
  for (const cert of byId(C.CKO_CERTIFICATE)) {
    const value = readAttribute(t.p11, s, cert, C.CKA_VALUE);
    const key = value ? parseCertificate(value).publicKey : undefined;
    if (key) return key;
  }
  return null;
}

function publicKeyFor(t: Token, s: Handle, sel: Selection, loggedIn: boolean): Exported {
  const asKey = (key: PublicKeyData, from: string): Exported => ({
    der: encodeSpki(key),
    pemLabel: 'PUBLIC KEY',
    from,
  });
  if (findObjects(t.p11, s, templateOf(sel, C.CKO_PUBLIC_KEY)).length > 0) {
    return asKey(readPublicKey(t.p11, s, selectOne(t.p11, s, sel, C.CKO_PUBLIC_KEY)), 'public key');
  }
  if (findObjects(t.p11, s, templateOf(sel, C.CKO_PRIVATE_KEY)).length === 0) {
    throw new CliError(
      EXIT.NOT_FOUND,
      `no public or private key ${describeNarrowing(sel)} on the token`,
      loggedIn
        ? '`corepkcs11 list` shows the objects'
        : 'give --pin: a private key is listed only when logged in',
    );
  }
  const priv = selectOne(t.p11, s, sel, C.CKO_PRIVATE_KEY);
  const key = publicOfPrivate(t, s, priv);
  if (!key) {
    throw new CliError(
      EXIT.NOT_FOUND,
      `the ${describeSelection(sel, C.CKO_PRIVATE_KEY)} does not hold its public key (an EC ` +
        'private key has no point; it has no CKA_PUBLIC_KEY_INFO), and no public key or ' +
        'certificate with its CKA_ID is on the token',
      'import its public key or certificate with the same --id',
    );
  }
  return asKey(key, 'private key');
}

/** What the selection names: a certificate (--type cert, or one matches), else a public key. */
function exportable(t: Token, s: Handle, sel: Selection, loggedIn: boolean): Exported {
  if (sel.empty) {
    throw new CliError(EXIT.USAGE, 'name the object: --label, --id, --type or a pkcs11: URI');
  }
  const certs = () => findObjects(t.p11, s, templateOf(sel, C.CKO_CERTIFICATE));
  if (sel.objectClass === C.CKO_CERTIFICATE || (sel.objectClass === undefined && certs().length)) {
    return certificateOf(t, s, selectOne(t.p11, s, sel, C.CKO_CERTIFICATE));
  }
  return publicKeyFor(t, s, sel, loggedIn);
}

export async function exportCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...SELECT_OPTIONS,
      output: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
    },
    HELP,
    'uri',
  );
  if (!p) return EXIT.OK;
  const format = str(p, 'format') ?? 'pem';
  if (format !== 'pem' && format !== 'der')
    throw new CliError(EXIT.USAGE, `--format is pem or der, not '${format}'`);
  const sel = selectionOf(p);
  if (sel.objectClass === C.CKO_PRIVATE_KEY || sel.objectClass === C.CKO_SECRET_KEY) {
    throw new CliError(
      EXIT.USAGE,
      'private and secret keys never leave the token',
      'export the public key: --type pubkey',
    );
  }
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const { session, loggedIn } = await maybeLoggedIn(t, p, sel.uri);
    const x = exportable(t, session, sel, loggedIn);
    const data = format === 'pem' ? encodePem(x.pemLabel, x.der) : x.der;
    const out = str(p, 'output');
    const options = { format: format.toUpperCase(), quiet: quiet(p) };
    if (!flag(p, 'json')) {
      writeOutput(out, data, options);
      return EXIT.OK;
    }
    const written = out === undefined ? undefined : writeOutput(out, data, options);
    printJson({
      type: x.pemLabel === 'CERTIFICATE' ? 'cert' : 'public',
      from: x.from,
      ...(format === 'pem' ? { pem: data } : { der: hex(x.der) }),
      ...(written ? { output: written } : {}),
    });
    return EXIT.OK;
  });
}
