import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatValue, renderObject, renderTable, safeText } from './table.js';

describe('human output', () => {
  test('tables: aligned columns, "-" for absent values, tag maps as k=v, no trailing spaces', () => {
    const rows = [
      { id: 'a', type: 'sensor', tags: { room: 'kitchen' } },
      { id: 'device-long', type: undefined, tags: {} },
    ];
    const out = renderTable(
      [
        { header: 'ID', value: (r: (typeof rows)[number]) => r.id },
        { header: 'TYPE', value: (r: (typeof rows)[number]) => r.type },
        { header: 'TAGS', value: (r: (typeof rows)[number]) => r.tags },
      ],
      rows,
    );
    assert.equal(out, 'ID           TYPE    TAGS\na            sensor  room=kitchen\ndevice-long  -       -\n');
  });

  test('an empty list still prints the header', () => {
    assert.equal(renderTable([{ header: 'ID', value: (r: { id: string }) => r.id }], []), 'ID\n');
  });

  test('key: value lines, given keys first', () => {
    assert.equal(renderObject({ b: 1, id: 'x', enabled: true }, ['id']), 'id:      x\nb:       1\nenabled: true\n');
  });

  test('control characters from the hub are escaped: a device name cannot drive the terminal', () => {
    assert.equal(safeText('evil\u001b[2J\u009bname\n'), 'evil\\x1b[2J\\x9bname\\n');
    assert.equal(formatValue({ k: 'v\u0007' }), 'k=v\\x07');
    assert.ok(!renderTable([{ header: 'N', value: (r: string) => r }], ['\u001b]0;title\u0007']).includes('\u001b'));
  });

  test('nested values are JSON', () => {
    assert.equal(formatValue([{ filter: 'a/#' }]), '[{"filter":"a/#"}]');
    assert.equal(formatValue({ messagesPerSecond: 5 }), '{"messagesPerSecond":5}');
  });
});
