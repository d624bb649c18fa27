// One clock for every bench process. process.hrtime reads CLOCK_MONOTONIC on Linux (libuv's
// uv_hrtime), which is system-wide, so a publisher and a subscriber in different processes on the
// same machine read the same clock. performance.now() runs on the same source, so this offset,
// taken once, maps it to that clock without a BigInt per reading.
const offsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Milliseconds on the machine's monotonic clock, comparable across processes. */
export function monoNowMs(): number {
  return performance.now() + offsetMs;
}
