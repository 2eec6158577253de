/**
 * The captured p11-kit 0.24.1 traffic (shared/reference/p11kit-captures) split into frames and paired by
 * serial: the golden vectors of the codec and server tests.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Frame, FrameDecoder } from '../../../../src/rpc/frame.js';

export const CAPTURE_DIR = fileURLToPath(
  new URL('../../../../../test/unit/rpc/captures/', import.meta.url),
);

export interface Capture {
  name: string;
  c2s: Uint8Array;
  s2c: Uint8Array;
  /** Version byte the client sent / the server answered. */
  clientVersion: number;
  serverVersion: number;
  requests: Frame[];
  replies: Frame[];
}

export function capturesAvailable(): boolean {
  return existsSync(CAPTURE_DIR);
}

export function loadCaptures(): Capture[] {
  return readdirSync(CAPTURE_DIR)
    .filter((f) => f.endsWith('.c2s.bin'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.c2s.bin'.length);
      const c2s = new Uint8Array(readFileSync(`${CAPTURE_DIR}/${f}`));
      const s2c = new Uint8Array(readFileSync(`${CAPTURE_DIR}/${name}.s2c.bin`));
      return {
        name,
        c2s,
        s2c,
        clientVersion: c2s[0] ?? -1,
        serverVersion: s2c[0] ?? -1,
        requests: new FrameDecoder().push(c2s.subarray(1)),
        replies: new FrameDecoder().push(s2c.subarray(1)),
      };
    });
}
