/**
 * `corepkcs11 serve`: the token behind a p11-kit RPC socket, so C programs reach it through
 * p11-kit-client.so. The socket is where the client looks by itself (the same search as p11-kit's, down
 * to ~/.cache when there is no runtime directory), or one systemd passes in (socket activation,
 * LISTEN_FDS). Prints the environment line `p11-kit server` prints; stops cleanly on SIGINT or SIGTERM
 * (requests in progress finish, every connection's application is finalized, a socket we made is
 * removed, then the store is closed).
 * @module
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isListening, startRpcServer } from '../rpc/server.js';
import { Application } from '../token/application.js';
import { openServedStore, requireStore, storeOf } from './context.js';
import { CliError, EXIT } from './errors.js';
import { parseCommand, str } from './options.js';

const HELP = `usage: corepkcs11 serve [--store DIR|flash:IMAGE|memory:] [--socket PATH] [--max-connections N]

Serve the token over the p11-kit RPC protocol to every program that loads p11-kit-client.so, as one
shared process (corepkcs11 register starts one per program instead, with no server). The default socket
is where the client looks by itself: $XDG_RUNTIME_DIR/p11-kit/pkcs11, else /run/user/UID/…, else
$XDG_CACHE_HOME or ~/.cache; its directory is made 0700. Under systemd socket activation (LISTEN_FDS)
the socket systemd passes is used (docs/systemd/).
  --store S              token store (default $COREPKCS11_STORE or .token; it must exist:
                         corepkcs11 init-token makes one),
                         flash:IMAGE, or memory: (a throw-away token)
  --socket PATH          unix socket to create instead, mode 0600
  --max-connections N    connections served at once (default 256)
  -q, --quiet            no log of refused requests on stderr
  -h, --help             this help`;

/** The directory p11-kit-client.so takes as its runtime directory (common/runtime.c, 0.24–0.26). */
export function runtimeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.();
  for (const base of ['/run', '/var/run']) {
    try {
      const dir = `${base}/user/${uid}`;
      if (uid !== undefined && lstatSync(dir).isDirectory()) return dir;
    } catch {
      // Not there: try the next place the client would.
    }
  }
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME;
  // The client takes the home directory from the password database, not from $HOME.
  return `${userInfo().homedir}/.cache`;
}

/** The path p11-kit-client.so connects to when P11_KIT_SERVER_ADDRESS is unset. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${runtimeDirectory(env)}/p11-kit/pkcs11`;
}

/** The first socket systemd passed (sd_listen_fds: fd 3), if the variables are meant for us. */
export function activationFd(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (env.LISTEN_PID !== String(process.pid)) return undefined;
  const count = Number(env.LISTEN_FDS);
  return Number.isInteger(count) && count >= 1 ? 3 : undefined;
}

/**
 * The path a listening unix socket descriptor is bound to, from /proc/net/unix (Linux; Node has no
 * getsockname for it); undefined elsewhere or when unnamed.
 */
function boundPath(fd: number): string | undefined {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (inode !== undefined && cols[6] === inode && cols[7]?.startsWith('/')) return cols[7];
    }
  } catch {
    // Not Linux, or no /proc: the caller falls back to the default path.
  }
  return undefined;
}

/**
 * Makes room for the socket: the parent directory made 0700 if missing (one that exists is left as it is:
 * it may be /tmp; the socket itself is 0600), and no stale socket left by a dead server.
 */
async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new CliError(
      EXIT.FAILED,
      `cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'give --socket PATH in a directory you own, and P11_KIT_SERVER_ADDRESS=unix:path=PATH to clients',
    );
  }
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) {
    throw new CliError(
      EXIT.FAILED,
      `${path} exists and is not a socket`,
      'remove it, or give --socket PATH',
    );
  }
  if (await isListening(path)) {
    throw new CliError(
      EXIT.FAILED,
      `a server is already listening on ${path}`,
      'stop it (or its systemd socket unit), or give --socket PATH',
    );
  }
  unlinkSync(path);
}

export async function serveCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      socket: { type: 'string' },
      'max-connections': { type: 'string', default: '256' },
      quiet: { type: 'boolean', short: 'q' },
    },
    HELP,
  );
  if (!p) return EXIT.OK;
  const maxConnections = Number(str(p, 'max-connections'));
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new CliError(
      EXIT.USAGE,
      `--max-connections '${str(p, 'max-connections')}' is not a positive integer`,
    );
  }
  const store = storeOf(p);
  // As every command (and pkcs11js's load() of a missing library): a mistyped path is an error (exit
  // 7), never a new, empty token. An existing empty directory is served as an uninitialized token.
  requireStore(store);
  const fd = str(p, 'socket') === undefined ? activationFd() : undefined;
  const socket =
    fd === undefined
      ? resolve(str(p, 'socket') ?? defaultSocketPath())
      : (boundPath(fd) ?? defaultSocketPath());
  if (fd === undefined) await prepareSocketPath(socket);

  const { token, close } = openServedStore(store);
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  try {
    server = await startRpcServer({
      socketPath: socket,
      ...(fd === undefined ? {} : { listenFd: fd }),
      // Every connection is its own PKCS#11 application over the one token.
      createApplication: () => new Application(token),
      maxConnections,
      log: p.values.quiet
        ? undefined
        : (e) => {
            if (e.error !== undefined || e.call === 'accept' || e.call === 'memory') {
              process.stderr.write(`corepkcs11 serve: ${e.call}: ${e.detail}\n`);
            }
          },
    });
  } catch (e) {
    close();
    throw e;
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
  const where = fd === undefined ? server.socketPath : `${server.socketPath} (from systemd)`;
  process.stderr.write(`corepkcs11 serve: token ${store} on ${where}\n`);
  await stopped;
  await server.close();
  close();
  return EXIT.OK;
}
