// A process's memory as Linux reports it in /proc/PID/status (proc(5)): VmRSS is the resident set
// now, VmHWM its peak.
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  rssKB: number;
  peakKB: number;
}

export function readProcMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? NaN : Number(m[1]);
  };
  return { rssKB: field('VmRSS'), peakKB: field('VmHWM') };
}

/**
 * CPU seconds (user + system) a process has used: fields 14 and 15 of /proc/PID/stat, in clock
 * ticks of 1/100 s (USER_HZ is 100 on Linux, proc(5)). The name field may hold spaces, so the
 * fields are counted after its closing parenthesis.
 */
export function readProcCpuSec(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
