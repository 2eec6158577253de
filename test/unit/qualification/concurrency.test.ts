import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BroadcastChannel } from 'node:worker_threads';
import { type Pkcs11Like, runQualification } from '../../../src/qualification/index.js';
import {
  createVerifier,
  freshToken,
  isRandomFluke,
  loadModule,
  softHsm,
  USER_PIN,
} from './softhsm.js';
import { PROBE_CHANNEL } from './worker-probe.js';

const hsm = softHsm();
const skip = 'missing' in hsm ? `SoftHSMv2 unavailable: ${hsm.missing}` : false;

interface Recorded {
  sequence: Array<{ method: string; session: string }>;
  maxSignsInFlight: number;
}

/** Records which session each call came from and how many C_SignAsync calls overlap. */
function recording(base: Pkcs11Like): { module: Pkcs11Like; log: Recorded } {
  const log: Recorded = { sequence: [], maxSignsInFlight: 0 };
  let inFlight = 0;
  const module = new Proxy(base, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      const method = String(key);
      return (...args: unknown[]) => {
        const session = Buffer.isBuffer(args[0]) ? args[0].toString('hex') : '';
        log.sequence.push({ method, session });
        if (method !== 'C_SignAsync') return value.apply(target, args);
        inFlight++;
        log.maxSignsInFlight = Math.max(log.maxSignsInFlight, inFlight);
        return (value.apply(target, args) as Promise<unknown>).finally(() => void inFlight--);
      };
    },
  });
  return { module, log };
}

describe('qualification multi-thread tests run their tasks concurrently', { skip }, () => {
  if (!skip) freshToken();

  it('in-process tasks interleave their calls and overlap their C_SignAsync calls', async () => {
    if ('missing' in hsm) return;
    const { module, log } = recording(loadModule(hsm.library));
    const report = await runQualification({
      module,
      verifier: createVerifier(),
      config: 'ec-import',
      pin: USER_PIN,
      output: () => {},
    });
    assert.ok(report.failures === 0 || (report.failures === 1 && isRandomFluke(report)));
    const signs = log.sequence.filter((c) => c.method === 'C_SignInit').map((c) => c.session);
    const sessions = new Set(signs);
    assert.ok(sessions.size >= 3, 'the global session and two task sessions sign');
    // Interleaved: the signing session changes many times, not once per task.
    const switches = signs.filter((s, i) => i > 0 && s !== signs[i - 1]).length;
    assert.ok(switches >= 10, `session switches between SignInit calls: ${switches}`);
    const finds = log.sequence
      .filter((c) => c.method === 'C_FindObjectsInit')
      .map((c) => c.session);
    const findSwitches = finds.filter((s, i) => i > 0 && s !== finds[i - 1]).length;
    assert.ok(findSwitches >= 20, `session switches between finds: ${findSwitches}`);
    assert.ok(log.maxSignsInFlight >= 2, `overlapping C_SignAsync calls: ${log.maxSignsInFlight}`);
  });

  it('worker mode runs each task in its own worker thread with its own module', async () => {
    if ('missing' in hsm) return;
    const seen: Array<{ threadId: number; isMainThread: boolean }> = [];
    const channel = new BroadcastChannel(PROBE_CHANNEL);
    channel.onmessage = (event) => void seen.push((event as MessageEvent).data);
    try {
      const report = await runQualification({
        module: loadModule(hsm.library),
        verifier: createVerifier(),
        config: 'ec-import',
        pin: USER_PIN,
        output: () => {},
        workers: { url: new URL('./worker-probe.js', import.meta.url).href, arg: hsm.library },
      });
      assert.ok(report.failures === 0 || (report.failures === 1 && isRandomFluke(report)));
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      channel.close();
    }
    // NoObject GenerateRandom + EC FindObject / GetAttributeValue / SignVerify: 4 tests × 2 tasks.
    assert.equal(seen.length, 8);
    assert.ok(seen.every((s) => !s.isMainThread));
    assert.equal(new Set(seen.map((s) => s.threadId)).size, 8);
  });
});
