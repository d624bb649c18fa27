// The hub's logger: pino, JSON lines. Logs go to stderr so that stdout carries only the
// start-up lines a user or a script reads (the listening addresses), as Mosquitto logs to stderr.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { TwinhubConfig } from '../config/types.js';

export type { Logger } from 'pino';
export type LogLevel = TwinhubConfig['log']['level'];

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; default stderr (synchronous, so a fatal line is written before exit). */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const destination = opts.destination ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
