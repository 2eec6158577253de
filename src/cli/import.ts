/**
 * `corepkcs11 import FILE...`: certificates, private keys and public keys from PEM or DER files, each
 * file's contents detected, stored all-or-nothing with the attributes clients expect (a key pair and
 * its certificate share CKA_ID). Layer L9 (command line).
 * @module
 */
import { basename, extname } from 'node:path';
import { type Credential, readCredentials } from '../helpers/credentials.js';
import { describeObject } from '../helpers/inspect.js';
import { publicKeyOf, samePublicKey } from '../helpers/keys.js';
import type { Template } from '../helpers/module.js';
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
import {
  COMMON_HELP,
  flag,
  hexId,
  noFlag,
  type Parsed,
  PIN_HELP,
  parseCommand,
  str,
} from './options.js';
import { hex, printJson, progressLine, readInput, say, table } from './output.js';
import { PASSPHRASE_HELP, passphraseFor } from './passphrase.js';
import { objectClassOf } from './select.js';

const HELP = `usage: corepkcs11 import FILE... [--label L] [--id HEX] [--type T] [options]

Store the certificates, private keys and public keys in PEM or DER files on the token. What each file
holds is detected (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1, SubjectPublicKeyInfo, X.509). A private
key also gets its public key object. Everything is stored or nothing is.
  --label L        CKA_LABEL (default: each file's name without its extension)
  --id HEX         CKA_ID (default: SHA-1 of the public key, so key pair and certificate match)
  --type T         import only cert, privkey or pubkey objects from the files
  --public-label L label of the public key made for a private key (default: --label)
  --no-public      no public key object for a private key
  --replace        replace objects of the same class and label (after the new ones are stored)
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
  passphrase: { type: 'string' },
} as const;

interface Planned {
  file: string;
  template: Template;
}

const CLASS_OF: Record<Credential['kind'], number> = {
  certificate: C.CKO_CERTIFICATE,
  'private-key': C.CKO_PRIVATE_KEY,
  'public-key': C.CKO_PUBLIC_KEY,
};

/** Templates for one file's credentials. */
function plan(t: Token, s: Buffer, p: Parsed, file: string, creds: Credential[]): Planned[] {
  const only = str(p, 'type') === undefined ? undefined : objectClassOf(str(p, 'type') as string);
  const label = str(p, 'label') ?? basename(file, extname(file));
  const givenId = str(p, 'id') === undefined ? undefined : hexId(str(p, 'id') as string);
  const out: Planned[] = [];
  const privates = creds.flatMap((c) => (c.kind === 'private-key' ? [publicKeyOf(c.key)] : []));
  for (const c of creds) {
    if (
      only !== undefined &&
      CLASS_OF[c.kind] !== only &&
      !(only === C.CKO_PUBLIC_KEY && c.kind === 'private-key')
    )
      continue;
    const pub =
      c.kind === 'certificate'
        ? c.certificate.publicKey
        : c.kind === 'private-key'
          ? publicKeyOf(c.key)
          : c.key;
    const id = givenId ?? (pub ? keyIdOf(t.p11, s, pub) : undefined);
    if (c.kind === 'private-key') {
      if (!id)
        throw new CliError(
          EXIT.INPUT,
          `${file}: the EC key does not carry its public key`,
          'give --id',
        );
      if (only === undefined || only === C.CKO_PRIVATE_KEY) {
        out.push({ file, template: privateKeyTemplate(c.key, { label }, id) });
      }
      if (pub && !noFlag(p, 'public') && (only === undefined || only === C.CKO_PUBLIC_KEY)) {
        out.push({
          file,
          template: publicKeyTemplate(pub, { label: str(p, 'public-label') ?? label }, id),
        });
      }
    } else if (c.kind === 'certificate') {
      out.push({
        file,
        template: certificateTemplate(c.certificate, { label }, id ?? new Uint8Array(0)),
      });
    } else if (!privates.some((k) => k && samePublicKey(k, c.key))) {
      out.push({ file, template: publicKeyTemplate(c.key, { label }, id as Uint8Array) });
    }
  }
  return out;
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
  const inputs = files.map((f) => ({ file: f, data: readInput(f, 'file') }));
  const quiet = flag(p, 'json');
  return withToken(p, async (t) => {
    const s = await loggedIn(t, p);
    const planned: Planned[] = [];
    const progress = progressLine(quiet);
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
    if (planned.length === 0)
      throw new CliError(EXIT.INPUT, `nothing to import of --type ${str(p, 'type')}`);
    let made: Buffer[];
    try {
      made = createObjects(
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
    const info = t.info();
    const done = made.map((h, i) => ({ file: planned[i]?.file, ...describeObject(t.p11, s, h) }));
    if (quiet) {
      printJson({
        imported: done.map(({ handle: _h, ...d }) => ({
          ...d,
          uri: objectUri({ token: info, label: d.label, objectClass: d.objectClass, id: d.id }),
        })),
      });
    } else {
      say(
        table(
          ['FILE', 'CLASS', 'LABEL', 'ID'],
          done.map((d) => [d.file ?? '', d.type, d.label, hex(d.id)]),
        ),
      );
      say(`Imported ${done.length} object${done.length === 1 ? '' : 's'}`);
    }
    return EXIT.OK;
  });
}
