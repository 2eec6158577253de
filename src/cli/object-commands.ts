/**
 * `corepkcs11 list`, `export` and `delete`: the objects on the token as a table (class, label, id, key
 * type and size, flags) or JSON with each object's PKCS#11 URI; certificates and public keys written
 * out as PEM or DER (private keys never leave the token); objects destroyed by name. Layer L9.
 * @module
 */
import { findObjects } from '../helpers/core.js';
import { describeObject, type ObjectDescription } from '../helpers/inspect.js';
import { readPublicKey } from '../helpers/keygen.js';
import { encodeSpki } from '../helpers/keys.js';
import type { Handle } from '../helpers/module.js';
import { encodePem } from '../helpers/pem.js';
import { objectUri } from '../helpers/uri.js';
import * as C from '../pkcs11/constants.js';
import type { TokenInfo } from '../pkcs11/types.js';
import { loggedIn, maybeLoggedIn, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { COMMON_HELP, flag, PIN_HELP, parseCommand, str } from './options.js';
import { hex, printJson, say, table, writeOutput } from './output.js';
import {
  checkTokenMatches,
  describeSelection,
  SELECT_HELP,
  SELECT_OPTIONS,
  selectionOf,
  selectOne,
  templateOf,
} from './select.js';

const LIST_HELP = `usage: corepkcs11 list [--type T] [--label L] [--id HEX] [pkcs11:URI] [-l] [options]

List the objects on the token: class, label, id, key type and size, and flags. Private objects are
listed only when logged in: with a PIN from --pin or $COREPKCS11_PIN, or with -l/--login (asks).
${SELECT_HELP}
${PIN_HELP}
  -l, --login      log in (ask for the PIN on a terminal if none is given)
${COMMON_HELP}`;

function row(d: ObjectDescription): string[] {
  let what = d.keyType ?? '';
  if (d.curve) what += ` ${d.curve}`;
  else if (d.keyBits) what += ` ${d.keyBits}`;
  if (d.subject) what += ` ${d.subject}`;
  const flags = d.flags.filter((f) => f !== 'token' && f !== 'modifiable');
  return [d.type, d.label, hex(d.id), what.trim(), flags.join(',')];
}

function jsonOf(d: ObjectDescription, info: TokenInfo) {
  const { handle: _h, ...rest } = d;
  return {
    ...rest,
    uri: objectUri({ token: info, label: d.label, objectClass: d.objectClass, id: d.id }),
  };
}

export async function listCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    { ...SELECT_OPTIONS, login: { type: 'boolean', short: 'l' } },
    LIST_HELP,
    'uri',
  );
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  return withToken(p, async (t) => {
    const info = t.info();
    checkTokenMatches(sel, info);
    const { session, loggedIn: inside } = await maybeLoggedIn(t, p, sel.uri, flag(p, 'login'));
    const objects = findObjects(t.p11, session, templateOf(sel)).map((h) =>
      describeObject(t.p11, session, h),
    );
    if (flag(p, 'json')) {
      printJson({ loggedIn: inside, objects: objects.map((d) => jsonOf(d, info)) });
      return EXIT.OK;
    }
    if (objects.length > 0) say(table(['CLASS', 'LABEL', 'ID', 'KEY', 'FLAGS'], objects.map(row)));
    const note = inside ? '' : ' (public objects only: give --pin or -l to see private ones)';
    say(`${objects.length} object${objects.length === 1 ? '' : 's'}${note}`);
    return EXIT.OK;
  });
}

const EXPORT_HELP = `usage: corepkcs11 export --type cert|pubkey (--label L | --id HEX | pkcs11:URI) [-o FILE] [options]

Write a certificate or a public key (SubjectPublicKeyInfo) as PEM (default) or DER. Private and
secret keys never leave the token.
${SELECT_HELP}
  -o, --output F   output file (default: stdout)
  -f, --format F   pem (default) or der
${PIN_HELP}
${COMMON_HELP}`;

export async function exportCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...SELECT_OPTIONS,
      output: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
    },
    EXPORT_HELP,
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
    const { session } = await maybeLoggedIn(t, p, sel.uri);
    let der: Uint8Array;
    let label: string;
    const cls = sel.objectClass ?? pickExportable(t.p11, session, sel);
    const h = selectOne(t.p11, session, sel, cls);
    if (cls === C.CKO_CERTIFICATE) {
      const [v] = t.p11.C_GetAttributeValue(session, h, [{ type: C.CKA_VALUE }]);
      der = Uint8Array.from(v?.value as Buffer);
      label = 'CERTIFICATE';
    } else {
      der = encodeSpki(readPublicKey(t.p11, session, h));
      label = 'PUBLIC KEY';
    }
    writeOutput(str(p, 'output'), format === 'pem' ? encodePem(label, der) : der);
    if (str(p, 'output') !== undefined && !flag(p, 'json'))
      say(`Wrote ${label.toLowerCase()} to ${str(p, 'output')}`);
    return EXIT.OK;
  });
}

/** Without --type: the certificate if the selection names one, else the public key. */
function pickExportable(
  p11: Parameters<typeof findObjects>[0],
  s: Handle,
  sel: ReturnType<typeof selectionOf>,
): number {
  if (sel.empty)
    throw new CliError(EXIT.USAGE, 'name the object: --label, --id, --type or a pkcs11: URI');
  for (const cls of [C.CKO_CERTIFICATE, C.CKO_PUBLIC_KEY]) {
    if (findObjects(p11, s, templateOf(sel, cls)).length > 0) return cls;
  }
  throw new CliError(
    EXIT.NOT_FOUND,
    `no certificate or public key matches ${describeSelection(sel)}`,
  );
}

const DELETE_HELP = `usage: corepkcs11 delete (--label L | --id HEX | --type T | pkcs11:URI) [--all] [options]

Destroy the object the selection names. When several match, nothing is deleted unless --all.
${SELECT_HELP}
  --all            delete every matching object
${PIN_HELP}
${COMMON_HELP}`;

export async function deleteCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { ...SELECT_OPTIONS, all: { type: 'boolean' } }, DELETE_HELP, 'uri');
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  if (sel.empty)
    throw new CliError(EXIT.USAGE, 'name what to delete: --label, --id, --type or a pkcs11: URI');
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const s = await loggedIn(t, p, 'user', sel.uri);
    const found = findObjects(t.p11, s, templateOf(sel));
    if (found.length === 0)
      throw new CliError(EXIT.NOT_FOUND, `no ${describeSelection(sel)} on the token`);
    if (found.length > 1 && !flag(p, 'all')) {
      throw new CliError(
        EXIT.NOT_FOUND,
        `${found.length} objects match: ${describeSelection(sel)}; nothing deleted`,
        'add --all to delete them all, or narrow with --type/--id',
      );
    }
    const gone = found.map((h) => describeObject(t.p11, s, h));
    for (const h of found) t.p11.C_DestroyObject(s, h);
    if (flag(p, 'json')) printJson({ deleted: gone.map((d) => jsonOf(d, t.info())) });
    else
      for (const d of gone)
        say(`Deleted ${d.type} '${d.label}'${d.id.length ? ` (id ${hex(d.id)})` : ''}`);
    return EXIT.OK;
  });
}
