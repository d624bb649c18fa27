// The PromQL subset parser: selectors, matchers, range functions, folded numbers, and the precise
// refusal of everything outside the subset (the HTTP layer answers those as bad_data).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesAll, parsePromDuration, parsePromQL, parseSeriesSelector, PromQLError, type LabelMatcher } from './promql.js';

const plain = (ms: LabelMatcher[]) => ms.map(({ name, op, value }) => ({ name, op, value }));

function refused(q: string, re: RegExp): void {
  assert.throws(
    () => parsePromQL(q),
    (e: unknown) => e instanceof PromQLError && e.errorType === 'bad_data' && re.test(e.message),
    `${q} should be refused with ${re}`,
  );
}

describe('PromQL subset parser', () => {
  test('a bare metric name is a selector on __name__', () => {
    const e = parsePromQL('temp');
    assert.equal(e.kind, 'selector');
    assert.deepEqual(plain((e as { matchers: LabelMatcher[] }).matchers), [{ name: '__name__', op: '=', value: 'temp' }]);
  });

  test('matchers = != =~ !~ with every quote style and a trailing comma', () => {
    const e = parsePromQL(`temp{device="d1",metric=~'temp|hum', site!=\`paris\`, type!~"x.*",}`);
    assert.equal(e.kind, 'selector');
    const ms = (e as { matchers: LabelMatcher[] }).matchers;
    assert.deepEqual(plain(ms), [
      { name: '__name__', op: '=', value: 'temp' },
      { name: 'device', op: '=', value: 'd1' },
      { name: 'metric', op: '=~', value: 'temp|hum' },
      { name: 'site', op: '!=', value: 'paris' },
      { name: 'type', op: '!~', value: 'x.*' },
    ]);
  });

  test('Prometheus regex matchers are fully anchored: =~"temp" does not match "temperature"', () => {
    const ms = parseSeriesSelector('{__name__=~"temp"}');
    assert.equal(matchesAll(ms, { __name__: 'temp' }), true);
    assert.equal(matchesAll(ms, { __name__: 'temperature' }), false);
    assert.equal(matchesAll(parseSeriesSelector('{__name__=~"te|hum"}'), { __name__: 'temp' }), false, 'alternation is inside the anchors');
  });

  test('an absent label matches as the empty string (Prometheus: {site=""} selects series without site)', () => {
    const ms = parseSeriesSelector('temp{site=""}');
    assert.equal(matchesAll(ms, { __name__: 'temp' }), true);
    assert.equal(matchesAll(ms, { __name__: 'temp', site: 'x' }), false);
    assert.equal(matchesAll(parseSeriesSelector('temp{site!="x"}'), { __name__: 'temp' }), true);
  });

  test('Prometheus 3 quoted metric names inside braces, for dotted Twinhub metrics', () => {
    const e = parsePromQL('{"gps.lat", device="d1"}');
    assert.deepEqual(plain((e as { matchers: LabelMatcher[] }).matchers), [
      { name: '__name__', op: '=', value: 'gps.lat' },
      { name: 'device', op: '=', value: 'd1' },
    ]);
    refused('temp{"hum"}', /metric name is given twice/);
  });

  test('string escapes follow Go: \\n \\" \\x41 \\u00e9, raw strings keep backslashes', () => {
    const e = parsePromQL('{device="a\\"b\\n\\x41\\u00e9", x=`\\d+`}') as { matchers: LabelMatcher[] };
    assert.equal(e.matchers[0]!.value, 'a"b\nAé');
    assert.equal(e.matchers[1]!.value, '\\d+');
    refused('{device="a\\q"}', /unknown escape/);
    refused('{device="abc}', /unterminated/);
  });

  test('range functions over a range selector', () => {
    for (const fn of ['avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'rate']) {
      const e = parsePromQL(`${fn}(temp{device="d1"}[5m])`);
      assert.equal(e.kind, 'call');
      if (e.kind === 'call') {
        assert.equal(e.fn, fn);
        assert.equal(e.selector.range, 300_000);
      }
    }
    const r = parsePromQL(' rate ( counter [1h30m] ) ');
    assert.equal(r.kind === 'call' && r.selector.range, 5_400_000);
  });

  test('durations: units ms s m h d w y, compound largest first (Prometheus model.ParseDuration)', () => {
    assert.equal(parsePromDuration('250ms'), 250);
    assert.equal(parsePromDuration('1h30m'), 5_400_000);
    assert.equal(parsePromDuration('1y'), 365 * 86_400_000);
    assert.ok(Number.isNaN(parsePromDuration('30m1h')), 'out of order');
    assert.ok(Number.isNaN(parsePromDuration('5')), 'no unit');
    assert.ok(Number.isNaN(parsePromDuration('5mm')));
    refused('avg_over_time(temp[5x])', /bad duration/);
    refused('avg_over_time(temp[0s])', /bad duration/);
  });

  test('numbers fold into a scalar (Grafana checks a data source with 1+1)', () => {
    assert.deepEqual(parsePromQL('1+1'), { kind: 'number', value: 2 });
    assert.deepEqual(parsePromQL('2 * (3 + 4) - 1'), { kind: 'number', value: 13 });
    assert.deepEqual(parsePromQL('2 ^ 3 ^ 2'), { kind: 'number', value: 512 }, '^ is right-associative');
    assert.deepEqual(parsePromQL('-2 ^ 2'), { kind: 'number', value: -4 }, '^ binds tighter than unary minus');
    assert.deepEqual(parsePromQL('0x10'), { kind: 'number', value: 16 });
    const inf = parsePromQL('Inf');
    assert.equal(inf.kind === 'number' && inf.value, Infinity);
  });

  test('everything outside the subset is refused, naming what', () => {
    refused('', /empty query/);
    refused('sum(temp)', /aggregation sum is not supported/);
    refused('sum by (device) (temp)', /aggregation sum is not supported/);
    refused('increase(temp[5m])', /function increase is not supported; supported: avg_over_time/);
    refused('abs(temp)', /function abs is not supported/);
    refused('temp + 1', /binary operator \+ is only supported between numbers/);
    refused('temp > 1', /comparison operator > is not supported/);
    refused('temp offset 5m', /offset modifier is not supported/);
    refused('temp @ 1000', /@ modifier is not supported/);
    refused('avg_over_time(temp[5m:1m])', /subqueries are not supported/);
    refused('avg_over_time(temp)', /expects a range vector/);
    refused('rate(temp[5m], 1)', /takes one argument/);
    refused('"text"', /a string is not a query/);
    refused('temp and hum', /and is not supported/);
    refused('temp{device=d1}', /expected a quoted label value/);
    refused('temp{device~"d1"}', /unexpected character|expected = != =~ or !~/);
    refused('temp{device="d1"', /expected , or \}/);
    refused('temp{device=~"("}', /invalid regular expression/);
    refused('temp 5m', /a duration \(5m\) is only allowed in \[ \]|unexpected/);
  });

  test('Prometheus: a vector selector must contain at least one non-empty matcher', () => {
    refused('{}', /at least one non-empty matcher/);
    refused('{device=""}', /at least one non-empty matcher/);
    refused('{device=~".*"}', /at least one non-empty matcher/);
    assert.doesNotThrow(() => parsePromQL('{device=~".+"}'));
  });

  test('match[] must be an instant series selector', () => {
    assert.throws(() => parseSeriesSelector('temp[5m]'), /series selector/);
    assert.throws(() => parseSeriesSelector('rate(temp[5m])'), /series selector/);
  });
});
