import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

let ticksPerSecond: number | null = null;

/** Clock ticks per second of /proc times (getconf CLK_TCK, usually 100). */
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime+stime of one process in seconds, or null when it is gone. */
export function processCpuSec(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / clockTicks();
  } catch {
    return null;
  }
}

/**
 * utime+stime (seconds) of the PostgreSQL processes that work for database `db`: the postmaster
 * and its auxiliary processes (WAL writer, checkpointer, background writer…, shared by every
 * database), plus the client backends and autovacuum workers of `db` — not the backends of other
 * databases, which other users of a shared server may be keeping busy. Backends are told apart
 * by their process title (`postgres: <user> <db> <host>(<port>) <state>`).
 */
export function postgresCpuSecFor(db: string): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
      title = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    const backend = /^postgres: \S+ (\S+) (\S+\(\d+\)|\[local\])/.exec(title);
    const autovacuum = /^postgres: autovacuum worker (\S+)/.exec(title);
    const of = backend?.[1] ?? autovacuum?.[1];
    if (of !== undefined && of !== db) continue;
    total += processCpuSec(Number(entry)) ?? 0;
  }
  return total;
}

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat minus idle and iowait). */
export function machineBusySec(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (v[3] ?? 0) - (v[4] ?? 0)) / clockTicks();
}

/** Peak resident set (VmHWM) of a process in MB, or null when it is gone. */
export function peakRssMbOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}
