/**
 * What every command stands on: the token store named by --store (directory, flash:IMAGE, memory:),
 * opened with PIN iterations from $COREPKCS11_PIN_ITERATIONS (below the token's floor of 10,000 only with
 * $COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS=1, for tests); PINs from the flag, a PKCS#11 URI, the
 * environment or a no-echo prompt; logged-in sessions; and the module finalised and closed afterwards.
 * Layer L9 (command line).
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { openStore, PKCS11 } from '../create.js';
import { firstSlot, initializePkcs11, initializePkcs11Session } from '../helpers/core.js';
import type { Handle } from '../helpers/module.js';
import type { UriSelection } from '../helpers/uri.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { TokenInfo } from '../pkcs11/types.js';
import { DAMAGE_WARNING } from '../token/storage-health.js';
import { CliError, EXIT } from './errors.js';
import { type Parsed, str } from './options.js';
import { warnLine } from './output.js';
import { canPrompt, promptSecret } from './prompt.js';

export interface Token {
  p11: PKCS11;
  slot: Handle;
  store: string;
  info(): TokenInfo;
  /** What the token warned about when it opened the store (damage, unreadable records). */
  warnings: string[];
}

/** The --store value: flag, $COREPKCS11_STORE, or `.token`. */
export function storeOf(p: Parsed): string {
  return str(p, 'store') ?? process.env.COREPKCS11_STORE ?? '.token';
}

/** PBKDF2 iterations for new PINs from $COREPKCS11_PIN_ITERATIONS, or undefined for the default. */
function pinIterations(): number | undefined {
  const v = process.env.COREPKCS11_PIN_ITERATIONS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new CliError(
      EXIT.USAGE,
      `COREPKCS11_PIN_ITERATIONS must be a positive integer, not '${v}'`,
    );
  }
  return n;
}

/**
 * Token options the environment sets: PBKDF2 iterations for new PINs, and whether a count below the floor
 * is accepted ($COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS=1, for tests).
 */
export function envTokenOptions(): { pinIterations?: number; allowWeakPinIterations: boolean } {
  const iterations = pinIterations();
  return {
    ...(iterations ? { pinIterations: iterations } : {}),
    allowWeakPinIterations: process.env.COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS === '1',
  };
}

/**
 * Opens the token store for a command that serves it (remote, serve): a refused option (a weak
 * $COREPKCS11_PIN_ITERATIONS, an unknown store scheme) is a usage error, exit 2.
 */
export function openServedStore(
  store: string,
  warn?: (m: string) => void,
): ReturnType<typeof openStore> {
  try {
    return openStore(store, { ...envTokenOptions(), ...(warn ? { warn } : {}) });
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(EXIT.USAGE, e.message);
    throw e;
  }
}

/**
 * Fails with exit code 7 unless `store` names an existing directory or flash image (or memory:): a typo
 * must not make a new empty token.
 */
export function requireStore(store: string): void {
  if (store === 'memory:') return;
  const path = store.replace(/^(file|flash):/, '');
  if (!existsSync(path)) {
    throw new CliError(
      EXIT.TOKEN,
      `no token store at ${path}`,
      'create one with corepkcs11 init-token --store …',
    );
  }
  if (!store.startsWith('flash:') && !statSync(path).isDirectory()) {
    throw new CliError(
      EXIT.TOKEN,
      `${path} is not a token directory`,
      'for a flash image use --store flash:FILE',
    );
  }
}

/**
 * Opens the store and runs `fn` with it, finalising and closing the module afterwards. Unless `create`,
 * a directory or flash image that does not exist is an error (a typo must not make a new empty token).
 */
export async function withToken<T>(
  p: Parsed,
  fn: (t: Token) => Promise<T> | T,
  options: { create?: boolean; profile?: Profile } = {},
): Promise<T> {
  const store = storeOf(p);
  if (!options.create) requireStore(store);
  const warnings: string[] = [];
  let p11: PKCS11;
  try {
    p11 = new PKCS11(store, {
      ...envTokenOptions(),
      ...(options.create ? { create: true } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
      warn: (m) => warnings.push(m),
    });
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(EXIT.USAGE, e.message);
    throw e;
  }
  for (const w of warnings) warnLine(`corepkcs11: warning: ${w}`);
  try {
    initializePkcs11(p11);
    const slot = firstSlot(p11);
    return await fn({
      p11,
      slot,
      store,
      info: () => numericInfo(p11.C_GetTokenInfo(slot)),
      warnings,
    });
  } finally {
    try {
      p11.C_Finalize();
    } catch {
      // already finalised, or the token failed: the command's own error matters more
    }
    p11.close();
  }
}

/**
 * CK_TOKEN_INFO with plain numbers: the pkcs11js-shaped API gives the memory fields as BigInts (as
 * pkcs11js does), which JSON cannot carry; CK_UNAVAILABLE_INFORMATION is -1 again, as everywhere else.
 */
function numericInfo(info: TokenInfo): TokenInfo {
  const n = (v: number) => {
    const b = BigInt(v);
    return b === 2n ** 64n - 1n ? -1 : Number(b);
  };
  return {
    ...info,
    totalPublicMemory: n(info.totalPublicMemory),
    freePublicMemory: n(info.freePublicMemory),
    totalPrivateMemory: n(info.totalPrivateMemory),
    freePrivateMemory: n(info.freePrivateMemory),
  };
}

/** The token's damage reports, without their prefix. */
export function damageOf(t: Token): string[] {
  const mine = t.warnings.filter((w) => w.startsWith(DAMAGE_WARNING));
  return mine.map((w) => w.slice(DAMAGE_WARNING.length));
}

/**
 * Fails with exit code 7 and a hint when the token has not been initialised yet, or when its record
 * cannot be read because the store is damaged (then the hint is fsck, never init-token).
 */
export function requireInitialized(t: Token): TokenInfo {
  const info = t.info();
  const damage = damageOf(t);
  if (!(info.flags & C.CKF_TOKEN_INITIALIZED) && damage.length > 0) {
    throw new CliError(
      EXIT.TOKEN,
      `the token in ${t.store} is damaged: ${damage[0]}`,
      `corepkcs11 fsck --store ${t.store} reports it; fsck --repair rewrites what can be read`,
    );
  }
  if (!(info.flags & C.CKF_TOKEN_INITIALIZED)) {
    throw new CliError(
      EXIT.TOKEN,
      `the token in ${t.store} is not initialised`,
      'corepkcs11 init-token --label NAME --so-pin SO --pin PIN',
    );
  }
  return info;
}

function readPinSource(source: string): string {
  if (!source.startsWith('file:')) {
    throw new CliError(EXIT.USAGE, `pin-source '${source}' is not supported (use file:PATH)`);
  }
  const path = source.slice('file:'.length);
  try {
    return (readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  } catch (e) {
    throw new CliError(EXIT.INPUT, `cannot read the PIN from ${path}: ${(e as Error).message}`);
  }
}

/**
 * A PIN from, in order: the flag, the object URI (pin-value, pin-source=file:), the environment
 * variable, a no-echo prompt on a terminal. Null when none is available and `optional`.
 */
export async function resolvePin(
  p: Parsed,
  who: 'user' | 'so',
  uri?: UriSelection,
  optional = false,
): Promise<string | null> {
  const flagName = who === 'user' ? 'pin' : 'so-pin';
  const env = who === 'user' ? 'COREPKCS11_PIN' : 'COREPKCS11_SO_PIN';
  const fromFlag = str(p, flagName);
  if (fromFlag !== undefined) return fromFlag;
  if (who === 'user' && uri?.pinValue !== undefined) return uri.pinValue;
  if (who === 'user' && uri?.pinSource !== undefined) return readPinSource(uri.pinSource);
  const fromEnv = process.env[env];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (optional) return null;
  if (canPrompt()) return promptSecret(who === 'user' ? 'User PIN: ' : 'SO PIN: ');
  throw new CliError(
    EXIT.USAGE,
    `the ${who === 'user' ? 'user' : 'SO'} PIN is needed`,
    `--${flagName}, $${env}, or run on a terminal to be asked`,
  );
}

/** A read/write session logged in as the user (or the SO). */
export async function loggedIn(
  t: Token,
  p: Parsed,
  who: 'user' | 'so' = 'user',
  uri?: UriSelection,
): Promise<Handle> {
  requireInitialized(t);
  const pin = (await resolvePin(p, who, uri)) as string;
  return initializePkcs11Session(t.p11, {
    pin,
    slot: t.slot,
    userType: who === 'user' ? C.CKU_USER : C.CKU_SO,
  });
}

/** A session logged in when a PIN is at hand (flag, URI, environment), else a public session. */
export async function maybeLoggedIn(
  t: Token,
  p: Parsed,
  uri?: UriSelection,
  forceLogin = false,
): Promise<{ session: Handle; loggedIn: boolean }> {
  requireInitialized(t);
  const pin = await resolvePin(p, 'user', uri, !forceLogin);
  if (pin === null) {
    return {
      session: t.p11.C_OpenSession(t.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION),
      loggedIn: false,
    };
  }
  return { session: initializePkcs11Session(t.p11, { pin, slot: t.slot }), loggedIn: true };
}
