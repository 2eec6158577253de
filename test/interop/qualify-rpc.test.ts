/**
 * Issue 4 item 5: the qualification suite passes over RPC — `corepkcs11 qualify` loads p11-kit-client.so
 * through pkcs11js in a child process and talks to our server (in this process) in front of the token.
 * @module
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../src/adapters/pal-memory/index.js';
import { startRpcServer } from '../../src/rpc/server.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { findTools, run, workdir } from './helpers/env.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const tools = findTools();

describe('the qualification suite over p11-kit RPC', () => {
  const dir = workdir('corepkcs11-qualify-rpc-');
  after(() => dir.cleanup());

  for (const [config, count] of [
    ['full', 27],
    ['ec-keygen', 19],
  ] as const) {
    it(`${config}: every test passes through p11-kit-client.so`, {
      skip: typeof tools === 'string' ? tools : false,
    }, async () => {
      if (typeof tools === 'string') return;
      // a fresh, uninitialized token: the suite initializes it through RPC as corePKCS11's helper would
      const token = new Token(createMemoryPal(), createNodeCrypto(), {
        pinIterations: 1000,
        allowWeakPinIterations: true,
        warn: () => {},
      });
      const server = await startRpcServer({
        socketPath: dir.file(`${config}.sock`),
        createApplication: () => new Application(token),
      });
      try {
        const r = await run(
          process.execPath,
          [CLI, 'qualify', '--module', tools.client, '--config', config],
          { P11_KIT_SERVER_ADDRESS: server.address },
          300_000,
        );
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.ok(
          r.stdout.endsWith(`\n${'-'.repeat(23)}\n${count} Tests 0 Failures 0 Ignored\nOK\n`),
          r.stdout,
        );
        assert.equal(r.stdout.match(/ PASS$/gm)?.length, count);
      } finally {
        await server.close();
        token.close();
      }
    });
  }
});
