// A bare Node frame forwarder: not a broker, a ceiling. It answers CONNECT, SUBSCRIBE and PINGREQ,
// takes the last subscriber as the only one, and copies the bytes of every PUBLISH it receives to
// it unchanged, batched into one write per event-loop turn. What a Node process can forward in
// the fan-in scenario is bounded by this; `twinhub bench` against it shows the generator's ceiling.
// Usage: node --import tsx bench/forwarder.ts [port]   (prints "listening PORT")
import { createServer, type Socket } from 'node:net';

let subscriber: Socket | null = null;
let batch: Buffer[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (subscriber !== null && batch.length > 0) subscriber.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
  batch = [];
}

function forward(bytes: Buffer): void {
  batch.push(bytes);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

const server = createServer({ noDelay: true }, (sock) => {
  let pending: Buffer | null = null;
  let version = 4;
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: Buffer) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    let run = -1; // start of a run of PUBLISH frames, forwarded as one slice
    const acks: number[] = [];
    for (;;) {
      let i = pos + 1;
      let len = 0;
      let mult = 1;
      let whole = false;
      while (i < buf.length && !whole) {
        const b = buf[i++];
        len += (b & 0x7f) * mult;
        mult *= 128;
        whole = b < 0x80;
      }
      if (!whole || i + len > buf.length) break;
      const type = buf[pos] >> 4;
      if (type !== 3 && run >= 0) (forward(buf.subarray(run, pos)), (run = -1));
      if (type === 1) {
        version = buf[i + 6]; // protocol level, after the "MQTT" name (3.1.1 §3.1.2.2)
        sock.write(Buffer.from(version === 5 ? [0x20, 3, 0, 0, 0] : [0x20, 2, 0, 0]));
      } else if (type === 8) {
        subscriber = sock;
        const qos = buf[i + len - 1] & 3;
        sock.write(Buffer.from(version === 5 ? [0x90, 4, buf[i], buf[i + 1], 0, qos] : [0x90, 3, buf[i], buf[i + 1], qos]));
      } else if (type === 3) {
        if (run < 0) run = pos;
        const qos = (buf[pos] >> 1) & 3;
        const t = i + 2 + buf.readUInt16BE(i);
        if (qos === 1) acks.push(0x40, 2, buf[t], buf[t + 1]);
      } else if (type === 12) sock.write(Buffer.from([0xd0, 0]));
      else if (type === 14) sock.end();
      pos = i + len;
    }
    if (run >= 0) forward(buf.subarray(run, pos));
    if (acks.length > 0) sock.write(Buffer.from(acks));
    pending = pos < buf.length ? buf.subarray(pos) : null;
  });
  sock.on('close', () => {
    if (subscriber === sock) subscriber = null;
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr !== null ? addr.port : ''}\n`);
});
