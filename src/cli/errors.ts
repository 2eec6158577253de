/**
 * How the command line fails: exit codes that say what went wrong, and a report naming the CKR code
 * with a hint, printed as one line or (with --json) one JSON object. Layer L9 (command line).
 * @module
 */
import { curveList } from '../crypto/curves.js';
import { ckrName } from '../errors.js';
import * as C from '../pkcs11/constants.js';

/** Process exit codes (docs/cli.md lists them). */
export const EXIT = {
  OK: 0,
  /** The token refused the operation (any CKR not listed below). */
  FAILED: 1,
  /** Bad command line: unknown option, missing argument, bad --id, bad URI, bad key type. */
  USAGE: 2,
  /** An input file is missing or unreadable, or not what was expected (malformed PEM/DER, passphrase). */
  INPUT: 3,
  /** PIN problems: wrong, locked, not set, wrong length. */
  AUTH: 4,
  /** No object matches the selection, or several where one is needed. */
  NOT_FOUND: 5,
  /** `verify`: the signature does not verify. */
  BAD_SIGNATURE: 6,
  /** The token store is missing, not initialised, damaged, full or busy. */
  TOKEN: 7,
} as const;

/** A failure the CLI itself diagnosed, with its exit code, an optional hint and the CKR behind it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  readonly hint: string | undefined;
  /** The PKCS#11 return value this diagnosis stands for, when there is one. */
  readonly rv: number | undefined;
  constructor(exitCode: number, message: string, hint?: string, rv?: number) {
    super(message);
    this.exitCode = exitCode;
    this.hint = hint;
    this.rv = rv;
  }
}

const AUTH = new Set([
  C.CKR_PIN_INCORRECT,
  C.CKR_PIN_LOCKED,
  C.CKR_PIN_INVALID,
  C.CKR_PIN_LEN_RANGE,
  C.CKR_PIN_EXPIRED,
  C.CKR_USER_NOT_LOGGED_IN,
  C.CKR_USER_PIN_NOT_INITIALIZED,
  C.CKR_USER_TYPE_INVALID,
]);
const INPUT = new Set([C.CKR_ARGUMENTS_BAD, C.CKR_CURVE_NOT_SUPPORTED]);
const TOKEN = new Set([
  C.CKR_TOKEN_NOT_RECOGNIZED,
  C.CKR_TOKEN_NOT_PRESENT,
  C.CKR_DEVICE_ERROR,
  C.CKR_DEVICE_MEMORY,
  C.CKR_DEVICE_REMOVED,
  C.CKR_SESSION_EXISTS,
  C.CKR_SESSION_READ_WRITE_SO_EXISTS,
  C.CKR_TOKEN_WRITE_PROTECTED,
]);

const HINTS = new Map<number, string>([
  [C.CKR_PIN_INCORRECT, 'check --pin or COREPKCS11_PIN; the PIN locks after too many wrong tries'],
  [C.CKR_PIN_LOCKED, 'the SO can set a new user PIN: corepkcs11 init-pin --so-pin SO --pin NEW'],
  [
    C.CKR_USER_PIN_NOT_INITIALIZED,
    'set the user PIN first: corepkcs11 init-pin --so-pin SO --pin NEW',
  ],
  [C.CKR_PIN_LEN_RANGE, '`corepkcs11 info` shows the PIN lengths the token takes'],
  [C.CKR_USER_NOT_LOGGED_IN, 'give the user PIN (--pin, COREPKCS11_PIN)'],
  [C.CKR_MECHANISM_INVALID, '`corepkcs11 info --mechanisms` lists what the token can do'],
  [C.CKR_KEY_TYPE_INCONSISTENT, 'the key cannot be used with this mechanism (see -m)'],
  [C.CKR_KEY_FUNCTION_NOT_PERMITTED, 'the key is not allowed this operation (CKA_SIGN/VERIFY…)'],
  [C.CKR_DEVICE_MEMORY, 'the token store is full: delete objects or use a larger store'],
  [C.CKR_DEVICE_ERROR, 'the token store could not be read or written'],
  [
    C.CKR_SESSION_EXISTS,
    'close the other sessions first (is `corepkcs11 serve` running on this store?)',
  ],
  [C.CKR_SESSION_READ_WRITE_SO_EXISTS, 'an SO session is open elsewhere on this store'],
  [C.CKR_TOKEN_NOT_RECOGNIZED, 'initialise the token: corepkcs11 init-token'],
  [C.CKR_CURVE_NOT_SUPPORTED, `the token supports ${curveList()}`],
  [C.CKR_DATA_LEN_RANGE, 'the input has the wrong length for this mechanism'],
]);

/** The exit code for a PKCS#11 return value. */
export function exitCodeOf(rv: number): number {
  if (AUTH.has(rv)) return EXIT.AUTH;
  if (INPUT.has(rv)) return EXIT.INPUT;
  if (TOKEN.has(rv)) return EXIT.TOKEN;
  if (rv === C.CKR_SIGNATURE_INVALID || rv === C.CKR_SIGNATURE_LEN_RANGE) return EXIT.BAD_SIGNATURE;
  if (rv === C.CKR_OBJECT_HANDLE_INVALID) return EXIT.NOT_FOUND;
  return EXIT.FAILED;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

/** What a failed command reports: the same facts for the one-line message and for `--json`. */
export interface ErrorReport {
  exitCode: number;
  /** What went wrong, on one line, without the hint. */
  error: string;
  /** The PKCS#11 return value behind it, when there is one. */
  ckr: { name: string; code: number } | null;
  hint: string | null;
  /** `error (hint: …)`: the line printed after `corepkcs11 COMMAND: `. */
  message: string;
}

/** `error` and `hint` as given: strings they quote keep their newlines (printing escapes them). */
function report(exitCode: number, error: string, hint?: string, rv?: number): ErrorReport {
  return {
    exitCode,
    error,
    ckr: rv === undefined ? null : { name: ckrName(rv), code: rv },
    hint: hint ?? null,
    message: hint ? `${error} (hint: ${hint})` : error,
  };
}

/** Exit code, message and CKR for any error a command throws. */
export function describeError(e: unknown): ErrorReport {
  if (e instanceof CliError) return report(e.exitCode, e.message, e.hint, e.rv);
  const rv = (e as { code?: unknown })?.code;
  if (typeof rv === 'number' && e instanceof Error) {
    const detail = (e as { detail?: unknown }).detail;
    const method = (e as { method?: unknown }).method;
    const why = typeof detail === 'string' && detail ? `: ${detail}` : '';
    const where = typeof method === 'string' && method ? ` in ${method}` : '';
    // The token's details may span lines; they are ours, not quoted input: join them.
    return report(exitCodeOf(rv), oneLine(`${ckrName(rv)}${where}${why}`), HINTS.get(rv), rv);
  }
  if (e instanceof TypeError && /token store/.test(e.message)) {
    return report(EXIT.USAGE, oneLine(e.message));
  }
  return report(EXIT.FAILED, oneLine(e instanceof Error ? e.message : String(e)));
}
