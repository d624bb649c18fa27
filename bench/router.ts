// Router match throughput: 100k subscriptions of a device fleet (mostly exact per-device filters,
// some '+' and '#' filters, a couple of catch-all monitors) matched against random topics, cold
// (every match walks the trie) and through the route cache. Prints one JSON line.
//
//   node --import tsx bench/router.ts [--subs 100000] [--seconds 2]
//
// When the `qlobber` package (the matcher Aedes uses) is installed, its throughput on the same
// subscriptions and topics is reported beside ours as a reference.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TopicTrie } from '../src/core/router/trie.js';
import { RouteCache } from '../src/core/router/route-cache.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const SUBS = arg('subs', 100_000);
const SECONDS = arg('seconds', 2);
const TOPICS = 100_000;

// A deterministic PRNG so every run measures the same workload.
let seed = 0x2545f491;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const devices = Math.floor(SUBS * 0.7);
const sites = 500;
const buildings = 20;
const kinds = ['temp', 'humidity', 'power', 'status', 'alarm'];

function subscriptions(): [filter: string, key: string][] {
  const out: [string, string][] = [];
  for (let i = 0; out.length < SUBS; i++) {
    const r = i % 10;
    const key = `client-${i}`;
    if (r < 6) out.push([`devices/${i % devices}/cmd`, key]); // 60% exact
    else if (r === 6) out.push([`devices/${rnd(devices)}/+`, key]); // 10% '+' at the end
    else if (r === 7) out.push([`sites/${rnd(sites)}/+/${kinds[rnd(kinds.length)]}`, key]); // 10% '+' inside
    else if (r === 8) out.push([`sites/${rnd(sites)}/${rnd(buildings)}/#`, key]); // 10% '#'
    else out.push([`fleet/${rnd(1000)}/status`, key]); // 10% exact, shared by several keys
  }
  out.push(['#', 'monitor-all'], ['+/+/alarm', 'monitor-alarms']);
  return out;
}

function topics(): string[] {
  const out: string[] = [];
  for (let i = 0; i < TOPICS; i++) {
    const r = rnd(4);
    if (r === 0) out.push(`devices/${rnd(devices)}/cmd`);
    else if (r === 1) out.push(`devices/${rnd(devices)}/telemetry`);
    else if (r === 2) out.push(`sites/${rnd(sites)}/${rnd(buildings)}/${kinds[rnd(kinds.length)]}`);
    else out.push(`fleet/${rnd(1000)}/status`);
  }
  return out;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const subs = subscriptions();
const topicList = topics();

gc();
const heapBefore = process.memoryUsage().heapUsed;
const trie = new TopicTrie<number>();
for (let i = 0; i < subs.length; i++) trie.add(subs[i]![0], subs[i]![1], i);
gc();
const bytesPerSubscription = Math.round((process.memoryUsage().heapUsed - heapBefore) / subs.length);

let visits = 0;
function visit(): void {
  visits++;
}

/** Runs `fn` over the topic list for about SECONDS; returns matches per second. */
function measure(fn: (topic: string) => void): number {
  for (let i = 0; i < 20_000; i++) fn(topicList[i % TOPICS]!); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(SECONDS * 1e9));
  let elapsed = 0n;
  do {
    for (let i = 0; i < TOPICS; i++) fn(topicList[i]!);
    n += TOPICS;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return Math.round(n / (Number(elapsed) / 1e9));
}

visits = 0;
let counted = 0;
const cold = measure((t) => {
  trie.match(t, visit);
  counted++;
});
const visitsPerMatch = visits / counted;

// Cached: the route cache holds each topic's subscriber list, as the broker's route entry does.
const cache = new RouteCache<number[]>(2 * TOPICS);
let scratch: number[] = [];
function collect(_k: string, v: number): void {
  scratch.push(v);
}
const cached = measure((t) => {
  let r = cache.get(t);
  if (r === undefined) {
    scratch = [];
    trie.match(t, collect);
    r = scratch;
    cache.set(t, r);
  }
  visits += r.length;
});

let qlobber: number | undefined;
try {
  const mod = (await import('qlobber' as string)) as { Qlobber: new (o: object) => QlobberLike };
  interface QlobberLike {
    add(topic: string, val: unknown): void;
    match(topic: string): unknown[];
  }
  const q = new mod.Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
  for (let i = 0; i < subs.length; i++) q.add(subs[i]![0], i);
  qlobber = measure((t) => {
    visits += q.match(t).length;
  });
} catch {
  qlobber = undefined;
}

console.log(
  JSON.stringify({
    bench: 'router',
    node: process.version,
    subscriptions: subs.length,
    filters: [...trie.filters()].length,
    trieNodes: trie.nodeCount,
    bytesPerSubscription,
    distinctTopics: TOPICS,
    visitsPerMatch: Math.round(visitsPerMatch * 100) / 100,
    coldMatchesPerSec: cold,
    coldNsPerMatch: Math.round(1e9 / cold),
    cachedMatchesPerSec: cached,
    cacheHitRate: Math.round((cache.hits / (cache.hits + cache.misses)) * 1000) / 1000,
    qlobberMatchesPerSec: qlobber ?? null,
  }),
);
