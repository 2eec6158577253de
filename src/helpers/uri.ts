/**
 * PKCS#11 URIs (RFC 7512): parse and format `pkcs11:token=...;object=...;type=private;id=%01?pin-value=...`,
 * and turn one into what a caller searches with (token fields, CKA_LABEL, CKA_ID, CKA_CLASS). Values
 * are kept as the percent-decoded bytes (CKA_ID is binary); text attributes must be UTF-8. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import {
  CKO_CERTIFICATE,
  CKO_DATA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_ARGUMENTS_BAD,
} from '../pkcs11/constants.js';
import { utf8 } from '../util/bytes.js';

export interface UriAttribute {
  name: string;
  /** The percent-decoded value. */
  value: Uint8Array;
}

export interface Pkcs11Uri {
  /** Path attributes (`;`-separated), in order. */
  path: UriAttribute[];
  /** Query attributes (`&`-separated), in order. */
  query: UriAttribute[];
}

/** RFC 7512 §2.3 path attributes; every other path name is a vendor attribute. */
export const PATH_ATTRIBUTES: readonly string[] = [
  'token',
  'manufacturer',
  'serial',
  'model',
  'library-manufacturer',
  'library-description',
  'library-version',
  'object',
  'type',
  'id',
  'slot-description',
  'slot-manufacturer',
  'slot-id',
];
export const QUERY_ATTRIBUTES: readonly string[] = [
  'pin-source',
  'pin-value',
  'module-name',
  'module-path',
];

/** `type=` values and the CKA_CLASS each names. */
export const URI_OBJECT_TYPES: Readonly<Record<string, number>> = {
  public: CKO_PUBLIC_KEY,
  private: CKO_PRIVATE_KEY,
  cert: CKO_CERTIFICATE,
  'secret-key': CKO_SECRET_KEY,
  data: CKO_DATA,
};

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const RES_AVAIL = ":[]@!$'()*+,=";
const PATH_EXTRA = '&';
const QUERY_EXTRA = '/?|';

function allowed(ch: string, inQuery: boolean): boolean {
  return (
    UNRESERVED.test(ch) ||
    RES_AVAIL.includes(ch) ||
    (inQuery ? QUERY_EXTRA : PATH_EXTRA).includes(ch)
  );
}

function bad(detail: string): Pkcs11Error {
  return new Pkcs11Error(CKR_ARGUMENTS_BAD, `bad PKCS#11 URI: ${detail}`);
}

function decodeValue(text: string, inQuery: boolean, name: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        throw bad(`'%${hex}' in ${name} is not a percent-encoding`);
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (allowed(ch, inQuery)) {
      out.push(ch.charCodeAt(0));
    } else {
      throw bad(`'${ch}' in ${name} must be percent-encoded`);
    }
  }
  return Uint8Array.from(out);
}

const TEXT = new TextDecoder('utf-8', { fatal: true });

function checkValue(name: string, value: Uint8Array): void {
  if (name === 'id' || !(PATH_ATTRIBUTES.includes(name) || QUERY_ATTRIBUTES.includes(name))) return;
  let text: string;
  try {
    text = TEXT.decode(value);
  } catch {
    throw bad(`${name} is not UTF-8`);
  }
  // Own keys only: `in` would take 'constructor' or '__proto__' for an object type.
  if (name === 'type' && !Object.hasOwn(URI_OBJECT_TYPES, text)) {
    throw bad(`type must be one of ${Object.keys(URI_OBJECT_TYPES).join(', ')}`);
  }
  if (name === 'library-version' && !/^\d+(\.\d+)?$/.test(text)) {
    throw bad('library-version is MAJOR[.MINOR]');
  }
  if (name === 'slot-id' && !/^\d+$/.test(text)) throw bad('slot-id is a decimal number');
}

function parseComponent(text: string, inQuery: boolean): UriAttribute[] {
  if (text === '') return [];
  const seen = new Set<string>();
  const standard = inQuery ? QUERY_ATTRIBUTES : PATH_ATTRIBUTES;
  return text.split(inQuery ? '&' : ';').map((part) => {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z0-9_-]+$/.test(name)) {
      throw bad(`'${part}' is not name=value`);
    }
    if (!standard.includes(name) && (inQuery ? PATH_ATTRIBUTES : QUERY_ATTRIBUTES).includes(name)) {
      throw bad(`${name} belongs in the ${inQuery ? 'path' : 'query'}`);
    }
    if (standard.includes(name)) {
      if (seen.has(name)) throw bad(`${name} appears twice`);
      seen.add(name);
    }
    const value = decodeValue(part.slice(eq + 1), inQuery, name);
    checkValue(name, value);
    return { name, value };
  });
}

/** Parses a PKCS#11 URI; anything outside RFC 7512 is CKR_ARGUMENTS_BAD saying where. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(text)) throw bad(`'${text}' does not start with pkcs11:`);
  const rest = text.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = parseComponent(q < 0 ? rest : rest.slice(0, q), false);
  const query = q < 0 ? [] : parseComponent(rest.slice(q + 1), true);
  return { path, query };
}

function encodeValue(name: string, value: Uint8Array, inQuery: boolean): string {
  let s = '';
  const hexOnly = name === 'id';
  // Bytes ≥ 0x80 are always percent-encoded; that also keeps UTF-8 sequences intact.
  for (const b of value) {
    const ch = String.fromCharCode(b);
    s +=
      !hexOnly && b < 0x80 && allowed(ch, inQuery)
        ? ch
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** Formats a URI: attributes in the given order, CKA_ID fully percent-encoded, hex in upper case. */
export function formatPkcs11Uri(uri: Pkcs11Uri): string {
  const component = (attrs: UriAttribute[], inQuery: boolean) =>
    attrs
      .map((a) => `${a.name}=${encodeValue(a.name, a.value, inQuery)}`)
      .join(inQuery ? '&' : ';');
  const query = uri.query.length > 0 ? `?${component(uri.query, true)}` : '';
  return `pkcs11:${component(uri.path, false)}${query}`;
}

/** The first value of an attribute (path, then query) as text, or undefined. */
export function uriText(uri: Pkcs11Uri, name: string): string | undefined {
  const a = uri.path.find((x) => x.name === name) ?? uri.query.find((x) => x.name === name);
  return a ? new TextDecoder().decode(a.value) : undefined;
}

/** What a URI selects, in the terms a PKCS#11 search uses. */
export interface UriSelection {
  token: { label?: string; manufacturer?: string; model?: string; serial?: string };
  label?: string;
  id?: Uint8Array;
  objectClass?: number;
  pinValue?: string;
  pinSource?: string;
}

export function uriSelection(uri: Pkcs11Uri): UriSelection {
  const type = uriText(uri, 'type');
  const id = uri.path.find((a) => a.name === 'id')?.value;
  const sel: UriSelection = { token: {} };
  const set = <K extends keyof UriSelection['token']>(k: K, v: string | undefined) => {
    if (v !== undefined) sel.token[k] = v;
  };
  set('label', uriText(uri, 'token'));
  set('manufacturer', uriText(uri, 'manufacturer'));
  set('model', uriText(uri, 'model'));
  set('serial', uriText(uri, 'serial'));
  const label = uriText(uri, 'object');
  if (label !== undefined) sel.label = label;
  if (id !== undefined) sel.id = id;
  if (type !== undefined && Object.hasOwn(URI_OBJECT_TYPES, type))
    sel.objectClass = URI_OBJECT_TYPES[type] as number;
  const pinValue = uri.query.find((a) => a.name === 'pin-value');
  if (pinValue) sel.pinValue = new TextDecoder().decode(pinValue.value);
  const pinSource = uri.query.find((a) => a.name === 'pin-source');
  if (pinSource) sel.pinSource = new TextDecoder().decode(pinSource.value);
  return sel;
}

/** The URI of an object: token fields (trimmed of their blank padding), then object, type and id. */
export function objectUri(o: {
  token?: { label?: string; manufacturerID?: string; model?: string; serialNumber?: string };
  label?: string;
  objectClass?: number;
  id?: Uint8Array;
}): string {
  const path: UriAttribute[] = [];
  const add = (name: string, v: string | undefined) => {
    if (v !== undefined) path.push({ name, value: utf8(v.trimEnd()) });
  };
  add('token', o.token?.label);
  add('manufacturer', o.token?.manufacturerID);
  add('model', o.token?.model);
  add('serial', o.token?.serialNumber);
  add('object', o.label);
  const type = Object.entries(URI_OBJECT_TYPES).find(([, c]) => c === o.objectClass)?.[0];
  add('type', type);
  if (o.id && o.id.length > 0) path.push({ name: 'id', value: o.id });
  return formatPkcs11Uri({ path, query: [] });
}
