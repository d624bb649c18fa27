// A bare value payload: the text of one number in JSON number syntax (RFC 8259 §6), or `true` /
// `false`, with optional surrounding whitespace. 'NaN', '0x10', '' and '1,5' are not numbers here
// (Number() would take some of them).
import { isUtf8 } from 'node:buffer';
import { deadLetter } from '../types.js';
import type { Sink } from '../types.js';
import { checkName } from './object.js';

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Longest payload read as a number: bounds the work spent on a payload that cannot be one. */
const MAX_BYTES = 1024;

export function readNumber(payload: Buffer, metric: string, sink: Sink): void {
  if (payload.length > MAX_BYTES || !isUtf8(payload)) {
    deadLetter(sink, 'payload is not a number, true or false');
    return;
  }
  const text = payload.toString('utf8').trim();
  let value: number | boolean;
  if (text === 'true') value = true;
  else if (text === 'false') value = false;
  else if (NUMBER_RE.test(text)) {
    value = Number(text);
    if (!Number.isFinite(value)) {
      deadLetter(sink, `payload ${text} is out of the float64 range`);
      return;
    }
  } else {
    deadLetter(sink, `payload "${text.length > 32 ? text.slice(0, 32) + '…' : text}" is not a number, true or false`);
    return;
  }
  if (checkName(metric, sink)) sink.points.push({ device: sink.device, metric, ts: sink.receivedAt, value });
}
