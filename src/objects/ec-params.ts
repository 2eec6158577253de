/**
 * CKA_EC_PARAMS → the curve of the table (crypto/curves.ts) it names, in the three forms PKCS#11 allows
 * (v2.40 mechanisms §2.3.3, 3.0 §2.3.7): the DER of a namedCurve OID; a curve name as a
 * PrintableString; explicit ECParameters (SEC 1 v2 §C.2, RFC 3279 §2.3.5) whose field, coefficients,
 * base point, order and cofactor equal those of a curve of the table. A well-formed value for a curve
 * the token does not have is CKR_CURVE_NOT_SUPPORTED, on every path (generation, import, use);
 * malformed DER is CKR_ATTRIBUTE_VALUE_INVALID. Layer L3.
 * @module
 */
import { numbersOf, type WeierstrassNumbers } from '../crypto/curve-domains.js';
import {
  CURVES,
  type Curve,
  type CurveName,
  curve,
  curveNamed,
  curveOfOid,
} from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { bytesToBigInt } from '../util/bigint.js';
import { fromUtf8 } from '../util/bytes.js';
import {
  DerError,
  decodeOid,
  readChildren,
  readSingle,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_NULL,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_PRINTABLE_STRING,
  TAG_SEQUENCE,
  type Tlv,
} from '../util/der.js';
import { PROFILE_LIMITS, type Profile } from './profile.js';

/** X9.62 prime-field (the only field type of the table's curves). */
const PRIME_FIELD = '1.2.840.10045.1.1';

/** The explicit parameters of a curve, as numbers to compare with. */
interface Domain extends WeierstrassNumbers {
  readonly row: Curve;
}

let domains: Domain[] | undefined;

function tableDomains(): Domain[] {
  domains ??= CURVES.flatMap((row) =>
    row.weierstrass ? [{ row, ...numbersOf(row.weierstrass) }] : [],
  );
  return domains;
}

const unsupported = (what: string) =>
  new Pkcs11Error(C.CKR_CURVE_NOT_SUPPORTED, `curve ${what} is not supported`);

function field(t: Tlv | undefined, tag: number, what: string): Uint8Array {
  if (t?.tag !== tag) throw new DerError(`ECParameters: ${what} is missing`);
  return t.value;
}

const int = (t: Tlv | undefined, what: string) => bytesToBigInt(field(t, TAG_INTEGER, what));

/**
 * The table's curve whose parameters an explicit ECParameters SEQUENCE holds. The base point may be
 * uncompressed or compressed (its parity byte must agree); the seed is ignored; a cofactor, if given,
 * must be 1 (every curve of the table has prime order).
 */
function curveOfExplicit(sequence: Uint8Array): Curve {
  const [version, fieldId, curveSeq, base, order, cofactor, ...extra] = readChildren(sequence);
  if (extra.length > 0) throw new DerError('ECParameters: unexpected fields');
  if (int(version, 'version') !== 1n) throw new DerError('ECParameters: version must be 1');
  const [fieldType, prime] = readChildren(field(fieldId, TAG_SEQUENCE, 'fieldID'));
  const fieldOid = decodeOid(field(fieldType, TAG_OID, 'fieldType'));
  if (fieldOid !== PRIME_FIELD) throw unsupported(`over the field ${fieldOid}`);
  const [a, b, seed, ...more] = readChildren(field(curveSeq, TAG_SEQUENCE, 'curve'));
  if (more.length > 0 || (seed && seed.tag !== TAG_BIT_STRING)) {
    throw new DerError('ECParameters: curve has unexpected fields');
  }
  const g = field(base, TAG_OCTET_STRING, 'base');
  const given = {
    p: int(prime, 'prime'),
    a: bytesToBigInt(field(a, TAG_OCTET_STRING, 'a')),
    b: bytesToBigInt(field(b, TAG_OCTET_STRING, 'b')),
    n: int(order, 'order'),
    h: cofactor === undefined ? 1n : int(cofactor, 'cofactor'),
  };
  const found = tableDomains().find((d) => {
    if (d.p !== given.p || d.a !== given.a || d.b !== given.b || d.n !== given.n) return false;
    const size = d.row.fieldBytes;
    if (g.length === 1 + 2 * size && g[0] === 0x04) {
      return bytesToBigInt(g, 1, size) === d.gx && bytesToBigInt(g, 1 + size, size) === d.gy;
    }
    const parity = (d.gy & 1n) === 1n ? 0x03 : 0x02;
    return g.length === 1 + size && g[0] === parity && bytesToBigInt(g, 1, size) === d.gx;
  });
  if (!found || given.h !== 1n) throw unsupported('given by explicit parameters');
  return found.row;
}

/**
 * The curve CKA_EC_PARAMS names (see the module comment for the forms and the CKR of each failure); with
 * `family`, a curve of another family (an X25519 name on a CKK_EC_EDWARDS key) is `familyCode`.
 */
export function curveOf(
  ecParams: Uint8Array,
  family?: Curve['family'],
  familyCode: number = C.CKR_CURVE_NOT_SUPPORTED,
): CurveName {
  const name = namedBy(ecParams);
  if (family !== undefined && curve(name).family !== family) {
    throw new Pkcs11Error(familyCode, `${name} is not a ${family} curve`);
  }
  return name;
}

function namedBy(ecParams: Uint8Array): CurveName {
  try {
    const tlv = readSingle(ecParams);
    if (tlv.tag === TAG_OID) {
      const oid = decodeOid(tlv.value);
      const c = curveOfOid(oid);
      if (!c) throw unsupported(oid);
      return c.name;
    }
    if (tlv.tag === TAG_PRINTABLE_STRING) {
      const name = fromUtf8(tlv.value);
      const c = curveNamed(name);
      if (!c) throw unsupported(`'${name}'`);
      return c.name;
    }
    if (tlv.tag === TAG_SEQUENCE) return curveOfExplicit(tlv.value).name;
    if (tlv.tag === TAG_NULL) throw unsupported('implicitlyCA');
    throw new DerError('not a namedCurve OID, a curve name or ECParameters');
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new Pkcs11Error(C.CKR_ATTRIBUTE_VALUE_INVALID, `CKA_EC_PARAMS: ${e.message}`);
  }
}

/**
 * The curve CKA_EC_PARAMS names, if a token of `profile` offers it: `strict` has no curve below 224
 * bits (PROFILE_LIMITS.minCurveBits), so P-192 and brainpoolP160/192 are CKR_CURVE_NOT_SUPPORTED there.
 */
export function curveForProfile(ecParams: Uint8Array, profile: Profile): CurveName {
  const name = curveOf(ecParams);
  const min = PROFILE_LIMITS[profile].minCurveBits;
  if (curve(name).orderBits < min) {
    throw new Pkcs11Error(
      C.CKR_CURVE_NOT_SUPPORTED,
      `${name} is below the ${min} bits of a ${profile} token`,
    );
  }
  return name;
}
