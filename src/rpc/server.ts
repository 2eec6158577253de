/**
 * The p11-kit RPC server: a unix socket that p11-kit-client.so connects to, one PKCS#11 application per
 * connection. The socket file is created with mode 0600 (umask held at 0177 across the bind, so there is
 * no moment at which others may connect) and removed on close. Layer L7.
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MemoryBudget } from './budget.js';
import { Connection, type ConnectionLimits, MAX_PROTOCOL_VERSION } from './connection.js';
import type { DispatchEvent } from './dispatch.js';
import { DEFAULT_FRAME_LIMITS } from './frame.js';
import type { ServedApplication } from './handlers.js';
import { DEFAULT_MESSAGE_LIMITS } from './message.js';

export interface ConnectionInfo {
  /** Sequence number of the connection, from 1. */
  id: number;
}

export interface RpcServerOptions {
  /**
   * Absolute path of the unix socket to create (its directory should be private, 0700); with
   * listenFd, the path that socket is bound to (for `address`).
   */
  socketPath: string;
  /**
   * A unix socket already bound and listening, by descriptor (systemd socket activation passes fd 3).
   * Whoever made it owns the file: close() leaves it in place.
   */
  listenFd?: number;
  /** Makes the application for a new connection: its own sessions, handles and login state. */
  createApplication: (conn: ConnectionInfo) => ServedApplication;
  /** Connections served at once; more are closed on accept. Default 256. */
  maxConnections?: number;
  /** Highest protocol version to negotiate (0–2). Default 2. */
  maxProtocolVersion?: number;
  limits?: Partial<ConnectionLimits>;
  /**
   * Bytes the server holds for all connections together: requests being received (at their announced
   * length) or waiting to be answered, and replies not yet sent. A request that would go past it waits
   * (its connection stops reading) until others give bytes back. Default 64 MiB.
   */
  maxBufferedBytes?: number;
  /** Errors answered, refused connections, engine bugs. Never receives request data. */
  log?: (event: ServerEvent) => void;
}

export type ServerEvent =
  | (DispatchEvent & { connection: number })
  | { call: 'accept'; rv: 0; detail: string; connection: number; error?: unknown };

export interface RpcServer {
  readonly socketPath: string;
  /** The value for P11_KIT_SERVER_ADDRESS. */
  readonly address: string;
  /** Connections currently open. */
  readonly connections: number;
  /**
   * Bytes the open connections hold (partial and queued requests, unsent replies). Requests are bounded
   * by maxBufferedBytes across all connections, plus what arrives in one read per connection; unsent
   * replies by each connection's maxPendingWrite + maxOutput.
   */
  readonly bufferedBytes: number;
  /** Connections whose next request waits for room in the memory budget. */
  readonly waiting: number;
  /** Bytes the memory budget counts now (see maxBufferedBytes). */
  readonly budgetedBytes: number;
  /** Stops accepting, closes every connection (finalizing its application) and removes the socket. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  ...DEFAULT_FRAME_LIMITS,
  ...DEFAULT_MESSAGE_LIMITS,
  maxOutput: 16 * 1024 * 1024,
  maxQueuedFrames: 64,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxPendingWrite: 32 * 1024 * 1024,
};

/** p11-kit percent-decodes the path; encode what its decoder would misread. */
export function serverAddress(socketPath: string): string {
  const encoded = socketPath.replace(/[^A-Za-z0-9/._~-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  );
  return `unix:path=${encoded}`;
}

export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  if (!options.socketPath.startsWith('/')) {
    throw new TypeError('socketPath must be absolute: p11-kit-client.so refuses relative paths');
  }
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const maxConnections = options.maxConnections ?? 256;
  const maxVersion = Math.min(
    options.maxProtocolVersion ?? MAX_PROTOCOL_VERSION,
    MAX_PROTOCOL_VERSION,
  );
  const budget = new MemoryBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  const open = new Set<Connection>();
  let nextId = 1;

  const accept = (socket: Socket): void => {
    const id = nextId++;
    const refuse = (detail: string, error?: unknown): void => {
      options.log?.({ call: 'accept', rv: 0, detail, connection: id, error });
      socket.destroy();
    };
    if (open.size >= maxConnections) {
      refuse(`too many connections (${open.size} open, maxConnections ${maxConnections}): closed`);
      return;
    }
    let app: ServedApplication;
    try {
      app = options.createApplication({ id });
    } catch (error) {
      refuse('createApplication failed', error);
      return;
    }
    const conn = new Connection(id, socket, app, limits, maxVersion, { log: options.log, budget });
    open.add(conn);
    void conn.done.then(() => open.delete(conn));
  };

  const server = createServer({ pauseOnConnect: false }, accept);
  const fd = options.listenFd;
  await listen(server, fd === undefined ? { path: options.socketPath } : { fd });
  const { socketPath } = options;

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    address: serverAddress(socketPath),
    get connections() {
      return open.size;
    },
    get waiting() {
      return budget.waiting;
    },
    get budgetedBytes() {
      return budget.used;
    },
    get bufferedBytes() {
      let n = 0;
      for (const c of open) n += c.buffered;
      return n;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const all = [...open];
        for (const c of all) c.close();
        await Promise.all(all.map((c) => c.done));
        await stopped;
      })();
      return closing;
    },
  };
}

/** Whether something accepts connections on the unix socket `path` (to tell a stale socket file). */
export function isListening(path: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(path, () => {
      s.destroy();
      done(true);
    });
    s.on('error', () => done(false));
  });
}

/**
 * Listens on a socket already bound (`fd`) or binds `path` with umask 0177, so the socket file is born
 * 0600 (the umask is restored right after).
 */
function listen(server: Server, on: { path: string } | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const previous = 'path' in on ? process.umask(0o177) : undefined;
    try {
      server.listen(on, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}
