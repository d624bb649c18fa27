// Entry of a bench child process (publishers, subscribers or idle connections). The coordinator
// forks it, sends `init`, then drives it with `step`, `query` and `close` over IPC.
import { monoNowMs } from './clock.js';
import { IdleConnections } from './idle-conns.js';
import type { BenchConnection } from './connection.js';
import type { FromChild, InitMessage, ToChild } from './ipc.js';
import { PublisherGroup } from './publisher.js';
import { SubscriberGroup } from './subscriber.js';
import { PINGREQ } from './wire.js';

interface Role {
  connections(): BenchConnection[];
  close(): Promise<void>;
}

function send(m: FromChild): void {
  if (process.connected) process.send?.(m);
}

let role: Role | null = null;
let pub: PublisherGroup | null = null;
let sub: SubscriberGroup | null = null;
let idle: IdleConnections | null = null;

async function start(init: InitMessage): Promise<void> {
  if (init.role === 'pub') {
    role = pub = new PublisherGroup(init, send);
    await pub.connect();
  } else if (init.role === 'sub') {
    role = sub = new SubscriberGroup(init, send);
    await sub.connect();
  } else {
    role = idle = new IdleConnections(init, send, addressBase(init.runId));
  }
  send({ t: 'ready' });
  if (idle !== null) await idle.open();
  const keepAlive = init.opts.keepAlive;
  if (keepAlive > 0) {
    // A client must send a control packet within each Keep Alive period; PINGREQ does when it has
    // nothing else to send [MQTT-3.1.2-23]. Half the period leaves room for a busy loop.
    setInterval(() => {
      for (const c of role?.connections() ?? []) if (!c.closed) c.write(PINGREQ);
    }, keepAlive * 500).unref();
  }
  setInterval(() => {
    send({
      t: 'progress',
      sent: pub?.sentTotal ?? 0,
      received: sub?.totalReceived ?? 0,
      connected: idle?.connected ?? 0,
      atMs: monoNowMs(),
    });
  }, 1000).unref();
}

/** `127.a` from the run id, the same in every process of one run (127.0.0.0/8 is all loopback). */
function addressBase(runId: string): string {
  let h = 0;
  for (const ch of runId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `127.${1 + (h % 254)}`;
}

function fail(err: unknown): void {
  send({ t: 'error', message: (err as Error)?.message ?? String(err) });
}

process.on('message', (m: ToChild) => {
  switch (m.t) {
    case 'init':
      start(m).catch(fail);
      return;
    case 'step':
      pub?.startStep(m.step, m.rate, m.durationMs);
      return;
    case 'query':
      if (sub !== null) send(sub.stats(m.step, m.histogram));
      if (pub !== null) send(pub.stats(m.step));
      if (idle !== null) send({ t: 'connsStatus', open: idle.openCount });
      return;
    case 'close':
      Promise.resolve(role?.close())
        .catch(() => undefined)
        .finally(() => process.exit(0));
      return;
    default:
  }
});

// The coordinator died or closed the channel: nothing left to report to.
process.on('disconnect', () => process.exit(0));
