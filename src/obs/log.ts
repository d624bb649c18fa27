// The hub's logger: pino. Logs go to stderr so that stdout carries only the start-up lines a user
// or a script reads (the listening addresses), as Mosquitto logs to stderr. JSON lines, or pretty
// lines (pino-pretty) when stderr is a terminal, unless the format says otherwise.
//
// Levels per component: the hub's parts log through children with a `component` binding
// (`log.child({ component: 'broker' })`); `components: { broker: 'debug', http: 'warn' }` gives
// such a child, and every child it makes, its own level instead of the root level.
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { TwinhubConfig } from '../config/types.js';

export type { Logger } from 'pino';
export type LogLevel = TwinhubConfig['log']['level'];
/** 'auto': pretty when stderr is a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: LogLevel;
  /** Levels of component loggers (`log.child({ component })`), by component name. */
  components?: Readonly<Record<string, LogLevel>>;
  /** Default 'auto'. */
  format?: LogFormat;
  /** Where lines go; default stderr (synchronous, so a fatal line is written before exit). */
  destination?: DestinationStream;
  /** Whether the destination is a terminal (for format 'auto'); default process.stderr.isTTY. */
  isTTY?: boolean;
}

/** The config section `log` as the logger reads it (components and format are optional). */
export interface LogConfig {
  level: LogLevel;
  components?: Readonly<Record<string, LogLevel>>;
  format?: LogFormat;
}

/** Logger options from the config section `log`. */
export function loggerOptionsOf(log: LogConfig): LoggerOptions {
  const o: LoggerOptions = { level: log.level };
  if (log.components !== undefined) o.components = log.components;
  if (log.format !== undefined) o.format = log.format;
  return o;
}

/** What createLogger adds to the root logger: changing levels while the hub runs (config reload). */
export interface LevelControl {
  /** Set the root level and the component levels; loggers made before take them too. */
  setLevels(level: LogLevel, components?: Readonly<Record<string, LogLevel>>): void;
  /** The level a component logger gets now. */
  levelOf(component: string): LogLevel;
}

const CONTROL = Symbol('twinhub.logLevels');

export function createLogger(opts: LoggerOptions): Logger {
  const usePretty = opts.format === 'pretty' || ((opts.format ?? 'auto') === 'auto' && (opts.isTTY ?? process.stderr.isTTY === true));
  const destination =
    opts.destination !== undefined
      ? usePretty
        ? pretty({ destination: opts.destination, sync: true, colorize: opts.isTTY ?? false, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
        : opts.destination
      : usePretty
        ? pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
        : pino.destination({ dest: 2, sync: true });
  const root = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  let rootLevel = opts.level;
  let components: Readonly<Record<string, LogLevel>> = { ...opts.components };
  /** Component loggers made so far, to re-level them on setLevels (weakly held: per-request children come and go). */
  const made: Array<{ component: string; ref: WeakRef<Logger> }> = [];

  // Every child goes through this, so a component binding anywhere below the root takes its level.
  // pino makes a child with Object.create(parent): the wrapper set on a logger would be inherited
  // by its children, so each one gets its own, calling pino's own child with the right `this`.
  const pinoChild = root.child as unknown as (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  const wrap = (logger: Logger): Logger => {
    const wrapped = (bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger => {
      const component = bindings.component;
      let o = options;
      if (typeof component === 'string' && options?.level === undefined) {
        const level = components[component];
        if (level !== undefined) o = { ...options, level };
      }
      const c = wrap(pinoChild.call(logger, bindings, o));
      if (typeof component === 'string') {
        made.push({ component, ref: new WeakRef(c) });
        if (made.length > 256) prune();
      }
      return c;
    };
    logger.child = wrapped as unknown as Logger['child'];
    return logger;
  };
  const prune = (): void => {
    for (let i = made.length - 1; i >= 0; i--) if (made[i]!.ref.deref() === undefined) made.splice(i, 1);
  };
  const control: LevelControl = {
    setLevels(level, next = {}) {
      rootLevel = level;
      components = { ...next };
      root.level = level;
      prune();
      for (const { component, ref } of made) {
        const l = ref.deref();
        if (l !== undefined) l.level = components[component] ?? level;
      }
    },
    levelOf(component) {
      return components[component] ?? rootLevel;
    },
  };
  (root as Logger & { [CONTROL]?: LevelControl })[CONTROL] = control;
  return wrap(root);
}

/** The level control of a logger made by createLogger (undefined for other loggers). */
export function levelControl(logger: Logger): LevelControl | undefined {
  return (logger as Logger & { [CONTROL]?: LevelControl })[CONTROL];
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
