// The composition root: the only place that constructs adapters and wires store, hooks, broker,
// transports and the HTTP server from a validated config. Start-up is all or nothing (whatever
// started is stopped again when a later step fails); stop() runs in the order that loses
// nothing: stop accepting, let the broker send wills and flush, then close HTTP and the store.
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { createApiAuth } from '../api/auth.js';
import { aclPlugin } from '../api/plugins/acl.js';
import { devicesPlugin } from '../api/plugins/devices.js';
import { messagesPlugin } from '../api/plugins/messages.js';
import { MemoryRegistryStore } from '../adapters/memory/registry-store.js';
import type { FleetJwtKey } from '../core/registry/authenticate.js';
import { importJwtKey, type JwtAlg } from '../core/registry/credentials/index.js';
import { Registry } from '../core/registry/registry.js';
import { MemoryTwinStore } from '../adapters/memory/twin-store.js';
import { twinsPlugin } from '../api/plugins/twins.js';
import { AWS_SHADOW_LIMITS } from '../core/twin/limits.js';
import { TwinService } from '../core/twin/service.js';
import type { TwinStore } from '../ports/twin-store.js';
import { MemorySeriesStore } from '../adapters/memory/series-store.js';
import { telemetryPlugin } from '../api/plugins/telemetry.js';
import { promPlugin } from '../api/plugins/prom.js';
import { jsonFilePersistence, memoryPersistence, schemaFile, SchemaStore } from '../core/telemetry/schema-store.js';
import { createIngestor } from '../core/telemetry/ingest/index.js';
import { TelemetryService } from '../core/telemetry/service.js';
import type { SeriesStore } from '../ports/series-store.js';
import type { RegistryStore } from '../ports/registry-store.js';
import { join, resolve } from 'node:path';
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
import { createLogger, levelControl, loggerOptionsOf } from '../obs/log.js';
import { createMetrics, type HubMetrics } from '../obs/metrics.js';
import { metricsPlugin } from '../api/plugins/metrics.js';
import { debugPlugin } from '../api/plugins/debug.js';
import type { BrokerStore } from '../ports/broker-store.js';
import type { Listener } from '../transport/listener.js';
import { startListeners } from '../transport/start-listeners.js';
import { readTlsMaterial } from '../transport/tls.js';
import { Tracing } from '../obs/tracing.js';
import { RuleEngine } from '../core/rules/engine.js';
import { addRuleMetrics } from '../obs/rule-metrics.js';
import { rulesPlugin } from '../api/plugins/rules.js';
import { applyLiveKeys, diffConfig, type ConfigDiff } from './reload.js';
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
  readonly registry: Registry;
  readonly twins: TwinService;
  /** The rule engine; undefined when rules.enabled is false. */
  readonly rules: RuleEngine | undefined;
  /** Prometheus metrics (served at /metrics); the rule engine adds collectors. */
  readonly metrics: HubMetrics;
  /** OpenTelemetry traces (disabled without traces.otlpEndpoint). */
  readonly tracing: Tracing;
  /** Undefined when telemetry.enabled is false. */
  readonly telemetry: TelemetryService | undefined;
  /**
   * Apply a new validated config: keys that can change live do (limits, ACLs, priorities, log
   * level, registry limits, API rate, telemetry mappings); the others are returned in `restart`.
   * Throws (changing nothing) when the new config cannot be applied (an invalid telemetry mapping).
   */
  reload(next: TwinhubConfig): ConfigDiff;
  /** Idempotent: later calls return the first call's promise. */
  stop(): Promise<void>;
}

export interface StartHubOptions {
  /** Default: a pino logger at config.log.level writing to stderr. */
  log?: Logger;
  /** Receives the start-up lines ("twinhub: MQTT listening on …"); default: stdout. */
  out?: (line: string) => void;
  /** TWINHUB_ADMIN_KEY: the admin API key to install instead of generating one. */
  adminKey?: string;
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

async function openRegistryStore(config: TwinhubConfig): Promise<RegistryStore> {
  if (!config.persistence.enabled) return new MemoryRegistryStore();
  const { openLmdbRegistryStore } = await import('../adapters/lmdb/registry-store.js');
  return openLmdbRegistryStore(resolve(config.data), { fsync: config.persistence.fsync });
}

async function readKeyFile(path: string, key: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TwinhubError(Errors.CONFIG_INVALID, `${key}: cannot read ${path}: ${(err as Error).message}`, { key });
  }
}

/** JWT keys named in the config, imported now so a bad key file stops the start with its key named. */
async function loadJwtKeys(config: TwinhubConfig): Promise<{ fleet: FleetJwtKey | undefined; api: { alg: JwtAlg; key: KeyObject } | undefined }> {
  const load = async (file: string | null, alg: JwtAlg, key: string) => {
    if (file === null) return undefined;
    const text = await readKeyFile(file, key);
    try {
      return { alg, key: importJwtKey(alg, text.trim()) };
    } catch (err) {
      throw new TwinhubError(Errors.CONFIG_INVALID, `${key}: ${(err as Error).message}`, { key });
    }
  };
  return {
    fleet: await load(config.registry.jwt.fleetKeyFile, config.registry.jwt.fleetAlg, 'registry.jwt.fleetKeyFile'),
    api: await load(config.api.jwt.keyFile, config.api.jwt.alg, 'api.jwt.keyFile'),
  };
}

async function openTwinStore(config: TwinhubConfig, historySize: number, cachedKeys: number): Promise<TwinStore> {
  if (!config.persistence.enabled) return new MemoryTwinStore({ historySize });
  const { openLmdbTwinStore } = await import('../adapters/lmdb/twin-store.js');
  return openLmdbTwinStore(resolve(config.data), { fsync: config.persistence.fsync, historySize, cachedKeys });
}

async function openSeriesStore(config: TwinhubConfig): Promise<SeriesStore> {
  if (!config.persistence.enabled) return new MemorySeriesStore();
  const { openLmdbSeriesStore } = await import('../adapters/lmdb/series-store.js');
  return openLmdbSeriesStore(resolve(config.data), { fsync: config.persistence.fsync });
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
  const log = opts.log ?? createLogger(loggerOptionsOf(config.log));
  // Component loggers are kept so a reloaded log.level reaches them (a pino child keeps the level
  // it was created with).
  const componentLogs: Logger[] = [];
  const childLog = (component: string): Logger => {
    const l = log.child({ component });
    componentLogs.push(l);
    return l;
  };
  const out = opts.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let state: HubState = 'starting';

  // Certificate files are configuration: check them before anything is opened or bound.
  if (config.mqtts) await readTlsMaterial(config.tls);
  const jwtKeys = await loadJwtKeys(config);
  const tracing = Tracing.fromConfig(config.traces);
  const store = await openStore(config, log);
  let registryStore: RegistryStore | undefined;
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

  let registry: Registry | undefined;
  let twinStore: TwinStore | undefined;
  let twins: TwinService | undefined;
  let seriesStore: SeriesStore | undefined;
  let telemetry: TelemetryService | undefined;
  let schemaStore: SchemaStore | undefined;
  let metrics: HubMetrics | undefined;
  let rules: RuleEngine | undefined;
  // One stop order for a failed start and for stop(), so they cannot drift apart; each step skips
  // what never started.
  const teardown = (): ReadonlyArray<readonly [string, () => Promise<void>]> => [
    ['stop accepting', async () => listeners.forEach((l) => l.stopAccepting())],
    ['stopping rules', async () => rules?.stop()],
    // Twin requests already queued finish (their PUBACKs wait on them) before the broker stops.
    ['stopping twins', async () => twins?.stop()],
    // Sends DISCONNECT 0x8B to 5.0 clients, publishes wills, flushes pending commits.
    ['broker shutdown', async () => (brokerStarted ? broker!.shutdown() : undefined)],
    // After the broker: no more messages arrive; the open chunks are checkpointed.
    ['stopping telemetry', async () => telemetry?.stop()],
    ['closing the telemetry store', async () => seriesStore?.close()],
    ['closing listeners', async () => void (await Promise.all(listeners.map((l) => l.close())))],
    ['closing HTTP', async () => http?.close()],
    ['closing the store', () => store.close()],
    ['closing the registry store', async () => registryStore?.close()],
    ['closing the twin store', async () => twinStore?.close()],
    ['flushing traces', () => tracing.shutdown()],
    ['closing metrics', async () => metrics?.close()],
  ];
  try {
    registryStore = await openRegistryStore(config);
    registry = await Registry.open({ store: registryStore, config, log: childLog('registry'), ...(jwtKeys.fleet === undefined ? {} : { fleetKey: jwtKeys.fleet }) });
    const adminKey = await registry.bootstrapAdminKey(opts.adminKey);
    broker = new Broker({
      config,
      store,
      hooks: new Hooks(createStaticAuthHooks(config)),
      log: childLog('broker'),
      channel: acceptMqtt,
      version: VERSION,
    });
    registry.attach(broker);
    // First listener on message.publish: the services after it find the message's span.
    tracing.attach(broker);
    const { historySize, cacheDevices, ...shadowLimits } = config.twins;
    twinStore = await openTwinStore(config, historySize, cacheDevices);
    twins = new TwinService({ broker, store: twinStore, limits: { ...AWS_SHADOW_LIMITS, ...shadowLimits }, log: childLog('twins'), cacheDevices });
    twins.start();
    const twinService = twins;
    registry.onDeviceDeleted(async (id, keepData) => {
      if (!keepData) await twinService.deleteDevice(id);
    });
    const reg = registry;
    if (config.telemetry.enabled) {
      seriesStore = await openSeriesStore(config);
      // Payload schemas per device type live in <data>/telemetry/schemas.json.
      schemaStore = await SchemaStore.open(config.persistence.enabled ? jsonFilePersistence(schemaFile(resolve(config.data))) : memoryPersistence());
      const t = config.telemetry;
      telemetry = new TelemetryService({
        broker,
        store: seriesStore,
        ingestor: createIngestor(t.mappings, { schemas: schemaStore.registry }),
        log: childLog('telemetry'),
        options: {
          lateWindowMs: t.lateWindow * 1000,
          chunkMaxPoints: t.chunkMaxPoints,
          chunkMaxSpanMs: t.chunkMaxSpan * 1000,
          retentionMs: t.retention * 1000,
          checkpointIntervalMs: t.checkpointInterval * 1000,
          deadLetterTopic: t.deadLetterTopic,
        },
        deviceTypeOf: (id) => reg.typeOf(id),
      });
      await telemetry.start();
      const telemetryService = telemetry;
      registry.onDeviceDeleted(async (id, keepData) => {
        if (!keepData) await telemetryService.deleteDevice(id);
      });
    }
    await broker.start();
    brokerStarted = true;
    if (config.rules.enabled) {
      const r = config.rules;
      rules = new RuleEngine({
        broker,
        log: childLog('rules'),
        folder: resolve(r.folder ?? join(config.data, 'rules')),
        twins,
        ...(telemetry === undefined ? {} : { telemetry }),
        registry,
        tracing,
        options: {
          maxHops: r.maxHops,
          errorLogSize: r.errorLogSize,
          laneQueueSize: r.laneQueueSize,
          rescanMs: r.rescanInterval * 1000,
          webhook: { queueSize: r.webhook.queueSize, concurrency: r.webhook.concurrency, breakerThreshold: r.webhook.breakerThreshold, breakerCoolDownMs: r.webhook.breakerCoolDown * 1000 },
        },
      });
      await rules.start();
    }
    listeners = await startListeners(config, broker, childLog('transport'));
    const b = broker;
    const auth = createApiAuth({ registry: reg, config, ...(jwtKeys.api === undefined ? {} : { jwtKey: jwtKeys.api }) });
    const tel = telemetry;
    metrics = createMetrics(
      { broker: () => b, registry: () => reg, apiAuth: () => auth.counters, twins: () => twinService, telemetry: () => tel },
      { version: VERSION },
    );
    const m = metrics;
    if (rules !== undefined) addRuleMetrics(m, rules);
    const resources = async (app: FastifyInstance): Promise<void> => {
      // First: its onResponse hook times every route registered after it.
      await app.register(metricsPlugin, { metrics: m, auth, requireKey: config.metrics.requireKey });
      await app.register(debugPlugin, { auth });
      await app.register(devicesPlugin, { auth, registry: reg });
      if (rules !== undefined) await app.register(rulesPlugin, { auth, engine: rules });
      await app.register(aclPlugin, { auth, registry: reg });
      await app.register(messagesPlugin, { auth, registry: reg, broker: b });
      await app.register(twinsPlugin, { auth, twins: twinService, deviceExists: async (id) => (await reg.store.getDevice(id)) !== undefined });
      if (telemetry !== undefined) {
        await app.register(telemetryPlugin, { auth, telemetry, devicesBy: (f) => reg.deviceIds(f.tag === undefined ? f : { ...f, tags: f.tag }), ...(schemaStore === undefined ? {} : { schemas: schemaStore }) });
        await app.register(promPlugin, { auth, telemetry, deviceLabels: (id) => reg.store.getDevice(id) });
      }
    };
    if (config.http) http = await startHttpServer(config.http, { log: childLog('http'), readiness, resources });
    if (adminKey !== undefined) {
      out(`twinhub: created the admin API key (shown once, stored hashed): ${adminKey}`);
      out('twinhub: use it as "Authorization: Bearer <key>" or TWINHUB_KEY for the CLI; set TWINHUB_ADMIN_KEY to choose one');
    }
  } catch (err) {
    // All or nothing: undo what started, then report the first error.
    await runAll(teardown(), log).catch(() => undefined);
    throw err;
  }
  const running = broker;
  const runningRegistry = registry;
  const runningTwins = twins!;
  const runningTelemetry = telemetry;
  const runningSchemas = schemaStore;
  const runningMetrics = metrics;
  const runningRules = rules;

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
      await runAll(teardown(), log);
      state = 'stopped';
      log.info('hub stopped');
    })();
    return stopping;
  };

  const reload = (next: TwinhubConfig): ConfigDiff => {
    const diff = diffConfig(config, next);
    // Everything that can fail is built before anything changes.
    const ingestor = diff.live.includes('telemetry.mappings') ? createIngestor(next.telemetry.mappings, runningSchemas === undefined ? {} : { schemas: runningSchemas.registry }) : undefined;
    applyLiveKeys(config, next, diff);
    if (diff.live.some((k) => k === 'acl' || k.startsWith('registry.'))) runningRegistry.configChanged();
    if (diff.live.includes('priorities')) running.setPriorities(config.priorities);
    if (ingestor !== undefined) runningTelemetry?.setIngestor(ingestor);
    if (diff.live.includes('log.level') || diff.live.includes('log.components')) {
      const control = levelControl(log);
      if (control !== undefined) control.setLevels(config.log.level, config.log.components);
      else {
        // A logger passed in from outside: one level for all.
        log.level = config.log.level;
        for (const l of componentLogs) l.level = config.log.level;
      }
    }
    log.info({ applied: diff.live, restartNeeded: diff.restart }, 'configuration reloaded');
    if (diff.restart.length > 0) log.warn({ keys: diff.restart }, 'these changed keys take effect only after a restart');
    return diff;
  };

  return { config, addresses, broker: running, registry: runningRegistry, twins: runningTwins, telemetry: runningTelemetry, tracing, metrics: runningMetrics!, rules: runningRules, reload, stop };
}
