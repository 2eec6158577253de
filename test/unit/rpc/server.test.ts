import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startRpcServer } from '../../../src/rpc/server.js';
import { loadCaptures } from './helpers/captures.js';
import { RawClient, socketDir } from './helpers/client.js';
import { replayApplication, scriptOf } from './helpers/replay.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('RPC server replaying the captured client streams', () => {
  const dir = socketDir();
  after(() => dir.cleanup());

  for (const cap of loadCaptures()) {
    it(`${cap.name}: answers the captured client stream with the captured server bytes`, async () => {
      const version = cap.serverVersion;
      const { app, called } = replayApplication(scriptOf(cap, version));
      const server = await startRpcServer({
        socketPath: dir.path,
        createApplication: () => app,
        maxProtocolVersion: version,
      });
      try {
        const client = await RawClient.open(dir.path);
        client.write(cap.c2s); // the whole stream at once: every request is in flight together
        const got = await client.waitFor(cap.s2c.length);
        assert.equal(hex(got), hex(cap.s2c));
        assert.equal(called.length, cap.requests.length);
        client.close();
        await client.closed;
      } finally {
        await server.close();
      }
    });
  }
});

describe('startRpcServer', () => {
  const dir = socketDir();
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  before(async () => {
    server = await startRpcServer({
      socketPath: dir.path,
      createApplication: () => replayApplication([]).app,
    });
  });
  after(() => dir.cleanup());

  it('creates the socket with mode 0600 and prints a unix:path address', () => {
    assert.equal(statSync(dir.path).mode & 0o777, 0o600);
    assert.equal(server.address, `unix:path=${dir.path}`);
  });

  it('removes the socket file on close', async () => {
    await server.close();
    assert.throws(() => statSync(dir.path), { code: 'ENOENT' });
  });
});
