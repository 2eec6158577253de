/**
 * X.501 distinguished names: OpenSSL's `/CN=device/O=Acme` subject syntax (as `openssl req -subj` takes
 * it) → DER Name, and a DER Name → RFC 4514 text for listings. Layer L7.
 * @module
 */
import { concat, fromUtf8, utf8 } from '../util/bytes.js';
import {
  decodeOid,
  encodeOid,
  encodeSequence,
  encodeTlv,
  readChildren,
  readSingle,
  TAG_OID,
  TAG_PRINTABLE_STRING,
  TAG_SEQUENCE,
} from '../util/der.js';
import { parsing } from './keys.js';
import { badInput } from './module.js';

const TAG_UTF8_STRING = 0x0c;
const TAG_IA5_STRING = 0x16;
const TAG_SET = 0x31;

interface AttributeType {
  oid: string;
  names: string[];
  tag: number;
}

const TYPES: AttributeType[] = [
  { oid: '2.5.4.3', names: ['CN', 'commonName'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.6', names: ['C', 'countryName'], tag: TAG_PRINTABLE_STRING },
  { oid: '2.5.4.7', names: ['L', 'localityName'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.8', names: ['ST', 'stateOrProvinceName'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.9', names: ['street', 'streetAddress'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.10', names: ['O', 'organizationName'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.11', names: ['OU', 'organizationalUnitName'], tag: TAG_UTF8_STRING },
  { oid: '2.5.4.5', names: ['serialNumber'], tag: TAG_PRINTABLE_STRING },
  { oid: '2.5.4.12', names: ['title'], tag: TAG_UTF8_STRING },
  { oid: '0.9.2342.19200300.100.1.1', names: ['UID', 'userId'], tag: TAG_UTF8_STRING },
  { oid: '0.9.2342.19200300.100.1.25', names: ['DC', 'domainComponent'], tag: TAG_IA5_STRING },
  { oid: '1.2.840.113549.1.9.1', names: ['emailAddress'], tag: TAG_IA5_STRING },
];

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function typeOf(name: string): AttributeType {
  const t = TYPES.find((x) => x.names.some((n) => n.toLowerCase() === name.toLowerCase()));
  if (t) return t;
  if (/^\d+(\.\d+)+$/.test(name)) return { oid: name, names: [name], tag: TAG_UTF8_STRING };
  throw badInput(
    `unknown subject attribute '${name}' (use CN, O, OU, C, ST, L, … or a dotted OID)`,
  );
}

/** `/a=1+b=2/c=3` → [['a=1','b=2'],['c=3']], with `\\` escaping the next character. */
function splitSubject(text: string): string[][] {
  const rdns: string[][] = [[]];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else if (ch === '/' || ch === '+') {
      (rdns[rdns.length - 1] as string[]).push(cur);
      cur = '';
      if (ch === '/') rdns.push([]);
    } else cur += ch;
  }
  (rdns[rdns.length - 1] as string[]).push(cur);
  return rdns;
}

function encodeAttribute(pair: string): Uint8Array {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw badInput(`subject component '${pair}' is not type=value`);
  const t = typeOf(pair.slice(0, eq).trim());
  const value = pair.slice(eq + 1);
  if (value === '') throw badInput(`subject attribute ${pair.slice(0, eq)} has an empty value`);
  if (t.tag === TAG_PRINTABLE_STRING && !PRINTABLE.test(value)) {
    throw badInput(
      `${t.names[0]} must be a PrintableString (letters, digits, spaces, '()+,-./:=?)`,
    );
  }
  if (t.oid === '2.5.4.6' && value.length !== 2) throw badInput('C (country) is two letters');
  if (t.tag === TAG_IA5_STRING && [...value].some((ch) => ch.charCodeAt(0) > 0x7f))
    throw badInput(`${t.names[0]} must be ASCII`);
  return encodeSequence(encodeOid(t.oid), encodeTlv(t.tag, utf8(value)));
}

/**
 * DER Name from OpenSSL's subject syntax: `/type=value/...`, `+` joining the parts of a multi-valued
 * RDN, `\` escaping `/`, `+` or `\`. CN, O and the like are UTF8String; C and serialNumber
 * PrintableString; emailAddress and DC IA5String.
 */
export function parseSubject(subject: string): Uint8Array {
  if (!subject.startsWith('/'))
    throw badInput(`a subject starts with '/', as in /CN=device/O=Acme`);
  const rdns = splitSubject(subject.slice(1));
  // A trailing '/' is harmless (openssl accepts it).
  if (rdns.length > 1 && rdns[rdns.length - 1]?.join('') === '') rdns.pop();
  if (rdns.some((r) => r.some((a) => a === '')))
    throw badInput('the subject has an empty component');
  const encoded = rdns.map((rdn) => {
    const attrs = rdn.map(encodeAttribute);
    // DER orders a SET OF by its elements' encodings.
    attrs.sort(compareBytes);
    return encodeTlv(TAG_SET, concat(...attrs));
  });
  return encodeSequence(...encoded);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

function escape4514(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** RFC 4514 text of a DER Name: most specific RDN first, `CN=device,O=Acme`. */
export function formatName(der: Uint8Array): string {
  return parsing('distinguished name', () => {
    const rdns = readChildren(readSingle(der, TAG_SEQUENCE).value).map((set) =>
      readChildren(set.value)
        .map((atv) => {
          const [oid, value] = readChildren(atv.value);
          if (oid?.tag !== TAG_OID || !value) return '?';
          const id = decodeOid(oid.value);
          const name = TYPES.find((t) => t.oid === id)?.names[0] ?? id;
          return `${name}=${escape4514(fromUtf8(value.value))}`;
        })
        .join('+'),
    );
    return rdns.reverse().join(',');
  });
}
