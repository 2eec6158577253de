/**
 * `corepkcs11 list` and `delete`: the objects on the token as a table (class, label, id, key type and
 * size, flags), sorted, or JSON with each object's PKCS#11 URI; objects destroyed by name. Layer L9.
 * @module
 */
import { findObjects } from '../helpers/core.js';
import { describeObject, type ObjectDescription } from '../helpers/inspect.js';
import { objectUri } from '../helpers/uri.js';
import type { TokenInfo } from '../pkcs11/types.js';
import { loggedIn, maybeLoggedIn, withToken } from './context.js';
import { CliError, EXIT } from './errors.js';
import { COMMON_HELP, flag, PIN_HELP, parseCommand, str } from './options.js';
import { hex, printJson, say, table } from './output.js';
import {
  checkTokenMatches,
  describeSelection,
  SELECT_HELP,
  SELECT_OPTIONS,
  selectionOf,
  templateOf,
} from './select.js';
import { CELL_WIDTH, ID_WIDTH } from './text.js';

const LIST_HELP = `usage: corepkcs11 list [--type T] [--label L] [--id HEX] [pkcs11:URI] [-l] [--sort KEYS] [--wide] [options]

List the objects on the token: class, label, id, key type and size, and flags. Private objects are
listed only when logged in: with a PIN from --pin or $COREPKCS11_PIN, or with -l/--login (asks).
Objects are sorted by class, label and id. Control characters in labels and other strings are shown
escaped (\\x1b); table cells are cut to ${CELL_WIDTH} characters (ids to ${ID_WIDTH}) with …;
--wide or --json shows them whole.
${SELECT_HELP}
${PIN_HELP}
  -l, --login      log in (ask for the PIN on a terminal if none is given)
  --sort KEYS      order by these comma-separated keys: class, label, id, key (default
                   class,label,id), or none for the token's order
  --wide           table cells whole, however long
${COMMON_HELP}`;

function row(d: ObjectDescription): string[] {
  let what = d.keyType ?? '';
  if (d.curve) what += ` ${d.curve}`;
  else if (d.keyBits) what += ` ${d.keyBits}`;
  if (d.subject) what += ` ${d.subject}`;
  const flags = d.flags.filter((f) => f !== 'token' && f !== 'modifiable');
  return [d.type, d.label, hex(d.id), what.trim(), flags.join(',')];
}

function jsonOf(d: ObjectDescription, info: TokenInfo) {
  const { handle: _h, ...rest } = d;
  return {
    ...rest,
    uri: objectUri({ token: info, label: d.label, objectClass: d.objectClass, id: d.id }),
  };
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const SORT_KEYS: Record<string, (a: ObjectDescription, b: ObjectDescription) => number> = {
  class: (a, b) => Buffer.compare(utf8(a.type), utf8(b.type)),
  label: (a, b) => Buffer.compare(utf8(a.label), utf8(b.label)),
  id: (a, b) => Buffer.compare(a.id, b.id),
  key: (a, b) => Buffer.compare(utf8(row(a)[3] ?? ''), utf8(row(b)[3] ?? '')),
};

/**
 * The --sort order: byte order of each key in turn (the same on every machine and locale), then the
 * rest of the row, so equal keys never come out in the token's changing order.
 */
export function sortObjects(objects: ObjectDescription[], spec = 'class,label,id'): void {
  if (spec === 'none') return;
  const keys = spec.split(',').map((k) => {
    const cmp = SORT_KEYS[k.trim()];
    if (!cmp) {
      throw new CliError(
        EXIT.USAGE,
        `--sort takes class, label, id, key (comma-separated) or none, not '${k}'`,
      );
    }
    return cmp;
  });
  const rest = (d: ObjectDescription) => utf8(JSON.stringify(row(d)));
  objects.sort((a, b) => {
    for (const cmp of keys) {
      const c = cmp(a, b);
      if (c !== 0) return c;
    }
    return Buffer.compare(rest(a), rest(b));
  });
}

export async function listCommand(argv: string[]): Promise<number> {
  const p = parseCommand(
    argv,
    {
      ...SELECT_OPTIONS,
      login: { type: 'boolean', short: 'l' },
      sort: { type: 'string' },
      wide: { type: 'boolean' },
    },
    LIST_HELP,
    'uri',
  );
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  const sort = str(p, 'sort');
  sortObjects([], sort);
  return withToken(p, async (t) => {
    const info = t.info();
    checkTokenMatches(sel, info);
    const { session, loggedIn: inside } = await maybeLoggedIn(t, p, sel.uri, flag(p, 'login'));
    const objects = findObjects(t.p11, session, templateOf(sel)).map((h) =>
      describeObject(t.p11, session, h),
    );
    sortObjects(objects, sort);
    if (flag(p, 'json')) {
      printJson({ loggedIn: inside, objects: objects.map((d) => jsonOf(d, info)) });
      return EXIT.OK;
    }
    if (objects.length > 0) {
      for (const l of table(
        ['CLASS', 'LABEL', 'ID', 'KEY', 'FLAGS'],
        objects.map(row),
        flag(p, 'wide'),
      ))
        say(l);
    }
    const note = inside ? '' : ' (public objects only: give --pin or -l to see private ones)';
    say(`${objects.length} object${objects.length === 1 ? '' : 's'}${note}`);
    return EXIT.OK;
  });
}

const DELETE_HELP = `usage: corepkcs11 delete (--label L | --id HEX | --type T | pkcs11:URI) [--all] [options]

Destroy the object the selection names. When several match, nothing is deleted unless --all.
${SELECT_HELP}
  --all            delete every matching object
${PIN_HELP}
${COMMON_HELP}`;

export async function deleteCommand(argv: string[]): Promise<number> {
  const p = parseCommand(argv, { ...SELECT_OPTIONS, all: { type: 'boolean' } }, DELETE_HELP, 'uri');
  if (!p) return EXIT.OK;
  const sel = selectionOf(p);
  if (sel.empty)
    throw new CliError(EXIT.USAGE, 'name what to delete: --label, --id, --type or a pkcs11: URI');
  return withToken(p, async (t) => {
    checkTokenMatches(sel, t.info());
    const s = await loggedIn(t, p, 'user', sel.uri);
    const found = findObjects(t.p11, s, templateOf(sel));
    if (found.length === 0)
      throw new CliError(EXIT.NOT_FOUND, `no ${describeSelection(sel)} on the token`);
    if (found.length > 1 && !flag(p, 'all')) {
      throw new CliError(
        EXIT.NOT_FOUND,
        `${found.length} objects match: ${describeSelection(sel)}; nothing deleted`,
        'add --all to delete them all, or narrow with --type/--id',
      );
    }
    const gone = found.map((h) => describeObject(t.p11, s, h));
    for (const h of found) t.p11.C_DestroyObject(s, h);
    if (flag(p, 'json')) printJson({ deleted: gone.map((d) => jsonOf(d, t.info())) });
    else
      for (const d of gone)
        say(`Deleted ${d.type} '${d.label}'${d.id.length ? ` (id ${hex(d.id)})` : ''}`);
    return EXIT.OK;
  });
}
