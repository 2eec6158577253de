/**
 * Suites `objects-memory`, `objects-file`, `objects-flash`: model-based tests (fc.commands) of which
 * objects a token holds across creates, destroys, renames, copies, logins, sessions and restarts over
 * the same storage (model/objects.ts). A last restart checks the store once more.
 * @module
 */
import fc from 'fast-check';
import * as C from '../../../src/pkcs11/constants.js';
import { initializedModule, PAL_PORTS, userSession } from '../../helpers/token.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';
import { checkAgainst, type Model, objectCommands, type Real, Restart } from '../model/objects.js';

export function objectsSuite(portName: string) {
  const port = PAL_PORTS.find((p) => p.name === portName);
  if (!port) throw new Error(`no PAL port ${portName}`);
  return (options: SuiteOptions): Promise<SuiteResult> => {
    const tally = new Tally();
    const property = fc.property(
      fc.commands(objectCommands, { maxCommands: 30, size: 'max' }),
      (cmds) => {
        const warnings: string[] = [];
        const m = initializedModule(port, {
          pinIterations: 10,
          allowWeakPinIterations: true,
          warn: (w) => warnings.push(w),
        });
        const real: Real = { m, sessions: [userSession(m)], restarts: 0 };
        const model: Model = { objects: [], sessions: [true], loggedIn: true, next: 0 };
        try {
          fc.modelRun(() => ({ model, real }), cmds);
          new Restart().run(model, real);
          real.m.p11.C_Login(
            real.m.p11.C_OpenSession(real.m.slot, C.CKF_SERIAL_SESSION),
            C.CKU_USER,
            '1234',
          );
          model.loggedIn = true;
          checkAgainst(model, real);
          if (warnings.length > 0) throw new Error(`damage reported: ${warnings.join('; ')}`);
          tally.add('sequences');
          tally.add('commands', [...cmds].length);
          tally.add('restarts', real.restarts);
        } finally {
          m.cleanup();
        }
      },
    );
    return runProperties(`objects-${portName}`, options, tally, [['object model', property]]);
  };
}
