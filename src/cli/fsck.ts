/**
 * `corepkcs11 fsck [--repair]`: checks a token store and reports what is damaged, writing nothing —
 * flash sectors whose header fails its checks (kept as they are, their records still read), bits read
 * as written, records that cannot be read, a lost token record; with a PIN, every object record's MAC
 * too. Only `--repair` writes: it rewrites what can be read and removes what cannot. Layer L9.
 * @module
 */
import { openStore } from '../create.js';
import { utf8 } from '../util/bytes.js';
import { requireStore, resolvePin, storeOf } from './context.js';
import { EXIT } from './errors.js';
import { COMMON_HELP, flag, PIN_HELP, parseCommand } from './options.js';
import { printJson, say } from './output.js';

const FSCK_HELP = `usage: corepkcs11 fsck [--repair] [--pin PIN] [options]

Check the token store and report what is damaged, writing nothing: flash sectors whose header fails
its checks (kept as they are; their records are still read), flipped bits read as written, records
that cannot be read, a token record that is lost. With a PIN (--pin or $COREPKCS11_PIN) it logs in
and checks every object record's MAC as well. Exit code 0 when the store is healthy, 7 when not.
  --repair         rewrite what can be read: a damaged flash sector's records are written again and
                   the sector erased; records with a flipped bit are written again without it. Then
                   remove what no repair can read (records failing their checksum, index entries
                   naming records that are gone). A readable object is never deleted.
${PIN_HELP}
${COMMON_HELP}`;

interface Report {
  store: string;
  storage: string[];
  records: string[];
  /** With a PIN: records that failed authentication (never used), private objects gone. */
  rejected: string[];
  /** Whether records were authenticated: 'checked', 'pre-mac' (migrated at the first login), 'no PIN'. */
  authentication: 'checked' | 'pre-mac' | 'no PIN';
  objects: number;
  tokenRecord: 'ok' | 'absent' | 'lost';
  repaired: string[];
  healthy: boolean;
}

export async function fsckCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { repair: { type: 'boolean' } }, FSCK_HELP);
  if (!p) return EXIT.OK;
  const store = storeOf(p);
  requireStore(store);
  const { token, close } = openStore(store, { warn: () => {} });
  try {
    const pin = await resolvePin(p, 'user', undefined, true);
    const audit = pin !== null && token.initialized ? token.auditRecords(utf8(pin)) : 'no PIN';
    const repaired = flag(p, 'repair') ? token.repairStorage() : [];
    const h = token.storageHealth;
    const report: Report = {
      store,
      storage: [...h.storage],
      records: [...h.records],
      rejected: [...(h.rejected ?? [])],
      objects: h.objects,
      tokenRecord: token.initialized ? 'ok' : h.recordLost ? 'lost' : 'absent',
      repaired,
      authentication: audit,
      healthy:
        h.storage.length === 0 &&
        h.records.length === 0 &&
        (h.rejected ?? []).length === 0 &&
        !h.recordLost,
    };
    if (flag(p, 'json')) printJson(report);
    else printReport(report);
    return report.healthy ? EXIT.OK : EXIT.TOKEN;
  } finally {
    close();
  }
}

function printReport(r: Report): void {
  for (const line of r.repaired) say(`repaired: ${line}`);
  for (const line of r.storage) say(`storage: ${line}`);
  for (const line of r.records) say(`record: ${line}`);
  for (const line of r.rejected) say(`authentication: ${line}`);
  const auth = {
    checked: 'every record checked',
    'pre-mac': 'not yet (a store from before record MACs: its first login migrates it)',
    'no PIN': 'not checked (give --pin to check every record’s MAC)',
  }[r.authentication];
  say(`record authentication: ${auth}`);
  say(
    `token record: ${r.tokenRecord === 'lost' ? 'lost (missing, yet the store holds objects or damage)' : r.tokenRecord}`,
  );
  say(`${r.objects} object records read`);
  const hint =
    r.storage.length > 0
      ? 'corepkcs11 fsck --repair rewrites what can be read'
      : 'corepkcs11 fsck --repair removes what cannot be read';
  say(r.healthy ? `${r.store}: healthy` : `${r.store}: damaged (${hint})`);
}
