/**
 * `corepkcs11 init-token`, `init-pin`, `change-pin` and `info`: the token's life cycle and what it is
 * (module, slot, token, mechanisms). Layer L9 (command line).
 * @module
 */
import { initializePkcs11Session } from '../helpers/core.js';
import { isProfile, PROFILES, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { MechanismInfo, TokenInfo } from '../pkcs11/types.js';
import { damageOf, requireInitialized, resolvePin, type Token, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { mechanismName } from './mechanisms.js';
import {
  COMMON_HELP,
  flag,
  type Parsed,
  PIN_HELP,
  parseCommand,
  SO_PIN_HELP,
  str,
} from './options.js';
import { printJson, say, table } from './output.js';
import { absoluteStore, registrations } from './p11kit-modules.js';
import { canPrompt, promptSecret } from './prompt.js';

const INIT_TOKEN_HELP = `usage: corepkcs11 init-token --label NAME [--so-pin SO] [--pin PIN] [--profile P] [--force] [options]

Initialise the token in the store, creating the store if it is missing (no other command does): set
its label, SO PIN and profile (C_InitToken) and, with --pin, the user PIN too (C_InitPIN). An
initialised token is only re-initialised with --force, which destroys every object on it.
  --label NAME     token label (up to 32 bytes)
${SO_PIN_HELP}
  --pin PIN        also set the user PIN
  --profile P      compatible (default: SoftHSMv2's choices, so its clients work unchanged) or
                   strict (no small keys or legacy algorithms, keys sensitive by default)
  --force          re-initialise an initialised token (destroys all its objects)
${COMMON_HELP}`;

function profileOption(p: Parsed): Profile | undefined {
  const v = str(p, 'profile');
  if (v === undefined) return undefined;
  if (!isProfile(v)) {
    throw new CliError(EXIT.USAGE, `--profile must be ${PROFILES.join(' or ')}, not '${v}'`);
  }
  return v;
}

export async function initTokenCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    { label: { type: 'string' }, force: { type: 'boolean' }, profile: { type: 'string' } },
    INIT_TOKEN_HELP,
  );
  if (!p) return EXIT.OK;
  const label = str(p, 'label') ?? 'corepkcs11';
  const profile = profileOption(p);
  return withToken(
    p,
    async (t) => {
      const before = t.info();
      const was = Boolean(before.flags & C.CKF_TOKEN_INITIALIZED);
      const damage = damageOf(t);
      if (!was && damage.length > 0 && !flag(p, 'force')) {
        throw new CliError(
          EXIT.TOKEN,
          `the token in ${t.store} is damaged, not new: ${damage[0]}`,
          `run corepkcs11 fsck --store ${t.store} (--repair rewrites what can be read); --force re-initialises anyway, destroying what is left`,
        );
      }
      if (was && !flag(p, 'force')) {
        throw new CliError(
          EXIT.TOKEN,
          `the token in ${t.store} is already initialised ('${before.label.trimEnd()}')`,
          'add --force to re-initialise it, destroying all its objects',
        );
      }
      const soPin = (await resolvePin(p, 'so')) as string;
      const userPin = str(p, 'pin') ?? process.env.COREPKCS11_PIN;
      t.p11.C_InitToken(t.slot, soPin, label);
      if (userPin !== undefined && userPin !== '') setUserPin(t, soPin, userPin);
      const info = t.info();
      if (flag(p, 'json'))
        printJson({
          store: t.store,
          reinitialised: was,
          userPinSet: Boolean(userPin),
          token: { ...tokenJson(info), profile: t.p11.tokenProfile() },
        });
      else {
        say(
          `Token '${info.label.trimEnd()}' (serial ${info.serialNumber.trimEnd()}) initialised in ${t.store}${was ? ': all objects were destroyed' : ''}`,
        );
        say(
          userPin
            ? 'User PIN set.'
            : 'Set the user PIN next: corepkcs11 init-pin --so-pin SO --pin PIN',
        );
      }
      return EXIT.OK;
    },
    { create: true, ...(profile ? { profile } : {}) },
  );
}

function setUserPin(t: Token, soPin: string, userPin: string): void {
  const s = t.p11.C_OpenSession(t.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  try {
    t.p11.C_Login(s, C.CKU_SO, soPin);
    t.p11.C_InitPIN(s, userPin);
    t.p11.C_Logout(s);
  } finally {
    t.p11.C_CloseSession(s);
  }
}

const INIT_PIN_HELP = `usage: corepkcs11 init-pin --so-pin SO --pin NEW [options]

As the SO, set the user PIN (C_InitPIN): a new token's first user PIN, or a new one after the old
was forgotten or locked.
${SO_PIN_HELP}
  --pin NEW        the new user PIN (or $COREPKCS11_PIN, or asked twice on a terminal)
${COMMON_HELP}`;

async function newPin(given: string | undefined, env: string, what: string): Promise<string> {
  if (given !== undefined) return given;
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  if (!canPrompt())
    throw new CliError(EXIT.USAGE, `the ${what} is needed`, `give it with a flag or $${env}`);
  const a = await promptSecret(`${what[0]?.toUpperCase()}${what.slice(1)}: `);
  const b = await promptSecret(`${what[0]?.toUpperCase()}${what.slice(1)} again: `);
  if (a !== b) throw new CliError(EXIT.USAGE, 'the two PINs differ');
  return a;
}

export async function initPinCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, {}, INIT_PIN_HELP);
  if (!p) return EXIT.OK;
  return withToken(p, async (t) => {
    requireInitialized(t);
    const soPin = (await resolvePin(p, 'so')) as string;
    const pin = await newPin(str(p, 'pin'), 'COREPKCS11_PIN', 'new user PIN');
    setUserPin(t, soPin, pin);
    if (flag(p, 'json')) printJson({ userPinSet: true });
    else say('User PIN set.');
    return EXIT.OK;
  });
}

const CHANGE_PIN_HELP = `usage: corepkcs11 change-pin [--so] --pin OLD --new-pin NEW [options]

Change the user PIN (or, with --so, the SO PIN: give the old one as --so-pin) with C_SetPIN.
${PIN_HELP}
${SO_PIN_HELP}
  --new-pin NEW    the new PIN (or $COREPKCS11_NEW_PIN, or asked twice on a terminal)
  --so             change the SO PIN
${COMMON_HELP}`;

export async function changePinCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    { 'new-pin': { type: 'string' }, so: { type: 'boolean' } },
    CHANGE_PIN_HELP,
  );
  if (!p) return EXIT.OK;
  const who = flag(p, 'so') ? 'so' : 'user';
  return withToken(p, async (t) => {
    requireInitialized(t);
    const old = (await resolvePin(p, who)) as string;
    const s = initializePkcs11Session(t.p11, {
      pin: old,
      slot: t.slot,
      userType: who === 'so' ? C.CKU_SO : C.CKU_USER,
    });
    const pin = await newPin(
      str(p, 'new-pin'),
      'COREPKCS11_NEW_PIN',
      `new ${who === 'so' ? 'SO' : 'user'} PIN`,
    );
    t.p11.C_SetPIN(s, old, pin);
    if (flag(p, 'json')) printJson({ changed: who });
    else say(`${who === 'so' ? 'SO' : 'User'} PIN changed.`);
    return EXIT.OK;
  });
}

const INFO_HELP = `usage: corepkcs11 info [--mechanisms] [options]

Show the module, slot and token (label, serial, flags, PIN lengths, sessions, memory) and, with
-M/--mechanisms, every mechanism with its key sizes and uses.
  -M, --mechanisms list the mechanisms
${COMMON_HELP}`;

const TOKEN_FLAGS: Array<[number, string]> = [
  [C.CKF_TOKEN_INITIALIZED, 'token initialized'],
  [C.CKF_USER_PIN_INITIALIZED, 'user PIN initialized'],
  [C.CKF_LOGIN_REQUIRED, 'login required'],
  [C.CKF_RNG, 'rng'],
  [C.CKF_USER_PIN_COUNT_LOW, 'user PIN count low'],
  [C.CKF_USER_PIN_FINAL_TRY, 'user PIN final try'],
  [C.CKF_USER_PIN_LOCKED, 'user PIN locked'],
  [C.CKF_SO_PIN_COUNT_LOW, 'SO PIN count low'],
  [C.CKF_SO_PIN_LOCKED, 'SO PIN locked'],
];
const MECH_FLAGS: Array<[number, string]> = [
  [C.CKF_DIGEST, 'digest'],
  [C.CKF_SIGN, 'sign'],
  [C.CKF_VERIFY, 'verify'],
  [C.CKF_ENCRYPT, 'encrypt'],
  [C.CKF_DECRYPT, 'decrypt'],
  [C.CKF_GENERATE, 'generate'],
  [C.CKF_GENERATE_KEY_PAIR, 'generate_key_pair'],
  [C.CKF_DERIVE, 'derive'],
  [C.CKF_WRAP, 'wrap'],
  [C.CKF_UNWRAP, 'unwrap'],
  // The curve capabilities, spelt as pkcs11-tool spells them.
  [C.CKF_EC_F_P, 'EC F_P'],
  [C.CKF_EC_OID, 'EC OID'],
  [C.CKF_EC_CURVENAME, 'EC curve name'],
  [C.CKF_EC_UNCOMPRESS, 'EC uncompressed'],
];

const names = (flags: number, table: Array<[number, string]>) =>
  table.filter(([f]) => flags & f).map(([, n]) => n);

function tokenJson(info: TokenInfo) {
  return {
    ...info,
    label: info.label.trimEnd(),
    manufacturerID: info.manufacturerID.trimEnd(),
    model: info.model.trimEnd(),
    serialNumber: info.serialNumber.trimEnd(),
    flagNames: names(info.flags, TOKEN_FLAGS),
  };
}

export async function infoCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { mechanisms: { type: 'boolean', short: 'M' } }, INFO_HELP);
  if (!p) return EXIT.OK;
  return withToken(p, (t) => {
    const module = t.p11.C_GetInfo();
    const slot = t.p11.C_GetSlotInfo(t.slot);
    const info = t.info();
    const mechs: Array<{ name: string; type: number } & MechanismInfo> = flag(p, 'mechanisms')
      ? t.p11.C_GetMechanismList(t.slot).map((type) => ({
          name: mechanismName(type),
          type,
          ...t.p11.C_GetMechanismInfo(t.slot, type),
        }))
      : [];
    const registered =
      t.store === 'memory:' ? [] : registrations(absoluteStore(t.store)).map((r) => r.file);
    if (flag(p, 'json')) {
      printJson({
        store: t.store,
        registered,
        module: {
          ...module,
          manufacturerID: module.manufacturerID.trimEnd(),
          libraryDescription: module.libraryDescription.trimEnd(),
        },
        slot: {
          ...slot,
          slotDescription: slot.slotDescription.trimEnd(),
          manufacturerID: slot.manufacturerID.trimEnd(),
        },
        token: { ...tokenJson(info), profile: t.p11.tokenProfile() },
        ...(flag(p, 'mechanisms')
          ? { mechanisms: mechs.map((m) => ({ ...m, flagNames: names(m.flags, MECH_FLAGS) })) }
          : {}),
      });
      return EXIT.OK;
    }
    const v = (x: { major: number; minor: number }) => `${x.major}.${x.minor}`;
    say(`Store:        ${t.store}`);
    say(
      `Module:       ${module.libraryDescription.trimEnd()} ${v(module.libraryVersion)} (Cryptoki ${v(module.cryptokiVersion)}) by ${module.manufacturerID.trimEnd()}`,
    );
    say(`Slot:         ${slot.slotDescription.trimEnd()}`);
    say(`Token label:  ${info.label.trimEnd()}`);
    say(`Manufacturer: ${info.manufacturerID.trimEnd()}`);
    say(`Model:        ${info.model.trimEnd()}`);
    say(`Serial:       ${info.serialNumber.trimEnd()}`);
    say(`Profile:      ${t.p11.tokenProfile()}`);
    say(`Flags:        ${names(info.flags, TOKEN_FLAGS).join(', ') || 'none (not initialised)'}`);
    say(`PIN length:   ${info.minPinLen}–${info.maxPinLen}`);
    say(`Sessions:     ${info.sessionCount} open (${info.rwSessionCount} read/write)`);
    say(`p11-kit:      ${registered.join(', ') || 'not registered (corepkcs11 register)'}`);
    if (mechs.length > 0) {
      say();
      const rows = mechs.map((m) => [
        m.name,
        m.maxKeySize ? `${m.minKeySize}–${m.maxKeySize}` : '',
        names(m.flags, MECH_FLAGS).join(','),
      ]);
      for (const l of table(['MECHANISM', 'KEY SIZES', 'USES'], rows)) say(l);
    }
    return EXIT.OK;
  });
}
