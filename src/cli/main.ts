#!/usr/bin/env node
/**
 * The `corepkcs11` command line: dispatches to one module per command.
 * @module
 */
import { isPkcs11Error } from '../errors.js';
import { demoCommand } from './demo.js';
import { qualifyCommand } from './qualify.js';
import { serveCommand } from './serve.js';

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
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
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`corepkcs11: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const what = isPkcs11Error(e) ? String(e) : e instanceof Error ? e.message : String(e);
    process.stderr.write(`corepkcs11 ${name}: ${what}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
