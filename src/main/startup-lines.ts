// The lines `twinhub start` prints on stdout once it is up. Scripts and the test helpers parse
// them (the actual ports when port 0 was asked for), so their shape is an interface: keep it.
import { LISTENER_LABELS, type ListenerName } from '../transport/listener.js';

/** "twinhub: MQTT listening on 127.0.0.1:40123", "twinhub: HTTP listening on http://…". */
export function listeningLine(name: ListenerName, display: string): string {
  return `twinhub: ${LISTENER_LABELS[name]} listening on ${display}`;
}

/** Printed after every listener is up. */
export const READY_LINE = 'twinhub: ready';
