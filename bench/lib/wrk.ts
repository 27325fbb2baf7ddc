import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * wrk script: each thread cycles through the paths file from its own offset. The requests are
 * formatted once, at start: formatting each in Lua as it is sent was a third of wrk's user CPU (a
 * sixth of all of it: 0.029 against 0.024 ms per request, measured against a fixed server), taken
 * from the cores both servers share, and so mostly from the faster one's share.
 */
const SCRIPT = `
local requests = {}
local counter = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines(args[1]) do requests[#requests + 1] = wrk.format("GET", line) end
  counter = (id or 0) * 7919
end
function request()
  counter = counter % #requests + 1
  return requests[counter]
end
`;

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly errors: number;
  /** What the errors were, for the message that fails the benchmark. */
  readonly errorDetail: string;
  readonly latencyAvgMs: number;
  readonly latencyMedianMs: number;
  readonly latencyP99Ms: number;
  /** wrk's latency distribution (percent → ms). */
  readonly percentiles: Readonly<Record<number, number>>;
  /** Requests that took longer than wrk's --timeout (also counted in errors). */
  readonly timeouts: number;
  /** With a script that counts statuses (see statusScript): responses per HTTP status. */
  readonly statuses: Readonly<Record<number, number>>;
}

/** The cycling script plus a count of responses per HTTP status, printed by done() as "status N COUNT". */
const STATUS_SCRIPT = `${SCRIPT}
-- a global: thread:get reads globals of the thread's Lua state
local all = {}
statuses = {}
local base_setup = setup
function setup(thread)
  base_setup(thread)
  all[#all + 1] = thread
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(all) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d %d\\n", status, n)) end
end
`;

/** Writes the script that also counts responses per status (slower per response; for low-rate workloads). */
export async function writeStatusScript(dir: string): Promise<string> {
  const file = path.join(dir, 'cycle-status.lua');
  await writeFile(file, STATUS_SCRIPT);
  return file;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60000 : n;
}

export async function writeScript(dir: string): Promise<string> {
  const file = path.join(dir, 'cycle.lua');
  await writeFile(file, SCRIPT);
  return file;
}

/** Runs wrk against origin with the given paths file; non-2xx responses and socket errors are counted as errors. */
export async function wrk(
  origin: string,
  pathsFile: string,
  script: string,
  options: { connections: number; threads: number; seconds: number; latency?: boolean; timeoutSeconds?: number; headers?: Readonly<Record<string, string>> },
): Promise<WrkResult> {
  // --latency always: the median and p99 are part of every result.
  const args = ['--latency', '-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '-s', script];
  if (options.timeoutSeconds !== undefined) args.push('--timeout', `${options.timeoutSeconds}s`);
  // Sent with every request (the cycling script's wrk.format() takes wrk.headers, which -H fills).
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(origin, '--', pathsFile);
  const { stdout } = await run('wrk', args, { maxBuffer: 1 << 20 });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const total = /(\d+) requests in/.exec(stdout);
  const latency = /Latency\s+([\d.]+)(us|ms|s|m)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  const distribution = (percent: number): number => {
    const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(stdout);
    return match ? toMs(match[1]!, match[2]!) : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  if (!rate || !total) throw new Error(`cannot read wrk output:\n${stdout}`);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const percentiles: Record<number, number> = {};
  for (const m of stdout.matchAll(/^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) percentiles[Number(m[1])] = toMs(m[2]!, m[3]!);
  const statuses: Record<number, number> = {};
  for (const m of stdout.matchAll(/^status (\d+) (\d+)$/gm)) statuses[Number(m[1])] = Number(m[2]);
  return {
    requestsPerSecond: Number(rate[1]),
    requests: Number(total[1]),
    errors: (non2xx ? Number(non2xx[1]) : 0) + socketErrors,
    errorDetail: `${non2xx ? Number(non2xx[1]) : 0} non-2xx; socket errors: ${socket ? socket[0] : 'none'}`,
    latencyAvgMs: latency ? toMs(latency[1]!, latency[2]!) : Number.NaN,
    percentiles,
    timeouts: socket ? Number(socket[4]) : 0,
    statuses,
    latencyMedianMs: distribution(50),
    latencyP99Ms: distribution(99),
  };
}
