/**
 * Passphrases of encrypted private keys: --passphrase, $COREPKCS11_KEY_PASSPHRASE, or asked on a
 * terminal, and only when an input really is encrypted. Layer L9 (command line).
 * @module
 */
import { isEncryptedPrivateKeyInfo } from '../helpers/encrypted-key.js';
import { looksLikePem } from '../helpers/pem.js';
import { CliError, EXIT } from './errors.js';
import { type Parsed, str } from './options.js';
import { canPrompt, promptSecret } from './prompt.js';

export const PASSPHRASE_HELP = `  --passphrase P   passphrase of an encrypted PKCS#8 key (or $COREPKCS11_KEY_PASSPHRASE,
                   or asked on a terminal)`;

export function isEncrypted(data: Uint8Array): boolean {
  if (looksLikePem(data))
    return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(Buffer.from(data).toString('latin1'));
  return isEncryptedPrivateKeyInfo(data);
}

/** The passphrase for `file` when it is encrypted, else undefined. */
export async function passphraseFor(
  p: Parsed,
  file: string,
  data: Uint8Array,
): Promise<string | undefined> {
  if (!isEncrypted(data)) return undefined;
  const given = str(p, 'passphrase') ?? process.env.COREPKCS11_KEY_PASSPHRASE;
  if (given !== undefined) return given;
  if (canPrompt()) return promptSecret(`Passphrase for ${file}: `);
  throw new CliError(
    EXIT.INPUT,
    `${file} is an encrypted private key: a passphrase is needed`,
    '--passphrase or $COREPKCS11_KEY_PASSPHRASE',
  );
}
