/**
 * Whether a path names a store that load() may open: an existing directory (file PAL) or an existing
 * regular file (flash image). Opening never creates a store unless asked, so a mistyped path is an
 * error rather than a new, empty token.
 * @module
 */
import { statSync } from 'node:fs';

/** Why `path` cannot be opened as a store of this kind, or undefined when it can. */
export function storePathProblem(path: string, kind: 'directory' | 'image'): string | undefined {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'No such file or directory' : `cannot stat (${code ?? e})`;
  }
  if (kind === 'directory' && !isDirectory) return 'not a token directory';
  if (kind === 'image' && isDirectory) return 'a directory, not a flash image';
  return undefined;
}
