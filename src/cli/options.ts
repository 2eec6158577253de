/**
 * Command-line parsing shared by the commands: node:util parseArgs with the common options (--store,
 * --pin, --so-pin, --json, --quiet, --help), pkcs11-tool's flag names, hex ids, the rule that no label
 * is empty, and usage errors that exit with code 2. Layer L9 (command line).
 * @module
 */
import { parseArgs } from 'node:util';
import { CliError, EXIT } from './errors.js';

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export const COMMON_OPTIONS = {
  store: { type: 'string' },
  pin: { type: 'string' },
  'so-pin': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Options naming a label the CLI writes or looks for. None may be empty: PKCS#11 allows an empty
 * CKA_LABEL, but an object made without one cannot be told apart in a listing or named back by label,
 * and an empty selection label would match nothing a user meant. Objects other tools made without a
 * label are named by --id or by their pkcs11: URI.
 */
const LABEL_OPTIONS = ['label', 'public-label'] as const;

function checkLabels(parsed: Parsed): void {
  for (const name of LABEL_OPTIONS) {
    if (parsed.values[name] === '') {
      throw new CliError(
        EXIT.USAGE,
        `--${name} must not be empty`,
        'name objects without a label by --id or by their pkcs11: URI',
      );
    }
  }
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * What a command takes besides options: nothing, `pkcs11:` object URIs, at most N words, or any files.
 * Anything else is a usage error, so a file named where `-i FILE` was meant is never silently ignored
 * (the command would read stdin instead).
 */
export type PositionalRule = 'none' | 'uri' | 'files' | { max: number };

function checkPositionals(positionals: string[], rule: PositionalRule): void {
  const extra =
    rule === 'files'
      ? []
      : rule === 'uri'
        ? positionals.filter((a) => !/^pkcs11:/i.test(a))
        : positionals.slice(rule === 'none' ? 0 : rule.max);
  if (extra[0] !== undefined) {
    throw new CliError(
      EXIT.USAGE,
      `unexpected argument '${extra[0]}'`,
      'see --help (input files go after -i)',
    );
  }
}

/**
 * Parses `argv` for a command; `--help` prints `help` and resolves to null (exit 0). Unknown options,
 * missing values and arguments the command does not take are usage errors.
 */
export function parseCommand(
  argv: string[],
  options: OptionSpec,
  help: string,
  positionals: PositionalRule = 'none',
): Parsed | null {
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (e) {
    throw new CliError(
      EXIT.USAGE,
      (e as Error).message.split('\n')[0] ?? 'bad arguments',
      'see --help',
    );
  }
  if (parsed.values.help) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return null;
  }
  checkPositionals(parsed.positionals, positionals);
  checkLabels(parsed);
  return parsed;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function required(p: Parsed, name: string, what = `--${name}`): string {
  const v = str(p, name);
  if (v === undefined || v === '')
    throw new CliError(EXIT.USAGE, `${what} is required`, 'see --help');
  return v;
}

/** A pkcs11-tool style hex CKA_ID (`--id 01ab`, optional 0x and colons). */
export function hexId(text: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/:/g, '');
  if (clean === '' || clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new CliError(
      EXIT.USAGE,
      `--id '${text}' is not hex bytes`,
      'e.g. --id 01 or --id a1b2c3',
    );
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** --quiet: no confirmation lines ("wrote FILE …") on stderr. */
export function quiet(p: Parsed): boolean {
  return flag(p, 'quiet');
}

/** `--no-X` flags alongside their positive forms. */
export function noFlag(p: Parsed, name: string): boolean {
  return p.values[`no-${name}`] === true;
}

/** The common options' help text. */
export const COMMON_HELP = `  --store S        token store: a directory (default $COREPKCS11_STORE or .token),
                   flash:IMAGE (simulated NOR flash) or memory: (a throw-away token)
  --json           machine-readable output (errors too: one JSON object on stdout)
  -q, --quiet      no "wrote FILE" confirmation on stderr
  -h, --help       this help`;

export const PIN_HELP = `  --pin PIN        user PIN (or $COREPKCS11_PIN, or asked on a terminal)`;
export const SO_PIN_HELP = `  --so-pin PIN     SO PIN (or $COREPKCS11_SO_PIN, or asked on a terminal)`;
