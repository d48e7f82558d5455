import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedText } from '../../shared/http/bounded-body';

function request(body: string, declaredLength?: number) {
  let read = false;
  return {
    headers: new Headers(declaredLength === undefined ? {} : { 'content-length': String(declaredLength) }),
    text: async () => {
      read = true;
      return body;
    },
    wasRead: () => read,
  };
}

test('as an attacker: a callback body declared larger than the limit is refused before it is read', async () => {
  const huge = request('', 64 * 1024 * 1024);
  assert.equal(await boundedText(huge, 1_000), undefined);
  assert.equal(huge.wasRead(), false, 'nothing was buffered');
});

test('a body over the limit without a declared length is refused after reading; one within it is answered as is', async () => {
  assert.equal(await boundedText(request('x'.repeat(1_001)), 1_000), undefined);
  assert.equal(await boundedText(request('<n/>', 4), 1_000), '<n/>');
  // Four bytes per character at most: a declared length up to 4× the character limit is read.
  assert.equal(await boundedText(request('é'.repeat(1_000), 2_000), 1_000), 'é'.repeat(1_000));
});
