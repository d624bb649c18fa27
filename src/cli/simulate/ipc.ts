// Messages between the simulate coordinator and its worker processes: a few per second, never
// per MQTT message.
import type { FleetConfig } from './fleet.js';
import type { SecondSample } from './stats.js';

export type ToWorker = { t: 'init'; cfg: FleetConfig };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'sample'; sample: SecondSample }
  | { t: 'done'; errors: [string, number][] }
  | { t: 'error'; message: string };
