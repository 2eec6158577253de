/**
 * Naming objects on the command line, pkcs11-tool style (--label, --id HEX, --type
 * cert|privkey|pubkey|secrkey|data) or by PKCS#11 URI (a `pkcs11:` argument or --uri), and finding
 * them on the token. Layer L9 (command line).
 * @module
 */
import { findObjects } from '../helpers/core.js';
import type { Handle, Template } from '../helpers/module.js';
import { parsePkcs11Uri, type UriSelection, uriSelection } from '../helpers/uri.js';
import * as C from '../pkcs11/constants.js';
import type { TokenInfo } from '../pkcs11/types.js';
import { CliError, EXIT } from './errors.js';
import { hexId, type Parsed, str } from './options.js';

export const SELECT_OPTIONS = {
  label: { type: 'string', short: 'a' },
  id: { type: 'string', short: 'd' },
  type: { type: 'string', short: 'y' },
  uri: { type: 'string' },
} as const;

export const SELECT_HELP = `  --label L        object label (CKA_LABEL)
  --id HEX         object id (CKA_ID), e.g. 01 or a1b2c3
  --type T         cert, privkey, pubkey, secrkey or data
  pkcs11:…         or name the object by PKCS#11 URI (RFC 7512), also as --uri`;

const TYPES: Record<string, number> = {
  cert: C.CKO_CERTIFICATE,
  privkey: C.CKO_PRIVATE_KEY,
  private: C.CKO_PRIVATE_KEY,
  pubkey: C.CKO_PUBLIC_KEY,
  public: C.CKO_PUBLIC_KEY,
  secrkey: C.CKO_SECRET_KEY,
  'secret-key': C.CKO_SECRET_KEY,
  data: C.CKO_DATA,
};

export function objectClassOf(type: string): number {
  const cls = TYPES[type];
  if (cls === undefined) {
    throw new CliError(
      EXIT.USAGE,
      `--type '${type}' is not one of cert, privkey, pubkey, secrkey, data`,
    );
  }
  return cls;
}

export interface Selection {
  label?: string;
  id?: Uint8Array;
  objectClass?: number;
  uri?: UriSelection;
  /** True when nothing narrows the selection. */
  empty: boolean;
}

/** The selection the flags and a `pkcs11:` URI (positional or --uri) make; bad URIs are usage errors. */
export function selectionOf(p: Parsed, positionals: string[] = p.positionals): Selection {
  const uris = [
    ...positionals.filter((a) => /^pkcs11:/i.test(a)),
    ...(str(p, 'uri') ? [str(p, 'uri') as string] : []),
  ];
  if (uris.length > 1) throw new CliError(EXIT.USAGE, 'name one object URI, not several');
  let uri: UriSelection | undefined;
  if (uris[0] !== undefined) {
    try {
      uri = uriSelection(parsePkcs11Uri(uris[0]));
    } catch (e) {
      throw new CliError(
        EXIT.USAGE,
        (e as { detail?: string }).detail ?? String(e),
        'see RFC 7512, e.g. pkcs11:object=my-key;type=private',
      );
    }
  }
  const label = str(p, 'label') ?? uri?.label;
  const idText = str(p, 'id');
  const id = idText !== undefined ? hexId(idText) : uri?.id;
  const type = str(p, 'type');
  const objectClass = type !== undefined ? objectClassOf(type) : uri?.objectClass;
  const sel: Selection = {
    empty: label === undefined && id === undefined && objectClass === undefined,
  };
  if (label !== undefined) sel.label = label;
  if (id !== undefined) sel.id = id;
  if (objectClass !== undefined) sel.objectClass = objectClass;
  if (uri) sel.uri = uri;
  return sel;
}

/** The URI's token fields must name this token. */
export function checkTokenMatches(sel: Selection, info: TokenInfo): void {
  const want = sel.uri?.token ?? {};
  const have: Record<string, string> = {
    label: info.label.trimEnd(),
    manufacturer: info.manufacturerID.trimEnd(),
    model: info.model.trimEnd(),
    serial: info.serialNumber.trimEnd(),
  };
  for (const [k, v] of Object.entries(want)) {
    if (v !== undefined && have[k] !== v) {
      throw new CliError(
        EXIT.NOT_FOUND,
        `the URI names token ${k} '${v}', this token has '${have[k]}'`,
      );
    }
  }
}

export function templateOf(sel: Selection, objectClass?: number): Template {
  const t: Template = [];
  const cls = objectClass ?? sel.objectClass;
  if (cls !== undefined) t.push({ type: C.CKA_CLASS, value: cls });
  if (sel.label !== undefined) t.push({ type: C.CKA_LABEL, value: sel.label });
  if (sel.id !== undefined) t.push({ type: C.CKA_ID, value: Buffer.from(sel.id) });
  return t;
}

const CLASS_NAMES = new Map<number, string>([
  [C.CKO_CERTIFICATE, 'certificate'],
  [C.CKO_PRIVATE_KEY, 'private key'],
  [C.CKO_PUBLIC_KEY, 'public key'],
  [C.CKO_SECRET_KEY, 'secret key'],
  [C.CKO_DATA, 'data object'],
]);

/** 'private key', 'certificate', … ('object' for any other class). */
export function className(cls: number | undefined): string {
  return (cls !== undefined && CLASS_NAMES.get(cls)) || 'object';
}

/** "labelled 'x' with id 01" */
export function describeNarrowing(sel: Selection): string {
  const parts: string[] = [];
  if (sel.label !== undefined) parts.push(`labelled '${sel.label}'`);
  if (sel.id !== undefined) parts.push(`with id ${Buffer.from(sel.id).toString('hex')}`);
  return parts.join(' ');
}

/** "private key labelled 'x' with id 01" */
export function describeSelection(sel: Selection, objectClass?: number): string {
  const what = className(objectClass ?? sel.objectClass);
  const narrowing = describeNarrowing(sel);
  return narrowing ? `${what} ${narrowing}` : what;
}

/**
 * The one object of `objectClass` (or of the selection's class) that the selection names. None is
 * exit code 5; several is exit code 5 too, asking for --id or a URI to tell them apart.
 */
export function selectOne(
  p11: Parameters<typeof findObjects>[0],
  session: Handle,
  sel: Selection,
  objectClass?: number,
): Handle {
  if (sel.empty)
    throw new CliError(EXIT.USAGE, 'name the object: --label, --id, --type or a pkcs11: URI');
  const found = findObjects(p11, session, templateOf(sel, objectClass));
  if (found.length === 0) {
    throw new CliError(
      EXIT.NOT_FOUND,
      `no ${describeSelection(sel, objectClass)} on the token`,
      '`corepkcs11 list` shows the objects (give --pin to see private ones)',
    );
  }
  if (found.length > 1) {
    throw new CliError(
      EXIT.NOT_FOUND,
      `${found.length} objects match: ${describeSelection(sel, objectClass)}`,
      'add --id or --type, or use the URI from `corepkcs11 list --json`',
    );
  }
  return found[0] as Handle;
}
