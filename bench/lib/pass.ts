import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One pass over a list of URLs, each asked once: what a fresh server does with requests it has never seen. */
export interface PassResult {
  readonly requestsPerSecond: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/**
 * wrk through the list once, one thread, every connection taking the next URL from one queue.
 * wrk has no request count (it always runs for -d), so the script keeps its own books: delay()
 * reserves the next URL for the connection about to send, or parks it for good once the list is
 * handed out; the last response stops the clock (CLOCK_MONOTONIC through LuaJIT's FFI) and sends
 * SIGINT, which ends wrk's sleep; done() prints the pass with wrk's latency percentiles. A request
 * lost to a socket error never answers: wrk then runs to its -d and the pass fails with its count.
 * It replaces Node's fetch in the bench's own process, whose work came out of the cores the
 * servers run on and so mostly out of the faster one's share: the same warm server and 300 regions
 * gave 218-233 req/s through fetch against 277-312 through this pass (~290 against ~410 on a faster
 * day). wrk is also the client of every warm figure, so cold and warm now differ only in the server.
 */
const ONE_PASS_SCRIPT = `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } pass_timespec;
int clock_gettime(int clock, pass_timespec *tp);
int kill(int pid, int sig);
int getpid(void);
]]
local clock = ffi.new("pass_timespec")
local function now()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end
local requests = {}
local reserved, sent = 0, 0
-- globals: done() reads them from the thread's Lua state
answered, failed, started, finished = 0, 0, 0, 0
local worker
function setup(thread) worker = thread end
function init(args)
  for line in io.lines(args[1]) do requests[#requests + 1] = wrk.format("GET", line) end
end
function delay()
  reserved = reserved + 1
  if reserved <= #requests then return 0 end
  return 86400000
end
function request()
  -- wrk calls request() once before the run, to count the requests it returns: nothing is sent
  if reserved == 0 then return requests[1] end
  if sent == 0 then started = now() end
  sent = sent + 1
  return requests[sent]
end
function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or #body == 0 then failed = failed + 1 end
  if answered == #requests then
    finished = now()
    ffi.C.kill(ffi.C.getpid(), 2)
  end
end
function done(summary, latency, requests)
  local ms = function(p) return latency:percentile(p) / 1000 end
  io.write(string.format("pass %d %d %.6f %.3f %.3f %.3f\\n", worker:get("answered"), worker:get("failed"),
    worker:get("finished") - worker:get("started"), ms(50), ms(95), ms(99)))
end
`;

/** wrk's -d for a pass: an upper bound only (the last response ends wrk); a pass that reaches it has lost a request to a socket error. */
const passLimitSeconds = (count: number): number => Math.max(60, Math.ceil(count / 10));

export async function onePass(origin: string, paths: readonly string[], connections: number, headers: Readonly<Record<string, string>> = {}): Promise<PassResult> {
  if (paths.length === 0) throw new Error(`one pass over ${origin}: no URLs`);
  const dir = await mkdtemp(path.join(tmpdir(), 'vitrine-pass-'));
  try {
    const [script, list] = [path.join(dir, 'one-pass.lua'), path.join(dir, 'paths.txt')];
    await writeFile(script, ONE_PASS_SCRIPT);
    await writeFile(list, paths.join('\n') + '\n');
    const args = ['--latency', '-t', '1', '-c', String(Math.min(connections, paths.length)), '-d', `${passLimitSeconds(paths.length)}s`, '--timeout', '60s', '-s', script];
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
    const { stdout } = await run('wrk', [...args, origin, '--', list], { maxBuffer: 1 << 20 });
    const pass = /^pass (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$/m.exec(stdout);
    if (!pass) throw new Error(`cannot read wrk's pass over ${origin}:\n${stdout}`);
    const [answered, failed, seconds, medianMs, p95Ms, p99Ms] = pass.slice(1).map(Number) as [number, number, number, number, number, number];
    const socket = /Socket errors: .*/.exec(stdout);
    if (answered !== paths.length || failed > 0 || socket) {
      throw new Error(`one pass over ${origin}: ${answered} of ${paths.length} answered, ${failed} not 200 with a body${socket ? `; ${socket[0]}` : ''}`);
    }
    return { requestsPerSecond: paths.length / seconds, medianMs, p95Ms, p99Ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
