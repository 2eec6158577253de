#!/usr/bin/env node
/**
 * The `corepkcs11` command line: dispatches to one module per command. Errors end as one line on
 * stderr naming the CKR code with a hint (with --json also as a JSON object on stdout), and an exit
 * code that says what failed (errors.ts).
 * @module
 */
import { digestCommand, randomCommand, signCommand, verifyCommand } from './crypto-commands.js';
import { demoCommand } from './demo.js';
import { CliError, describeError, EXIT } from './errors.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { csrCommand, keygenCommand } from './key-commands.js';
import { deleteCommand, listCommand } from './object-commands.js';
import { printJson, warnLine } from './output.js';
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

/** `--json` anywhere among the options (before a `--` that ends them). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * A failure: one line on stderr, and with --json also one JSON object on stdout (so a script that
 * reads stdout always has one document to parse), with the same exit code either way.
 */
function fail(command: string, e: unknown, json: boolean): number {
  const r = describeError(e);
  warnLine(`corepkcs11${command ? ` ${command}` : ''}: ${r.message}`);
  if (json) {
    printJson({ command, error: r.error, ckr: r.ckr, hint: r.hint, exitCode: r.exitCode });
  }
  return r.exitCode;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    const code = fail(
      '',
      new CliError(EXIT.USAGE, `unknown command '${name}'`, 'corepkcs11 --help lists them'),
      wantsJson(rest),
    );
    if (!wantsJson(rest)) process.stderr.write(`${usage()}\n`);
    return code;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    return fail(name, e, wantsJson(rest));
  }
}

// `corepkcs11 list | head`: a closed pipe ends the output, not the command (the token work finishes).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});
process.exitCode = await main(process.argv.slice(2));
