/**
 * The p11-kit RPC server's public surface: start a server over a Cryptoki factory, plus the codec for
 * tools and tests that speak the protocol themselves. Layer L7.
 * @module
 */
export type { ConnectionLimits } from './connection.js';
export { MAX_PROTOCOL_VERSION } from './connection.js';
export type { ServedApplication } from './handlers.js';
export type { ConnectionInfo, RpcServer, RpcServerOptions, ServerEvent } from './server.js';
export { DEFAULT_CONNECTION_LIMITS, isListening, serverAddress, startRpcServer } from './server.js';
