/**
 * Command output: human lines and tables by default, JSON with --json (bytes as hex, dates as ISO),
 * files written 0600 with -o or stdout, inputs read from -i or stdin, and progress on a terminal only.
 * Layer L9 (command line).
 * @module
 */
import { closeSync, fchmodSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { CliError, EXIT } from './errors.js';

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
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
  process.stdout.write(`${text}\n`);
}

/** A left-aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Reads an input file, or stdin for '-' / no file; a missing file is exit code 3. */
export function readInput(path: string | undefined, what = 'input'): Buffer {
  try {
    return path === undefined || path === '-' ? readFileSync(0) : readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EISDIR'
          ? 'is a directory'
          : err.message;
    throw new CliError(EXIT.INPUT, `cannot read ${what} ${path ?? '(stdin)'}: ${why}`);
  }
}

/**
 * Writes to a file or, without one, to stdout. A regular file ends up 0600 even when it existed with a
 * wider mode (what we write may be secret: random bytes); devices and pipes keep theirs.
 */
export function writeOutput(path: string | undefined, data: string | Uint8Array): void {
  if (path === undefined || path === '-') {
    process.stdout.write(data);
    return;
  }
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
    process.stderr.write(done >= total ? '\r\x1b[K' : `\r\x1b[K${done + 1}/${total} ${what}`);
  };
}
