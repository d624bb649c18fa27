// The composition root: the only place that constructs adapters and wires store, hooks, broker,
// transports and the HTTP server from a validated config. Start-up is all or nothing (whatever
// started is stopped again when a later step fails); stop() runs in the order that loses
// nothing: stop accepting, let the broker send wills and flush, then close HTTP and the store.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { startHttpServer, type HttpServer } from '../api/server.js';
import type { Readiness } from '../api/plugins/health.js';
import { Errors, TwinhubError } from '../common/errors.js';
import type { ListenAddress, TwinhubConfig } from '../config/types.js';
import { Broker } from '../core/broker/broker.js';
import { acceptMqtt } from '../channel/mqtt/connection.js';
import { VERSION } from '../common/version.js';
import { createStaticAuthHooks } from '../core/broker/static-auth.js';
import { Hooks } from '../core/hooks.js';
import { MemoryBrokerStore } from '../adapters/memory/broker-store.js';
import { createLogger } from '../obs/log.js';
import type { BrokerStore } from '../ports/broker-store.js';
import type { Listener } from '../transport/listener.js';
import { startListeners } from '../transport/start-listeners.js';
import { readTlsMaterial } from '../transport/tls.js';
import { listeningLine, READY_LINE } from './startup-lines.js';

export interface HubAddresses {
  mqtt?: ListenAddress;
  mqtts?: ListenAddress;
  ws?: ListenAddress;
  http?: ListenAddress;
}

export interface RunningHub {
  readonly config: TwinhubConfig;
  /** The addresses actually bound (port 0 resolved), by listener. */
  readonly addresses: HubAddresses;
  readonly broker: Broker;
  /** Idempotent: later calls return the first call's promise. */
  stop(): Promise<void>;
}

export interface StartHubOptions {
  /** Default: a pino logger at config.log.level writing to stderr. */
  log?: Logger;
  /** Receives the start-up lines ("twinhub: MQTT listening on …"); default: stdout. */
  out?: (line: string) => void;
}

type HubState = 'starting' | 'running' | 'stopping' | 'stopped';


async function openStore(config: TwinhubConfig, log: Logger): Promise<BrokerStore> {
  if (!config.persistence.enabled) return new MemoryBrokerStore();
  const dir = resolve(config.data);
  try {
    await mkdir(dir, { recursive: true });
    // Loaded only when used: the native lmdb module costs start-up time and memory otherwise.
    const { openLmdbBrokerStore } = await import('../adapters/lmdb/broker-store.js');
    const store = await openLmdbBrokerStore(dir, { fsync: config.persistence.fsync });
    log.debug({ dir, fsync: config.persistence.fsync }, 'store opened');
    return store;
  } catch (err) {
    // The adapter's own errors (unsupported data format, LMDB open failure) already say what is
    // wrong with which folder; keep their codes and hints.
    if (err instanceof TwinhubError) throw err;
    throw new TwinhubError(
      Errors.STORE_OPEN_FAILED,
      `cannot open the store in data folder ${dir}: ${(err as Error).message}; choose another with --data DIR or TWINHUB_DATA`,
      { dir },
      { cause: err },
    );
  }
}

/** Run cleanup steps in order, all of them even when one fails; throw the first failure. */
async function runAll(steps: ReadonlyArray<readonly [string, () => Promise<void>]>, log: Logger): Promise<void> {
  let first: unknown;
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.error({ err }, `stop: ${what} failed`);
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

export async function startHub(config: TwinhubConfig, opts: StartHubOptions = {}): Promise<RunningHub> {
  const log = opts.log ?? createLogger({ level: config.log.level });
  const out = opts.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let state: HubState = 'starting';

  // Certificate files are configuration: check them before anything is opened or bound.
  if (config.mqtts) await readTlsMaterial(config.tls);
  const store = await openStore(config, log);
  let broker: Broker | undefined;
  let brokerStarted = false;
  let listeners: Listener[] = [];
  let http: HttpServer | undefined;
  const readiness = (): Readiness => {
    const health = broker!.health();
    const checks: Readiness['checks'] = {
      listeners: state === 'running' ? { ok: true } : { ok: false, detail: `hub is ${state}` },
      store: health.storeWritable ? { ok: true } : { ok: false, detail: `store not writable: ${health.lastStoreError ?? 'unknown error'}` },
    };
    return { ready: checks.listeners!.ok && checks.store!.ok, checks };
  };

  try {
    broker = new Broker({
      config,
      store,
      hooks: new Hooks(createStaticAuthHooks(config)),
      log: log.child({ component: 'broker' }),
      channel: acceptMqtt,
      version: VERSION,
    });
    await broker.start();
    brokerStarted = true;
    listeners = await startListeners(config, broker, log.child({ component: 'transport' }));
    if (config.http) http = await startHttpServer(config.http, { log: log.child({ component: 'http' }), readiness });
  } catch (err) {
    // All or nothing: undo what started, in the order stop() uses, then report the first error.
    await runAll(
      [
        ['closing listeners', async () => void (await Promise.all(listeners.map((l) => l.close())))],
        ['broker shutdown', async () => (brokerStarted ? broker!.shutdown() : undefined)],
        ['closing the store', () => store.close()],
      ],
      log,
    ).catch(() => undefined);
    throw err;
  }
  const running = broker;

  const addresses: HubAddresses = {};
  for (const l of listeners) {
    addresses[l.name as 'mqtt' | 'mqtts' | 'ws'] = l.address;
    out(listeningLine(l.name, l.display));
  }
  if (http) {
    addresses.http = http.address;
    out(listeningLine('http', http.url));
  }
  state = 'running';
  out(READY_LINE);
  for (const l of listeners) {
    if (!l.info.loopback && l.info.allowAnonymous) log.warn({ listener: l.name, address: l.display }, 'anonymous clients are allowed on a non-loopback listener (allowAnonymous: true)');
  }
  log.info({ addresses, persistence: config.persistence.enabled, data: config.persistence.enabled ? resolve(config.data) : undefined }, 'hub started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      state = 'stopping';
      log.info('hub stopping');
      await runAll(
        [
          ['stop accepting', async () => listeners.forEach((l) => l.stopAccepting())],
          // Sends DISCONNECT 0x8B to 5.0 clients, publishes wills, flushes pending commits.
          ['broker shutdown', () => running.shutdown()],
          ['closing listeners', async () => void (await Promise.all(listeners.map((l) => l.close())))],
          ['closing HTTP', async () => http?.close()],
          ['closing the store', () => store.close()],
        ],
        log,
      );
      state = 'stopped';
      log.info('hub stopped');
    })();
    return stopping;
  };

  return { config, addresses, broker: running, stop };
}
