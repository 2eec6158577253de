/**
 * `corepkcs11 qualify`: run the ported FreeRTOS PKCS#11 qualification suite against corepkcs11's own token
 * (`memory:` or a store directory) or any native PKCS#11 module (`FILE.so`, loaded through the optional
 * pkcs11js package), and print Unity's report. Composition point: wires the suite to the node:crypto
 * verify kit. Also the module source worker threads import (`loadModule`, `createVerifier`). Layer L8.
 * @module
 */
import { parseArgs } from 'node:util';
import { createVerifyKit } from '../adapters/crypto-node/verify-kit.js';
import {
  initializeToken,
  isPresetName,
  type Pkcs11Admin,
  type Pkcs11Like,
  PRESET_NAMES,
  preprovision,
  presetConfig,
  QualificationConfigError,
  runQualification,
  type Verifier,
} from '../qualification/index.js';

const USAGE = `usage: corepkcs11 qualify [--module memory:|DIR|FILE.so] [--slot N] [--pin PIN]
                         [--so-pin PIN] [--config PRESET] [--workers] [--preprovision] [--help]

Runs the FreeRTOS PKCS#11 qualification suite and prints its Unity report.

  --module M      memory: (default) or DIR: corepkcs11's token over that store;
                  FILE.so: a native PKCS#11 module, loaded through pkcs11js
  --slot N        index into C_GetSlotList(true) of the slot under test (default 0)
  --pin PIN       user PIN for C_Login (default 0000)
  --so-pin PIN    SO PIN for a token that is not initialised yet: C_InitToken and
                  C_InitPIN first, as corePKCS11's xInitializePkcs11Token (default 12345678)
  --config P      ${PRESET_NAMES.join('|')} (default full)
  --workers       run the multi-thread tests in worker threads, each loading its own
                  module (DIR or FILE.so only)
  --preprovision  first import the test credentials under the configured labels
                  (for the preprovisioned-* presets on a token that has none)

Exit status: 0 when every test passes, 1 when some fail, 2 on a usage or setup error.`;

/** A module spec names a native library when it looks like a shared object file. */
function isNativeLibrary(spec: string): boolean {
  return /\.(so(\.\d+)*|dylib|dll)$/i.test(spec);
}

/** Loads the module under test: pkcs11js for a native library, corepkcs11's token otherwise. */
export async function loadModule(spec: string): Promise<Pkcs11Like> {
  if (isNativeLibrary(spec)) {
    let pkcs11js: { PKCS11: new () => Pkcs11Like & { load(path: string): void } };
    try {
      const imported = (await import('pkcs11js')) as unknown as { default?: typeof pkcs11js };
      pkcs11js = imported.default ?? (imported as unknown as typeof pkcs11js);
    } catch {
      throw new Error(`loading ${spec} needs the optional pkcs11js package (npm install pkcs11js)`);
    }
    const p11 = new pkcs11js.PKCS11();
    p11.load(spec);
    return p11;
  }
  // The token lives behind the package root; this build may predate it.
  const root = (await import('../index.js')) as Record<string, unknown>;
  const Token = root.PKCS11 as
    | (new (
        library?: string,
        options?: { create?: boolean },
      ) => Pkcs11Like & { load(path: string): void })
    | undefined;
  if (typeof Token !== 'function') {
    throw new Error('this build of corepkcs11 has no token yet (PKCS11 is not exported)');
  }
  // The suite initializes the token it is given, so, like init-token, it may create the store.
  const p11 = new Token(undefined, { create: true });
  p11.load(spec);
  return p11;
}

export function createVerifier(): Verifier {
  return createVerifyKit();
}

interface Options {
  module: string;
  slot: number;
  pin: string;
  soPin: string;
  config: string;
  workers: boolean;
  preprovision: boolean;
}

function parse(argv: string[]): Options | { help: true } | { error: string } {
  let values: ReturnType<typeof parseArgs>['values'];
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        module: { type: 'string', default: 'memory:' },
        slot: { type: 'string', default: '0' },
        pin: { type: 'string', default: '0000' },
        'so-pin': { type: 'string', default: '12345678' },
        config: { type: 'string', default: 'full' },
        workers: { type: 'boolean', default: false },
        preprovision: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  if (values.help) return { help: true };
  const slot = Number(values.slot);
  if (!Number.isInteger(slot) || slot < 0)
    return { error: `--slot must be a slot index, not ${values.slot}` };
  const config = String(values.config);
  if (!isPresetName(config)) return { error: `--config must be one of ${PRESET_NAMES.join(', ')}` };
  const module = String(values.module);
  if (values.workers && module === 'memory:') {
    return { error: '--workers needs a store the worker threads can share: a directory or a .so' };
  }
  if (values.preprovision && !config.startsWith('preprovisioned-')) {
    return { error: '--preprovision goes with a preprovisioned-* configuration' };
  }
  return {
    module,
    slot,
    pin: String(values.pin),
    soPin: String(values['so-pin']),
    config,
    workers: Boolean(values.workers),
    preprovision: Boolean(values.preprovision),
  };
}

/** `corepkcs11 qualify [options]`; resolves to the process exit code. */
export async function qualifyCommand(argv: string[]): Promise<number> {
  const options = parse(argv);
  if ('help' in options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ('error' in options) {
    process.stderr.write(`corepkcs11 qualify: ${options.error}\n${USAGE}\n`);
    return 2;
  }
  const config = presetConfig(options.config as Parameters<typeof presetConfig>[0]);
  const verifier = createVerifier();
  let module: Pkcs11Like;
  try {
    module = await loadModule(options.module);
    initializeToken({
      module: module as Pkcs11Admin,
      pin: options.pin,
      soPin: options.soPin,
      slotIndex: options.slot,
    });
    if (options.preprovision) {
      preprovision({
        module,
        verifier,
        keyType: config.ecKeySupport ? 'ec' : 'rsa',
        config,
        pin: options.pin,
        slotIndex: options.slot,
      });
    }
  } catch (e) {
    process.stderr.write(`corepkcs11 qualify: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  try {
    const report = await runQualification({
      module,
      verifier,
      config,
      pin: options.pin,
      slotIndex: options.slot,
      ...(options.workers ? { workers: { url: import.meta.url, arg: options.module } } : {}),
    });
    return report.failures === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof QualificationConfigError)) throw e;
    process.stderr.write(`corepkcs11 qualify: ${e.message}\n`);
    return 2;
  }
}
