// One clock for every bench process. process.hrtime reads CLOCK_MONOTONIC on Linux (libuv's
// uv_hrtime), which is system-wide, so a publisher and a subscriber in different processes on the
// same machine read the same clock. It is read directly on every call: mapping performance.now()
// onto it with an offset taken once skews each process by however long that first reading took,
// which showed as latencies below a microsecond. Callers read it once per batch, not per message.

/** Milliseconds on the machine's monotonic clock, comparable across processes. */
export function monoNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
