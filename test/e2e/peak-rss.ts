/**
 * Loaded into a CLI child with `node --import`: when the process exits, writes its peak resident set
 * size in KiB (getrusage's ru_maxrss, what `/usr/bin/time -v` reports) to $PEAK_RSS_FILE.
 * @module
 */
import { writeFileSync } from 'node:fs';

const out = process.env.PEAK_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
