/**
 * Command output: human lines and tables by default, JSON with --json (bytes as hex, dates as ISO),
 * files written 0600 with -o (confirmed on stderr unless --quiet) or stdout, and progress on a
 * terminal only. Every line passes through safeText, so strings from the token or from files never
 * reach the terminal raw. Layer L9 (command line).
 * @module
 */
import { closeSync, fchmodSync, fstatSync, openSync, writeFileSync } from 'node:fs';
import { CliError, EXIT } from './errors.js';
import { CELL_WIDTH, cell, charLength, ID_WIDTH, safeJson, safeText } from './text.js';

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * One line on stdout, made safe: a newline inside it (from a label, say) is shown as `\x0a`, never
 * breaks the line. Print several lines with several calls.
 */
export function say(line = ''): void {
  process.stdout.write(`${safeText(line)}\n`);
}

/** One line on stderr (warnings, errors, confirmations), made safe like `say`. */
export function warnLine(line: string): void {
  process.stderr.write(`${safeText(line)}\n`);
}

/** Prints `value` as JSON: Uint8Array → hex string, Date → ISO text, Buffers (handles) omitted. */
export function printJson(value: unknown): void {
  const text = JSON.stringify(
    value,
    (_k, v) => {
      if (Buffer.isBuffer(v) || (v && v.type === 'Buffer' && Array.isArray(v.data)))
        return undefined;
      if (v instanceof Uint8Array) return hex(v);
      return v;
    },
    2,
  );
  process.stdout.write(`${safeJson(text)}\n`);
}

/**
 * A left-aligned text table, as lines to `say`. Cells are made safe and, unless `wide`, cut with an
 * ellipsis to CELL_WIDTH characters (ID_WIDTH in an `ID` column), so one long label cannot widen
 * every row.
 */
export function table(headers: string[], rows: string[][], wide = false): string[] {
  const width = headers.map((h) => (h === 'ID' ? ID_WIDTH : CELL_WIDTH));
  const cells = rows.map((r) =>
    r.map((c, i) => (wide ? safeText(c) : cell(c, width[i] ?? CELL_WIDTH))),
  );
  const widths = headers.map((h, i) =>
    Math.max(charLength(h), ...cells.map((r) => charLength(r[i] ?? ''))),
  );
  const line = (cs: string[]) =>
    cs
      .map((c, i) =>
        i === cs.length - 1 ? c : c + ' '.repeat((widths[i] as number) - charLength(c)),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)];
}

/** A file a command wrote, as `--json` output reports it. */
export interface Written {
  path: string;
  bytes: number;
  format: string;
}

export interface WriteOptions {
  /** What the bytes are, for the confirmation: `DER`, `PEM`, `raw`, `binary`. */
  format: string;
  /** No confirmation line (--quiet). */
  quiet: boolean;
}

/**
 * Writes to a file or, without one (or `-`), to stdout. A regular file ends up 0600 even when it
 * existed with a wider mode (what we write may be secret: random bytes); devices and pipes keep theirs.
 * A file written is confirmed on stderr (`wrote firmware.sig (71 bytes, DER)`) unless quiet.
 */
export function writeOutput(
  path: string | undefined,
  data: string | Uint8Array,
  options: WriteOptions,
): Written | undefined {
  if (path === undefined || path === '-') {
    process.stdout.write(data);
    return undefined;
  }
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  try {
    const fd = openSync(path, 'w', 0o600);
    try {
      if (fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new CliError(EXIT.INPUT, `cannot write ${path}: ${(e as Error).message}`);
  }
  if (!options.quiet)
    warnLine(`wrote ${path} (${bytes} byte${bytes === 1 ? '' : 's'}, ${options.format})`);
  return { path, bytes, format: options.format };
}

/**
 * Runs `work` with a spinner and elapsed seconds on stderr when stderr is a terminal; silent in pipes
 * and with --json.
 */
export async function withProgress<T>(
  label: string,
  quiet: boolean,
  work: () => Promise<T>,
): Promise<T> {
  if (quiet || !process.stderr.isTTY) return work();
  const frames = '|/-\\';
  const start = Date.now();
  let i = 0;
  const tick = () => {
    const s = ((Date.now() - start) / 1000).toFixed(0);
    process.stderr.write(`\r${frames[i++ % frames.length]} ${label} ${s}s`);
  };
  tick();
  const timer = setInterval(tick, 200);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  }
}

/** "3/10 label" progress for loops, on a terminal only. */
export function progressLine(quiet: boolean): (done: number, total: number, what: string) => void {
  if (quiet || !process.stderr.isTTY) return () => {};
  return (done, total, what) => {
    process.stderr.write(
      done >= total ? '\r\x1b[K' : `\r\x1b[K${done + 1}/${total} ${safeText(what)}`,
    );
  };
}

/** Inputs at least this large show progress on a terminal. */
export const PROGRESS_FROM_BYTES = 64 << 20;

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/**
 * Byte progress for a streamed input (`hashing 1.20 GiB of 3.00 GiB (40%)`), on a terminal only, once
 * PROGRESS_FROM_BYTES have gone through, at most four times a second. Call with -1 to clear the line.
 */
export function progressMeter(
  verb: string,
  total: number | undefined,
  quiet: boolean,
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr,
): (done: number) => void {
  if (quiet || !stream.isTTY) return () => {};
  let shown = false;
  let last = 0;
  return (done) => {
    if (done < 0) {
      if (shown) stream.write('\r\x1b[K');
      return;
    }
    const now = Date.now();
    if (done < PROGRESS_FROM_BYTES || now - last < 250) return;
    last = now;
    shown = true;
    const of = total ? ` of ${gib(total)} (${Math.floor((100 * done) / total)}%)` : '';
    stream.write(`\r\x1b[K${verb} ${gib(done)}${of}`);
  };
}
