#!/usr/bin/env node
/**
 * The `corepkcs11` command line: dispatches to one module per command. Errors end as one line on
 * stderr naming the CKR code with a hint, and an exit code that says what failed (errors.ts).
 * @module
 */
import { digestCommand, randomCommand, signCommand, verifyCommand } from './crypto-commands.js';
import { demoCommand } from './demo.js';
import { describeError, EXIT } from './errors.js';
import { fsckCommand } from './fsck.js';
import { importCommand } from './import.js';
import { csrCommand, keygenCommand } from './key-commands.js';
import { deleteCommand, exportCommand, listCommand } from './object-commands.js';
import { provisionCommand } from './provision.js';
import { qualifyCommand } from './qualify.js';
import { serveCommand } from './serve.js';
import {
  changePinCommand,
  infoCommand,
  initPinCommand,
  initTokenCommand,
} from './token-commands.js';

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  'init-token': {
    summary: 'initialise the token (label, SO PIN, optionally the user PIN)',
    run: initTokenCommand,
  },
  'init-pin': { summary: 'set the user PIN as the SO', run: initPinCommand },
  'change-pin': { summary: 'change the user (or SO) PIN', run: changePinCommand },
  info: { summary: 'show the module, slot, token and (-M) mechanisms', run: infoCommand },
  list: { summary: 'list the objects on the token', run: listCommand },
  import: { summary: 'store certificates and keys from PEM or DER files', run: importCommand },
  export: { summary: 'write a certificate or public key as PEM or DER', run: exportCommand },
  keygen: { summary: 'generate a key pair on the token, write its public key', run: keygenCommand },
  csr: { summary: 'make a PKCS#10 request signed by a key on the token', run: csrCommand },
  sign: { summary: 'sign a file with a private key on the token', run: signCommand },
  verify: { summary: 'verify a signature with a public key on the token', run: verifyCommand },
  digest: { summary: 'hash a file on the token', run: digestCommand },
  random: { summary: 'random bytes from the token', run: randomCommand },
  delete: { summary: 'destroy objects on the token', run: deleteCommand },
  fsck: { summary: 'check the token store for damage (--repair rewrites it)', run: fsckCommand },
  provision: {
    summary: "provision a device's credentials (FreeRTOS dev-mode flow)",
    run: provisionCommand,
  },
  demo: { summary: 'provision a token in a directory, sign and verify with it', run: demoCommand },
  qualify: {
    summary: 'run the FreeRTOS PKCS#11 qualification suite on a token or module',
    run: qualifyCommand,
  },
  serve: { summary: 'serve the token to C programs over a p11-kit RPC socket', run: serveCommand },
};

function usage(): string {
  const lines = ['usage: corepkcs11 <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Run `corepkcs11 <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`corepkcs11: unknown command '${name}'\n${usage()}\n`);
    return EXIT.USAGE;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const { exitCode, message } = describeError(e);
    process.stderr.write(`corepkcs11 ${name}: ${message}\n`);
    return exitCode;
  }
}

// `corepkcs11 list | head`: a closed pipe ends the output, not the command (the token work finishes).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});
process.exitCode = await main(process.argv.slice(2));
