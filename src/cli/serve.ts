/**
 * `corepkcs11 serve`: the token behind a p11-kit RPC socket, so C programs reach it through
 * p11-kit-client.so. Prints the environment line `p11-kit server` prints; stops cleanly on SIGINT or
 * SIGTERM (requests in progress finish, every connection's application is finalized, the socket is
 * removed, then the store is closed).
 * @module
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createFilePal } from '../adapters/pal-file/index.js';
import { storePathProblem } from '../adapters/pal-file/store-path.js';
import { createToken } from '../create.js';
import { isListening, startRpcServer } from '../rpc/server.js';
import { Application } from '../token/application.js';
import { EXIT } from './errors.js';

const HELP = `usage: corepkcs11 serve [--store DIR|memory:] [--socket PATH] [--max-connections N]

Serve the token over the p11-kit RPC protocol. Point a PKCS#11 program at p11-kit-client.so and export
the printed P11_KIT_SERVER_ADDRESS (the default socket is where the client looks by itself).
  --store DIR|memory:    token directory (default $COREPKCS11_STORE, else .token), or memory:;
                         it must exist (corepkcs11 init-token makes one)
  --socket PATH          unix socket to create (default $XDG_RUNTIME_DIR/p11-kit/pkcs11), mode 0600
  --max-connections N    connections served at once (default 256)
  -q, --quiet            no log of refused requests on stderr
`;

/** The path p11-kit-client.so tries when P11_KIT_SERVER_ADDRESS is unset. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/p11-kit/pkcs11`;
  const uid = process.getuid?.();
  for (const base of [`/run/user/${uid}`, `/var/run/user/${uid}`]) {
    try {
      if (uid !== undefined && lstatSync(base).isDirectory()) return `${base}/p11-kit/pkcs11`;
    } catch {
      // Not there: try the next place the client would.
    }
  }
  return undefined;
}

/** Makes room for the socket: a private parent directory, and no stale socket left by a dead server. */
async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket`);
  if (await isListening(path)) throw new Error(`a server is already listening on ${path}`);
  unlinkSync(path);
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string' },
      socket: { type: 'string' },
      'max-connections': { type: 'string', default: '256' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const fail = (why: string) => {
    process.stderr.write(`corepkcs11 serve: ${why}\n`);
    return 1;
  };
  const socket = values.socket ? resolve(values.socket) : defaultSocketPath();
  if (!socket) return fail('no XDG_RUNTIME_DIR or /run/user/<uid>: give --socket PATH');
  const maxConnections = Number(values['max-connections']);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) return fail('bad --max-connections');

  const store = values.store ?? process.env.COREPKCS11_STORE ?? '.token';
  const dir = resolve(store.replace(/^file:/, ''));
  const problem = store === 'memory:' ? undefined : storePathProblem(dir, 'directory');
  if (problem) {
    // As every other command: never a new, empty token for a mistyped path.
    process.stderr.write(
      `corepkcs11 serve: no token store at ${dir}: ${problem} (hint: create one with corepkcs11 init-token --store …)\n`,
    );
    return EXIT.TOKEN;
  }
  const token = store === 'memory:' ? createToken() : createToken({ pal: createFilePal(dir) });
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  try {
    await prepareSocketPath(socket);
    server = await startRpcServer({
      socketPath: socket,
      createApplication: () => new Application(token),
      maxConnections,
      log: values.quiet
        ? undefined
        : (e) => {
            if (e.error !== undefined || e.call === 'accept') {
              process.stderr.write(`corepkcs11 serve: ${e.call}: ${e.detail}\n`);
            }
          },
    });
  } catch (e) {
    token.close();
    return fail(e instanceof Error ? e.message : String(e));
  }

  // Handlers first: whoever reads the address line may signal us at once.
  const stopped = new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write(
    `P11_KIT_SERVER_ADDRESS=${server.address}; export P11_KIT_SERVER_ADDRESS;\n` +
      `P11_KIT_SERVER_PID=${process.pid}; export P11_KIT_SERVER_PID;\n`,
  );
  process.stderr.write(`corepkcs11 serve: token ${store} on ${socket}\n`);
  await stopped;
  await server.close();
  token.close();
  return 0;
}
