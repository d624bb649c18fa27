// A WebSocket seen as a byte stream, so the MQTT channel treats it like a TCP socket. MQTT 5.0
// §6.0: packets travel in binary frames [MQTT-6.0.0-1], and a frame may hold several packets or
// part of one [MQTT-6.0.0-2], so incoming frames are pushed as plain bytes and the writes batched
// by the stream (_writev) go out as one frame.
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

/** Close code 1003 (RFC 6455 §7.4.1): the endpoint received a type of data it cannot accept. */
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;

export class WebSocketDuplex extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: false });
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.onMessage);
    ws.once('close', this.onClose);
    ws.on('error', this.onError);
  }

  private readonly onMessage = (data: Buffer, isBinary: boolean): void => {
    if (!isBinary) {
      // [MQTT-6.0.0-1] "If any other type of data frame is received the recipient MUST close
      // the Network Connection."
      this.ws.close(WS_CLOSE_UNSUPPORTED_DATA, 'MQTT requires binary frames');
      this.destroy(new Error('WebSocket text frame received; MQTT requires binary frames [MQTT-6.0.0-1]'));
      return;
    }
    if (!this.push(data)) this.ws.pause();
  };

  private readonly onClose = (): void => {
    // Like a TCP FIN: end the readable side; a consumer that is not reading gets 'close' now.
    this.push(null);
    if (!this.readableFlowing) this.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.ws.send(chunk, { binary: true, compress: false }, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.ws.send(data, { binary: true, compress: false }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Sent after the queued frames: a DISCONNECT written before end() still reaches the client.
    this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.ws.off('message', this.onMessage);
    // A connection being closed with a close frame is left to finish its closing handshake.
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    callback(error);
  }

  /** The WebSocket subprotocol selected at the upgrade ('mqtt' or 'mqttv3.1'). */
  get protocol(): string {
    return this.ws.protocol;
  }
}
