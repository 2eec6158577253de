/**
 * `corepkcs11 sign`, `verify`, `digest` and `random`: the token's crypto on files of any size, streamed
 * through the multi-part calls (input.ts). Signatures are DER by default (what `openssl dgst -verify`
 * takes; ECDSA and DSA r‖s converted) or raw with --format raw.
 * Layer L9 (command line).
 * @module
 */
import { findPublicKeyFor, isPrivateKey } from '../helpers/keygen.js';
import { curveOfEcParams } from '../helpers/keys.js';
import { readUlongAttribute } from '../helpers/module.js';
import {
  dsaDerToRaw,
  dsaRawToDer,
  EC_COMPONENT_BYTES,
  ecdsaDerToRaw,
  ecdsaRawToDer,
} from '../helpers/pki.js';
import * as C from '../pkcs11/constants.js';
import { loggedIn, maybeLoggedIn, type Token, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { MAX_SIGNATURE_FILE, openInput, readInput, streamInput } from './input.js';
import { isDsa, isEcdsa, mechanismFor, mechanismName, parseMechanism } from './mechanisms.js';
import {
  COMMON_HELP,
  flag,
  type Parsed,
  PIN_HELP,
  parseCommand,
  quiet,
  required,
  str,
} from './options.js';
import { hex, printJson, say, type Written, writeOutput } from './output.js';
import {
  checkTokenMatches,
  SELECT_HELP,
  SELECT_OPTIONS,
  selectionOf,
  selectOne,
} from './select.js';

const IO_OPTIONS = {
  mechanism: { type: 'string', short: 'm' },
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
} as const;

/** The mechanism a key signs with when -m names none. */
const DEFAULT_MECHANISM: ReadonlyMap<number, number> = new Map([
  [C.CKK_EC, C.CKM_ECDSA_SHA256],
  [C.CKK_EC_EDWARDS, C.CKM_EDDSA],
  [C.CKK_DSA, C.CKM_DSA_SHA256],
]);

function defaultMechanism(t: Token, s: Buffer, key: Buffer): number {
  const keyType = readUlongAttribute(t.p11, s, key, C.CKA_KEY_TYPE);
  return DEFAULT_MECHANISM.get(keyType ?? -1) ?? C.CKM_SHA256_RSA_PKCS;
}

function signatureFormat(p: Parsed, auto: boolean): 'der' | 'raw' | 'auto' {
  const f = str(p, 'format') ?? (auto ? 'auto' : 'der');
  const aliases: Record<string, 'der' | 'raw' | 'auto'> = {
    der: 'der',
    openssl: 'der',
    sequence: 'der',
    raw: 'raw',
    rs: 'raw',
    auto: 'auto',
  };
  const v = aliases[f];
  if (!v || (v === 'auto' && !auto))
    throw new CliError(EXIT.USAGE, `--format is der or raw${auto ? ' (or auto)' : ''}, not '${f}'`);
  return v;
}

/** Binary to -o or a pipe (hex on a terminal); with --json, the file written is reported. */
function emit(p: Parsed, data: Uint8Array, format: string, json: Record<string, unknown>): void {
  const out = str(p, 'output');
  if (flag(p, 'json')) {
    const written: Written | undefined =
      out === undefined ? undefined : writeOutput(out, data, { format, quiet: quiet(p) });
    printJson({ ...json, ...(written ? { output: written } : {}) });
  } else if (out === undefined && process.stdout.isTTY) say(hex(data));
  else writeOutput(out, data, { format, quiet: quiet(p) });
}

/** How a streamed input reaches the token: progress hidden by --quiet and --json. */
function streaming(p: Parsed, verb: string, mechanism: number) {
  return { verb, mechanism: mechanismName(mechanism), quiet: quiet(p) || flag(p, 'json') };
}

/** The largest signature or digest the token makes (RSA 16384). */
const OUT_BYTES = 2048;

const SIGN_HELP = `usage: corepkcs11 sign (--label L | --id HEX | pkcs11:URI) [-m MECH] [-i IN] [-o OUT] [options]

Sign a file of any size (streamed to the token in parts) with a private key on the token. ECDSA
and DSA signatures are written as DER (for openssl dgst -verify) unless --format raw asks for PKCS#11's
r‖s. ECDSA, DSA, RSA-PKCS, RSA-PKCS-PSS and RSA-X-509 sign a digest or block made for the key, in one
part of at most 1 MiB.
${SELECT_HELP}
  -m, --mechanism M  ECDSA-SHA256 (EC default), EDDSA (Ed25519/Ed448 default), DSA-SHA256 (DSA
                   default), SHA256-RSA-PKCS (RSA default), ECDSA or DSA (input is a digest),
                   SHA256-RSA-PKCS-PSS, RSA-PKCS-PSS, … (see info --mechanisms)
  -i, --input F    data to sign, any size (default: stdin)
  -o, --output F   signature file (default: stdout, hex on a terminal)
  -f, --format F   der (default) or raw (ECDSA and DSA only)
${PIN_HELP}
${COMMON_HELP}`;

export async function signCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { ...SELECT_OPTIONS, ...IO_OPTIONS }, SIGN_HELP, 'uri');
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  const format = signatureFormat(p, false);
  const mech = str(p, 'mechanism');
  const type = mech === undefined ? undefined : parseMechanism(mech);
  const input = openInput(str(p, 'input'));
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const s = await loggedIn(t, p, 'user', sel.uri);
    const key = selectOne(t.p11, s, sel, C.CKO_PRIVATE_KEY);
    const m = type ?? defaultMechanism(t, s, key);
    const raw = await streamInput(
      input,
      {
        init: (head) => t.p11.C_SignInit(s, mechanismFor(m, head), key),
        whole: (data) => Uint8Array.from(t.p11.C_Sign(s, data, Buffer.alloc(OUT_BYTES))),
        update: (part) => t.p11.C_SignUpdate(s, part),
        final: () => Uint8Array.from(t.p11.C_SignFinal(s, Buffer.alloc(OUT_BYTES))),
      },
      streaming(p, 'signing', m),
    );
    const rs = isEcdsa(m) || isDsa(m);
    const der = rs && format === 'der';
    const sig = der ? (isEcdsa(m) ? ecdsaRawToDer : dsaRawToDer)(raw) : raw;
    emit(p, sig, der ? 'DER' : 'raw', {
      mechanism: mechanismName(m),
      format: rs ? format : 'raw',
      signature: sig,
    });
    return EXIT.OK;
  });
}

/**
 * An ECDSA or DSA signature as PKCS#11's r‖s for `key`; `auto` takes DER when it parses, else raw of
 * the key's length (each half as wide as the curve order or the DSA subprime). Others pass unchanged.
 */
function rawSignature(
  t: Token,
  s: Buffer,
  key: Buffer,
  m: number,
  sig: Uint8Array,
  format: 'der' | 'raw' | 'auto',
): Uint8Array {
  if (format === 'raw' || !(isEcdsa(m) || isDsa(m))) return sig;
  const attr = isEcdsa(m) ? C.CKA_EC_PARAMS : C.CKA_SUBPRIME;
  const [a] = t.p11.C_GetAttributeValue(s, key, [{ type: attr }]);
  const value = a?.value as Buffer;
  const curve = isEcdsa(m) ? curveOfEcParams(value) : undefined;
  const width = curve ? EC_COMPONENT_BYTES[curve] : value.length;
  try {
    return curve ? ecdsaDerToRaw(sig, curve) : dsaDerToRaw(sig, width);
  } catch (e) {
    if (format === 'auto' && sig.length === 2 * width) return sig;
    throw e;
  }
}

const VERIFY_HELP = `usage: corepkcs11 verify (--label L | --id HEX | pkcs11:URI) -m MECH -i IN --signature-file SIG [options]

Verify a signature with a public key on the token (the key pair's public key when the selection
names a private key) over data of any size (streamed in parts). Exit status 0 when it verifies, 6
when it does not.
${SELECT_HELP}
  -m, --mechanism M      as for sign (default by key type)
  -i, --input F          the signed data, any size (default: stdin)
  -s, --signature-file F the signature (at most 64 KiB)
  -f, --format F         auto (default: DER, or raw r‖s by its length), der or raw
${PIN_HELP}
${COMMON_HELP}`;

export async function verifyCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...SELECT_OPTIONS,
      ...IO_OPTIONS,
      'signature-file': { type: 'string', short: 's' },
      signature: { type: 'string' },
    },
    VERIFY_HELP,
    'uri',
  );
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  const format = signatureFormat(p, true);
  const mech = str(p, 'mechanism');
  const type = mech === undefined ? undefined : parseMechanism(mech);
  const sigFile = str(p, 'signature-file') ?? required(p, 'signature', '--signature-file');
  const signature = Uint8Array.from(await readInput(sigFile, 'signature', MAX_SIGNATURE_FILE));
  const input = openInput(str(p, 'input'));
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const { session: s } = await maybeLoggedIn(t, p, sel.uri);
    let key = selectOne(t.p11, s, sel, sel.objectClass ?? C.CKO_PUBLIC_KEY);
    if (isPrivateKey(t.p11, s, key)) {
      const pub = findPublicKeyFor(t.p11, s, key);
      if (!pub)
        throw new CliError(EXIT.NOT_FOUND, 'no public key object pairs with this private key');
      key = pub;
    }
    const m = type ?? defaultMechanism(t, s, key);
    const sig = Buffer.from(rawSignature(t, s, key, m, signature, format));
    try {
      await streamInput(
        input,
        {
          init: (head) => t.p11.C_VerifyInit(s, mechanismFor(m, head), key),
          whole: (data) => t.p11.C_Verify(s, data, sig),
          update: (part) => t.p11.C_VerifyUpdate(s, part),
          final: () => t.p11.C_VerifyFinal(s, sig),
        },
        streaming(p, 'verifying', m),
      );
    } catch (e) {
      if ((e as { code?: unknown }).code === C.CKR_SIGNATURE_INVALID) {
        throw new CliError(
          EXIT.BAD_SIGNATURE,
          'CKR_SIGNATURE_INVALID: the signature does not verify',
          undefined,
          C.CKR_SIGNATURE_INVALID,
        );
      }
      throw e;
    }
    if (flag(p, 'json')) printJson({ valid: true, mechanism: mechanismName(m) });
    else say('Signature is valid');
    return EXIT.OK;
  });
}

const DIGEST_HELP = `usage: corepkcs11 digest [-m SHA256] [-i IN] [-o OUT] [options]

Hash a file of any size on the token (streamed in parts): SHA-1, SHA224, SHA256 (default), SHA384,
SHA512. Prints hex, or writes the binary digest with -o.
  -m, --mechanism M  the hash
  -i, --input F      data (default: stdin)
  -o, --output F     binary digest file
${COMMON_HELP}`;

export async function digestCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      mechanism: { type: 'string', short: 'm' },
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
    },
    DIGEST_HELP,
  );
  if (!p) return EXIT.OK;
  const m = parseMechanism(str(p, 'mechanism') ?? 'SHA256');
  const input = openInput(str(p, 'input'));
  return withToken(p, async (t) => {
    const { session } = await maybeLoggedIn(t, p, undefined, false);
    const digest = await streamInput(
      input,
      {
        init: () => t.p11.C_DigestInit(session, { mechanism: m }),
        whole: (data) => Uint8Array.from(t.p11.C_Digest(session, data, Buffer.alloc(64))),
        update: (part) => t.p11.C_DigestUpdate(session, part),
        final: () => Uint8Array.from(t.p11.C_DigestFinal(session, Buffer.alloc(64))),
      },
      streaming(p, 'hashing', m),
    );
    const out = str(p, 'output');
    if (out === undefined && !flag(p, 'json')) say(hex(digest));
    else emit(p, digest, 'binary', { mechanism: mechanismName(m), digest });
    return EXIT.OK;
  });
}

const RANDOM_HELP = `usage: corepkcs11 random [N] [-o OUT] [options]

N random bytes (default 32) from the token's generator, as hex or, with -o, binary.
  -o, --output F   binary output file
${COMMON_HELP}`;

export async function randomCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { output: { type: 'string', short: 'o' } }, RANDOM_HELP, { max: 1 });
  if (!p) return EXIT.OK;
  const n = Number(p.positionals[0] ?? '32');
  if (!Number.isInteger(n) || n < 1 || n > 1 << 20)
    throw new CliError(EXIT.USAGE, `N must be 1–1048576 bytes, not '${p.positionals[0]}'`);
  return withToken(p, async (t) => {
    const { session } = await maybeLoggedIn(t, p, undefined, false);
    const bytes = Uint8Array.from(t.p11.C_GenerateRandom(session, Buffer.alloc(n)));
    if (str(p, 'output') === undefined && !flag(p, 'json')) say(hex(bytes));
    else emit(p, bytes, 'binary', { random: bytes });
    return EXIT.OK;
  });
}
