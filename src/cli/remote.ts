/**
 * `corepkcs11 remote`: the token over the p11-kit RPC protocol on stdin and stdout, for one client, until
 * it closes. p11-kit starts it for a module file whose `remote:` line names it (`corepkcs11 register`
 * writes one), exactly as it starts `p11-kit remote MODULE.so`; ssh can carry the same stream to another
 * host. stdout carries the protocol and nothing else: anything that would print there goes to stderr.
 * Layer L9 (command line).
 * @module
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { ckrName } from '../errors.js';
import { serveBlocking } from '../rpc/blocking.js';
import type { DispatchEvent } from '../rpc/dispatch.js';
import { DEFAULT_CONNECTION_LIMITS } from '../rpc/server.js';
import { Application } from '../token/application.js';
import { openServedStore, requireStore, storeOf } from './context.js';
import { EXIT } from './errors.js';
import { parseCommand, str } from './options.js';

const HELP = `usage: corepkcs11 remote [--store DIR|flash:IMAGE] [--log FILE]

Speak the p11-kit RPC protocol on stdin and stdout for one client and exit when it closes. p11-kit runs
this for a module file with the line \`remote: |corepkcs11 remote --store DIR\` (corepkcs11 register
writes one), and ssh carries it to another host: \`remote: |ssh -T HOST corepkcs11 remote --store DIR\`.
Nothing but the protocol is written to stdout; failures go to stderr.
  --store S        token store: a directory (default $COREPKCS11_STORE or .token) or flash:IMAGE;
                   it must exist (corepkcs11 init-token makes one)
  --log FILE       also append every refused request to FILE (call, CKR code, detail)
  -h, --help       this help`;

/**
 * Points process.stdout at stderr before anything touches it. Besides keeping stray output out of the
 * protocol, it keeps Node from opening fd 1 as a stream: p11-kit hands us one socket as both stdin and
 * stdout, and a stream on it would switch the shared file description to non-blocking under our reads.
 */
function reserveStdout(): void {
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: true,
    get: () => process.stderr,
  });
}

/** Blocking reads and writes on fds 0 and 1; a descriptor someone made non-blocking is waited on. */
const stdio = {
  read(buf: Uint8Array): number {
    for (;;) {
      try {
        return readSync(0, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') pause();
        else if (code === 'ECONNRESET' || code === 'EPIPE') return 0;
        else throw e;
      }
    }
  },
  write(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      try {
        at += writeSync(1, bytes, at, bytes.length - at);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        pause();
      }
    }
  },
};

const nap = new Int32Array(new SharedArrayBuffer(4));
function pause(): void {
  Atomics.wait(nap, 0, 0, 1);
}

export async function remoteCommand(argv: string[]): Promise<number> {
  // Only --help is for a person reading stdout.
  if (!argv.includes('--help') && !argv.includes('-h')) reserveStdout();
  const p = parseCommand(argv, { log: { type: 'string' } }, HELP);
  if (!p) return EXIT.OK;
  const store = storeOf(p);
  requireStore(store);
  const logPath = str(p, 'log');
  const logFd = logPath === undefined ? undefined : openSync(logPath, 'a', 0o600);
  const { token, close } = openServedStore(store, (m) =>
    process.stderr.write(`corepkcs11 remote: warning: ${m}\n`),
  );
  const app = new Application(token);
  const log = (e: DispatchEvent) => {
    const rv = e.rv === 0 ? '' : ` → ${ckrName(e.rv)}`;
    const line = `corepkcs11 remote[${process.pid}]: ${e.call}${rv}: ${e.detail}\n`;
    if (logFd !== undefined) writeSync(logFd, `${new Date().toISOString()} ${line}`);
    // The client's stderr is someone's terminal: only what is not a plain CKR answer goes there.
    if (e.error !== undefined) process.stderr.write(line);
  };
  try {
    await serveBlocking(stdio, { app, limits: DEFAULT_CONNECTION_LIMITS, log });
  } finally {
    close();
    if (logFd !== undefined) closeSync(logFd);
  }
  return EXIT.OK;
}
