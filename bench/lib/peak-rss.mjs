// Preloaded into a measured process (node --import): at exit, prints its peak resident set (VmHWM,
// exact, from /proc) on stderr, so a benchmark needs neither GNU time nor polling.
import { readFileSync, writeSync } from 'node:fs';

process.on('exit', () => {
  const kb = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  writeSync(2, `\npeak-rss-kb=${kb}\n`);
});
