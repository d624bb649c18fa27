import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, levelControl, loggerOptionsOf, type LoggerOptions } from './log.js';

/** A destination collecting what the logger writes. */
function sink(): { stream: Writable & { write(s: string): boolean }; text(): string; lines(): Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    stream: stream as Writable & { write(s: string): boolean },
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function make(opts: Omit<LoggerOptions, 'destination'>) {
  const s = sink();
  const log = createLogger({ format: 'json', ...opts, destination: s.stream });
  return { log, s };
}

describe('createLogger: levels per component', () => {
  test('a component child gets its configured level; others keep the root level', () => {
    const { log, s } = make({ level: 'info', components: { broker: 'debug', http: 'warn' } });
    const broker = log.child({ component: 'broker' });
    const http = log.child({ component: 'http' });
    const twins = log.child({ component: 'twins' });
    broker.debug('broker debug');
    http.info('http info');
    http.warn('http warn');
    twins.debug('twins debug');
    twins.info('twins info');
    log.debug('root debug');
    assert.deepEqual(s.lines().map((l) => l.msg), ['broker debug', 'http warn', 'twins info']);
    assert.equal(broker.level, 'debug');
    assert.equal(http.level, 'warn');
    assert.equal(twins.level, 'info');
  });

  test('children of a component logger (per request, per client) inherit its level', () => {
    const { log, s } = make({ level: 'warn', components: { http: 'debug' } });
    const req = log.child({ component: 'http' }).child({ reqId: 'r1' });
    req.debug('request debug');
    assert.equal(s.lines()[0]?.msg, 'request debug');
    assert.equal(s.lines()[0]?.reqId, 'r1');
    assert.equal(s.lines()[0]?.component, 'http');
  });

  test('a component binding below another child takes its own level', () => {
    const { log } = make({ level: 'info', components: { acl: 'trace' } });
    assert.equal(log.child({ component: 'registry' }).child({ component: 'acl' }).level, 'trace');
  });

  test('an explicit level in the child options wins over the component level', () => {
    const { log } = make({ level: 'info', components: { broker: 'debug' } });
    assert.equal(log.child({ component: 'broker' }, { level: 'error' }).level, 'error');
  });

  test('setLevels re-levels the root and the component loggers already made (config reload)', () => {
    const { log, s } = make({ level: 'info', components: { broker: 'debug' } });
    const broker = log.child({ component: 'broker' });
    const http = log.child({ component: 'http' });
    const control = levelControl(log);
    assert.ok(control);
    control.setLevels('warn', { http: 'debug' });
    broker.info('broker info');
    http.debug('http debug');
    log.info('root info');
    assert.deepEqual(s.lines().map((l) => l.msg), ['http debug']);
    assert.equal(control.levelOf('broker'), 'warn');
    assert.equal(control.levelOf('http'), 'debug');
    assert.equal(log.child({ component: 'http' }).level, 'debug');
  });

  test('lines are JSON with level labels and ISO times', () => {
    const { log, s } = make({ level: 'info' });
    log.child({ component: 'broker' }).info({ clients: 3 }, 'hello');
    const [line] = s.lines();
    assert.equal(line?.level, 'info');
    assert.equal(line?.component, 'broker');
    assert.equal(line?.clients, 3);
    assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
  });
});

describe('createLogger: output format', () => {
  test('auto on a terminal is pretty (not JSON)', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'auto', isTTY: true, destination: s.stream });
    log.child({ component: 'broker' }).info('pretty line');
    assert.match(s.text(), /INFO/);
    assert.match(s.text(), /pretty line/);
    assert.throws(() => JSON.parse(s.text().trim()));
  });

  test('auto off a terminal is JSON lines', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'auto', isTTY: false, destination: s.stream });
    log.info('json line');
    assert.equal(s.lines()[0]?.msg, 'json line');
  });

  test('json on a terminal stays JSON', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'json', isTTY: true, destination: s.stream });
    log.info('json line');
    assert.equal(s.lines()[0]?.msg, 'json line');
  });

  test('loggerOptionsOf reads the optional keys of the config section', () => {
    assert.deepEqual(loggerOptionsOf({ level: 'info' }), { level: 'info' });
    assert.deepEqual(loggerOptionsOf({ level: 'warn', components: { broker: 'debug' }, format: 'json' }), {
      level: 'warn',
      components: { broker: 'debug' },
      format: 'json',
    });
  });
});
