/**
 * `corepkcs11 import FILE...`: certificates, private keys and public keys from PEM or DER files, each
 * file's contents detected, stored all-or-nothing with the attributes clients expect (a key pair and
 * its certificate share CKA_ID). A key or certificate given twice is stored once, and one already on
 * the token is not copied again unless asked. Layer L9 (command line).
 * @module
 */
import { basename, extname } from 'node:path';
import { findObjects } from '../helpers/core.js';
import { type Credential, readCredentials } from '../helpers/credentials.js';
import { describeObject } from '../helpers/inspect.js';
import {
  encodeSpki,
  type PublicKeyData,
  publicKeyOf,
  subjectPublicKeyBits,
} from '../helpers/keys.js';
import type { Handle, Template } from '../helpers/module.js';
import {
  certificateTemplate,
  createObjects,
  keyIdOf,
  privateKeyTemplate,
  publicKeyTemplate,
} from '../helpers/provision.js';
import { objectUri } from '../helpers/uri.js';
import * as C from '../pkcs11/constants.js';
import { loggedIn, type Token, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { MAX_CREDENTIAL_FILE, readInput } from './input.js';
import {
  COMMON_HELP,
  flag,
  hexId,
  noFlag,
  type Parsed,
  PIN_HELP,
  parseCommand,
  quiet,
  str,
} from './options.js';
import { hex, printJson, progressLine, say, table, warnLine } from './output.js';
import { PASSPHRASE_HELP, passphraseFor } from './passphrase.js';
import { className, objectClassOf } from './select.js';

const HELP = `usage: corepkcs11 import FILE... [--label L] [--id HEX] [--type T] [options]

Store the certificates, private keys and public keys in PEM or DER files (each up to 16 MiB) on the
token. What each file holds is detected (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1,
SubjectPublicKeyInfo, X.509). A private key also gets its public key object. Everything is stored
or nothing is. A key or certificate found twice in the files is stored once; one already on the
token (a key with the same class and CKA_ID, the same certificate) stops the import.
  --label L          CKA_LABEL (default: each file's name without its extension; not empty)
  --id HEX           CKA_ID (default: SHA-1 of the public key, so key pair and certificate match)
  --type T           import only cert, privkey or pubkey objects from the files
  --public-label L   label of the public key made for a private key (default: --label)
  --no-public        no public key object for a private key
  --replace          replace objects of the same class and label (after the new ones are stored)
  --allow-duplicate  store a key or certificate even when the token already holds it
  --wide             table cells whole, however long
${PASSPHRASE_HELP}
${PIN_HELP}
${COMMON_HELP}`;

const OPTIONS = {
  label: { type: 'string', short: 'a' },
  id: { type: 'string', short: 'd' },
  type: { type: 'string', short: 'y' },
  'public-label': { type: 'string' },
  'no-public': { type: 'boolean' },
  replace: { type: 'boolean' },
  'allow-duplicate': { type: 'boolean' },
  wide: { type: 'boolean' },
  passphrase: { type: 'string' },
} as const;

interface Planned {
  file: string;
  template: Template;
  objectClass: number;
  label: string;
  id: Uint8Array;
  /** What the object is whatever its label: its class and its public key or certificate bytes. */
  identity: string;
  /** A certificate's DER (found on the token by value, not by id: a renewed one shares the id). */
  der?: Uint8Array;
}

const keyIdentity = (cls: number, key: PublicKeyData) =>
  `${cls}:${key.kind}:${hex(subjectPublicKeyBits(key))}`;

/** The objects one file's credentials make, filtered by --type. */
function plan(t: Token, s: Buffer, p: Parsed, file: string, creds: Credential[]): Planned[] {
  const only = str(p, 'type') === undefined ? undefined : objectClassOf(str(p, 'type') as string);
  const label = str(p, 'label') ?? basename(file, extname(file));
  const publicLabel = str(p, 'public-label') ?? label;
  const givenId = str(p, 'id') === undefined ? undefined : hexId(str(p, 'id') as string);
  const out: Planned[] = [];
  const add = (x: Omit<Planned, 'file'>) => {
    if (only === undefined || only === x.objectClass) out.push({ file, ...x });
  };
  for (const c of creds) {
    if (c.kind === 'certificate') {
      const cert = c.certificate;
      const id =
        givenId ?? (cert.publicKey ? keyIdOf(t.p11, s, cert.publicKey) : new Uint8Array(0));
      add({
        objectClass: C.CKO_CERTIFICATE,
        template: certificateTemplate(cert, { label }, id),
        label,
        id,
        identity: `${C.CKO_CERTIFICATE}:${hex(cert.der)}`,
        der: cert.der,
      });
      continue;
    }
    // readCredentials computes the point of an EC key stored without it.
    const pub = c.kind === 'private-key' ? publicKeyOf(c.key) : c.key;
    if (!pub) throw new CliError(EXIT.INPUT, `${file}: the EC key does not carry its public key`);
    const id = givenId ?? keyIdOf(t.p11, s, pub);
    if (c.kind === 'private-key') {
      add({
        objectClass: C.CKO_PRIVATE_KEY,
        // The public key kept on the private key too, so `export` finds it without a public object.
        template: [
          ...privateKeyTemplate(c.key, { label }, id),
          { type: C.CKA_PUBLIC_KEY_INFO, value: Buffer.from(encodeSpki(pub)) },
        ],
        label,
        id,
        identity: keyIdentity(C.CKO_PRIVATE_KEY, pub),
      });
      if (noFlag(p, 'public')) continue;
    }
    const pubLabel = c.kind === 'private-key' ? publicLabel : label;
    add({
      objectClass: C.CKO_PUBLIC_KEY,
      template: publicKeyTemplate(pub, { label: pubLabel }, id),
      label: pubLabel,
      id,
      identity: keyIdentity(C.CKO_PUBLIC_KEY, pub),
    });
  }
  return out;
}

/** Keeps the first of objects that are the same key or certificate; returns the others. */
function dropRepeats(planned: Planned[]): { kept: Planned[]; repeats: Array<[Planned, Planned]> } {
  const first = new Map<string, Planned>();
  const repeats: Array<[Planned, Planned]> = [];
  for (const x of planned) {
    const seen = first.get(x.identity);
    if (seen) repeats.push([x, seen]);
    else first.set(x.identity, x);
  }
  return { kept: [...first.values()], repeats };
}

/**
 * Refuses (exit 1) an object the token already holds: a key of the same class with the same CKA_ID,
 * or the same certificate. Objects --replace will replace (same class and label) do not count.
 */
function refuseCopies(t: Token, s: Handle, p: Parsed, planned: Planned[]): void {
  for (const x of planned) {
    const template: Template = [{ type: C.CKA_CLASS, value: x.objectClass }];
    if (x.der) template.push({ type: C.CKA_VALUE, value: Buffer.from(x.der) });
    else template.push({ type: C.CKA_ID, value: Buffer.from(x.id) });
    const there = findObjects(t.p11, s, template)
      .map((h) => describeObject(t.p11, s, h))
      .filter((d) => !(flag(p, 'replace') && d.label === x.label));
    const d = there[0];
    if (!d) continue;
    throw new CliError(
      EXIT.FAILED,
      `${x.file}: the token already holds this ${className(x.objectClass)} ` +
        `(labelled '${d.label}', id ${hex(d.id) || 'none'}); nothing imported`,
      '--allow-duplicate stores a second copy; --type or --no-public imports only the rest',
    );
  }
}

type Input = { file: string; data: Buffer };

/** Every file's objects, planned (passphrases asked for as each encrypted key comes). */
async function planAll(p: Parsed, inputs: Input[], t: Token, s: Handle): Promise<Planned[]> {
  const planned: Planned[] = [];
  const progress = progressLine(flag(p, 'json') || quiet(p));
  for (const [i, { file, data }] of inputs.entries()) {
    progress(i, inputs.length, file);
    const passphrase = await passphraseFor(p, file, data);
    let creds: Credential[];
    try {
      creds = readCredentials(data, passphrase === undefined ? {} : { passphrase });
    } catch (e) {
      const detail = (e as { detail?: unknown }).detail;
      if (typeof detail !== 'string') throw e;
      throw new CliError(EXIT.INPUT, `${file}: ${detail}`);
    }
    planned.push(...plan(t, s, p, file, creds));
  }
  progress(inputs.length, inputs.length, '');
  return planned;
}

function store(t: Token, s: Handle, p: Parsed, planned: Planned[]): Handle[] {
  try {
    return createObjects(
      t.p11,
      s,
      planned.map((x) => x.template),
      flag(p, 'replace') ? 'replace' : 'error',
    );
  } catch (e) {
    const detail = (e as { detail?: unknown; code?: unknown }).detail;
    if (
      (e as { code?: unknown }).code === C.CKR_ARGUMENTS_BAD &&
      typeof detail === 'string' &&
      /already exists/.test(detail)
    ) {
      throw new CliError(
        EXIT.FAILED,
        `${detail}; nothing imported`,
        'add --replace to replace it, or choose another --label',
      );
    }
    throw e;
  }
}

export async function importCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, OPTIONS, HELP, 'files');
  if (!p) return EXIT.OK;
  const files = p.positionals;
  if (files.length === 0)
    throw new CliError(
      EXIT.USAGE,
      'name the files to import',
      'corepkcs11 import key.pem cert.pem --label device',
    );
  const inputs: Input[] = [];
  for (const file of files) {
    inputs.push({ file, data: await readInput(file, 'file', MAX_CREDENTIAL_FILE) });
  }
  const json = flag(p, 'json');
  return withToken(p, async (t) => {
    const s = await loggedIn(t, p);
    const { kept, repeats } = dropRepeats(await planAll(p, inputs, t, s));
    if (kept.length === 0)
      throw new CliError(EXIT.INPUT, `nothing to import of --type ${str(p, 'type')}`);
    if (!flag(p, 'allow-duplicate')) refuseCopies(t, s, p, kept);
    const made = store(t, s, p, kept);
    if (!quiet(p) && !json) {
      for (const [x, first] of repeats) {
        const where = x.file === first.file ? 'again' : `also in ${first.file}`;
        warnLine(`${x.file}: the same ${className(x.objectClass)} ${where}: stored once`);
      }
    }
    const info = t.info();
    const done = made.map((h, i) => ({ file: kept[i]?.file, ...describeObject(t.p11, s, h) }));
    if (json) {
      printJson({
        imported: done.map(({ handle: _h, ...d }) => ({
          ...d,
          uri: objectUri({ token: info, label: d.label, objectClass: d.objectClass, id: d.id }),
        })),
        storedOnce: repeats.map(([x, first]) => ({
          file: x.file,
          class: className(x.objectClass),
          sameAs: first.file,
        })),
      });
    } else {
      const rows = done.map((d) => [d.file ?? '', d.type, d.label, hex(d.id)]);
      for (const l of table(['FILE', 'CLASS', 'LABEL', 'ID'], rows, flag(p, 'wide'))) say(l);
      say(`Imported ${done.length} object${done.length === 1 ? '' : 's'}`);
    }
    return EXIT.OK;
  });
}
