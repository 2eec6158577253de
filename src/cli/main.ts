#!/usr/bin/env node
/**
 * The `corepkcs11` command line: dispatches to one module per command. Errors end as one line on
 * stderr naming the CKR code with a hint (with --json also as a JSON object on stdout), and an exit
 * code that says what failed (errors.ts).
 * @module
 */
import { CliError, describeError, EXIT } from './errors.js';

type Run = (argv: string[]) => Promise<number>;

/**
 * A command's module is loaded only when it runs: p11-kit starts `corepkcs11 remote` for every program
 * that loads its modules, so start-up time is paid by other people's programs.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Run> }> = {
  'init-token': {
    summary: 'initialise the token (label, SO PIN, optionally the user PIN)',
    load: async () => (await import('./token-commands.js')).initTokenCommand,
  },
  'init-pin': {
    summary: 'set the user PIN as the SO',
    load: async () => (await import('./token-commands.js')).initPinCommand,
  },
  'change-pin': {
    summary: 'change the user (or SO) PIN',
    load: async () => (await import('./token-commands.js')).changePinCommand,
  },
  info: {
    summary: 'show the module, slot, token and (-M) mechanisms',
    load: async () => (await import('./token-commands.js')).infoCommand,
  },
  list: {
    summary: 'list the objects on the token',
    load: async () => (await import('./object-commands.js')).listCommand,
  },
  import: {
    summary: 'store certificates and keys from PEM or DER files',
    load: async () => (await import('./import.js')).importCommand,
  },
  export: {
    summary: 'write a certificate or public key as PEM or DER',
    load: async () => (await import('./export.js')).exportCommand,
  },
  keygen: {
    summary: 'generate a key pair on the token, write its public key',
    load: async () => (await import('./key-commands.js')).keygenCommand,
  },
  csr: {
    summary: 'make a PKCS#10 request signed by a key on the token',
    load: async () => (await import('./key-commands.js')).csrCommand,
  },
  sign: {
    summary: 'sign a file with a private key on the token',
    load: async () => (await import('./crypto-commands.js')).signCommand,
  },
  verify: {
    summary: 'verify a signature with a public key on the token',
    load: async () => (await import('./crypto-commands.js')).verifyCommand,
  },
  digest: {
    summary: 'hash a file on the token',
    load: async () => (await import('./crypto-commands.js')).digestCommand,
  },
  random: {
    summary: 'random bytes from the token',
    load: async () => (await import('./crypto-commands.js')).randomCommand,
  },
  delete: {
    summary: 'destroy objects on the token',
    load: async () => (await import('./object-commands.js')).deleteCommand,
  },
  fsck: {
    summary: 'check the token store for damage (--repair rewrites it)',
    load: async () => (await import('./fsck.js')).fsckCommand,
  },
  provision: {
    summary: "provision a device's credentials (FreeRTOS dev-mode flow)",
    load: async () => (await import('./provision.js')).provisionCommand,
  },
  demo: {
    summary: 'provision a token in a directory, sign and verify with it',
    load: async () => (await import('./demo.js')).demoCommand,
  },
  qualify: {
    summary: 'run the FreeRTOS PKCS#11 qualification suite on a token or module',
    load: async () => (await import('./qualify.js')).qualifyCommand,
  },
  register: {
    summary: 'register the token with p11-kit, so C programs find it with no daemon',
    load: async () => (await import('./register.js')).registerCommand,
  },
  unregister: {
    summary: 'remove the p11-kit module file register wrote',
    load: async () => (await import('./register.js')).unregisterCommand,
  },
  remote: {
    summary: 'speak the p11-kit RPC protocol on stdin/stdout (what p11-kit runs)',
    load: async () => (await import('./remote.js')).remoteCommand,
  },
  serve: {
    summary: 'serve the token to C programs over a p11-kit RPC socket',
    load: async () => (await import('./serve.js')).serveCommand,
  },
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
async function fail(command: string, e: unknown, json: boolean): Promise<number> {
  const { printJson, warnLine } = await import('./output.js');
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
    const unknown = new CliError(
      EXIT.USAGE,
      `unknown command '${name}'`,
      'corepkcs11 --help lists them',
    );
    const code = await fail('', unknown, wantsJson(rest));
    if (!wantsJson(rest)) process.stderr.write(`${usage()}\n`);
    return code;
  }
  if (name !== 'remote') {
    // `corepkcs11 list | head`: a closed pipe ends the output, not the command (the token work
    // finishes). Not for remote, whose stdout must never become a stream (remote.ts).
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  try {
    return await (await command.load())(rest);
  } catch (e) {
    return fail(name, e, wantsJson(rest));
  }
}

process.exitCode = await main(process.argv.slice(2));
