/**
 * The servers the pkcs11-tool script runs against, side by side: `p11-kit server` in front of SoftHSMv2
 * (the reference), our server in front of the same SoftHSMv2 through pkcs11js (the protocol alone), and
 * our server in front of our token (the product). Each starts from a token labelled "research" with SO
 * PIN 5678 and user PIN 1234.
 * @module
 */
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { ServedApplication } from '../../../src/rpc/handlers.js';
import { type RpcServer, startRpcServer } from '../../../src/rpc/server.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { Pkcs11jsModule } from '../../helpers/pkcs11js-backend.js';
import { softhsmToken, startP11KitServer, type Tools, type Workdir } from './env.js';

export interface Target {
  name: string;
  /** Why the target cannot run here, if it cannot. */
  unavailable?: string;
  start(
    tools: Tools,
    dir: Workdir,
  ): Promise<{ socket: string; env: Record<string, string>; stop(): Promise<void> }>;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A fresh in-memory token in the same state softhsm2-util leaves SoftHSMv2 in. */
export function initializedToken(): Token {
  const token = new Token(createMemoryPal(), createNodeCrypto(), {
    pinIterations: 1000,
    allowWeakPinIterations: true,
    warn: () => {},
  });
  const app = new Application(token);
  app.initialize();
  const [slot] = app.getSlotList(true);
  const label = new Uint8Array(32).fill(0x20);
  label.set(utf8('research'));
  app.initToken(slot as number, utf8('5678'), label);
  const s = app.openSession(slot as number, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  app.login(s, C.CKU_SO, utf8('5678'));
  app.initPin(s, utf8('1234'));
  app.logout(s);
  app.finalize();
  return token;
}

async function ours(dir: Workdir, createApplication: () => ServedApplication): Promise<RpcServer> {
  return startRpcServer({ socketPath: dir.file('ours.sock'), createApplication });
}

export const TARGETS: Target[] = [
  {
    name: 'p11-kit server + SoftHSMv2',
    async start(tools, dir) {
      if (!tools.p11kit) throw new Error('p11-kit not found (apt-get install p11-kit)');
      const conf = await softhsmToken(tools, dir, 'research');
      const socket = dir.file('p11kit.sock');
      const server = await startP11KitServer(tools.p11kit, tools.softhsm, socket, {
        SOFTHSM2_CONF: conf,
      });
      return { socket, env: { SOFTHSM2_CONF: conf }, stop: server.stop };
    },
  },
  {
    name: 'corepkcs11 + SoftHSMv2',
    async start(tools, dir) {
      const conf = await softhsmToken(tools, dir, 'research');
      // SoftHSMv2 reads its configuration at C_Initialize, in this process.
      process.env.SOFTHSM2_CONF = conf;
      const module = await Pkcs11jsModule.load(tools.softhsm);
      const server = await ours(dir, () => module.application());
      return { socket: server.socketPath, env: {}, stop: () => server.close() };
    },
  },
  {
    name: 'corepkcs11 + token',
    async start(_tools, dir) {
      const token = initializedToken();
      const server = await ours(dir, () => new Application(token));
      return {
        socket: server.socketPath,
        env: {},
        stop: async () => {
          await server.close();
          token.close();
        },
      };
    },
  },
];
