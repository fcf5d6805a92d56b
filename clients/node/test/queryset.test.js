'use strict';
// Offline tests of the helper (no database): spec building, immutability,
// slicing, error mapping, token minting, the statements the terminals send.
// Run by build.sh: node --test test/
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const q = require('../queryset');

const { qs } = q;

test('builders return new, frozen querysets', () => {
  const base = qs('catalog_product');
  const active = base.filter({ status: 'active' });
  assert.notEqual(base, active);
  assert.deepEqual(base.spec, { model: 'catalog_product' });
  assert.deepEqual(active.spec, { model: 'catalog_product', where: { status: 'active' } });
  assert.ok(Object.isFrozen(active.spec) && Object.isFrozen(active.spec.where));
  assert.throws(() => { /** @type {any} */ (active.spec).where.status = 'x'; }, TypeError);
});

test('filter and exclude chain as a top-level $and, empty lookups change nothing', () => {
  const s = qs('catalog_product').filter({ stock__gt: 0 }).exclude({ status: 'archived' }).filter({ price__lt: 5 });
  assert.deepEqual(s.spec.where, { $and: [{ stock__gt: 0 }, { $not: { status: 'archived' } }, { price__lt: 5 }] });
  assert.deepEqual(qs('t').filter({}).spec, { model: 't' });
});

test('the products.chain spec of PROTOCOL.md', () => {
  const s = qs('catalog_product').usingManager('objects').use('active').use('in_stock')
    .use('by_category', { slug: 'laptops' }).use('in_price_range', { min_price: 50, max_price: 2000 })
    .values('id', 'name', 'price', 'stock', 'category__name').orderBy('price', 'id').slice(0, 5);
  assert.deepEqual(s.spec, {
    model: 'catalog_product', manager: 'objects',
    use: [{ active: {} }, { in_stock: {} }, { by_category: { slug: 'laptops' } },
      { in_price_range: { min_price: 50, max_price: 2000 } }],
    values: ['id', 'name', 'price', 'stock', 'category__name'], order_by: ['price', 'id'], limit: 5,
  });
});

test('annotate keeps order; values and valuesList replace each other', () => {
  const s = qs('shop_order').annotate('month', { TruncMonth: 'created_at' }).annotate({ n: { Count: 'id' } })
    .valuesList(['id'], { flat: true }).values('month');
  assert.deepEqual(s.spec, {
    model: 'shop_order', annotate: [{ month: { TruncMonth: 'created_at' } }, { n: { Count: 'id' } }], values: ['month'],
  });
  assert.deepEqual(qs('t').valuesList(['a'], true).spec, { model: 't', values_list: ['a'], flat: true });
});

test('slices compose as in Django and refuse filtering afterwards', () => {
  assert.deepEqual(qs('t').slice(5, 10).spec, { model: 't', offset: 5, limit: 5 });
  assert.deepEqual(qs('t').slice(10, 30).slice(5, 10).spec, { model: 't', offset: 15, limit: 5 });
  assert.deepEqual(qs('t').slice(10, 30).slice(5, 100).spec, { model: 't', offset: 15, limit: 15 });
  assert.deepEqual(qs('t').slice(5).spec, { model: 't', offset: 5 });
  assert.equal(qs('t').slice(7, 3).spec.limit, 0);
  assert.throws(() => qs('t').slice(-1), RangeError);
  assert.throws(() => qs('t').slice(0, 5).filter({ a: 1 }), /slice/);
  assert.throws(() => qs('t').slice(0, 5).orderBy('a'), /slice/);
  assert.deepEqual(qs('t').slice(0, 5).only('a').spec, { model: 't', limit: 5, only: ['a'] });
});

test('errors are mapped from SQLSTATE', () => {
  const cases = {
    P0002: 'DoesNotExist', P0003: 'MultipleObjectsReturned', 42703: 'FieldError', 22023: 'InvalidQuery',
    22004: 'InvalidQuery', '2202E': 'InvalidQuery', 42804: 'InvalidQuery', '22P02': 'DataError',
    23505: 'IntegrityError', 23514: 'IntegrityError', 28000: 'InvalidToken', 42501: 'PermissionDenied',
    54000: 'LimitExceeded', '42P01': 'DatabaseError',
  };
  for (const [code, name] of Object.entries(cases)) {
    const pgErr = Object.assign(new Error(`boom ${code}`), { code, detail: 'd', hint: 'h' });
    const e = /** @type {q.DatabaseError} */ (q.mapError(pgErr));
    assert.equal(e.name, name, code);
    assert.equal(e.constructor.name, name);
    assert.ok(e instanceof q.DatabaseError && e instanceof Error);
    assert.deepEqual([e.sqlstate, e.message, e.detail, e.hint, e.cause], [code, `boom ${code}`, 'd', 'h', pgErr]);
  }
  assert.ok(q.mapError(Object.assign(new Error('t'), { code: '28000' })) instanceof q.PermissionDenied);
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(q.mapError(refused), refused);
});

test('mintToken: an HS256 JWT verifiable with node:crypto', () => {
  const t = q.mintToken('s3cret', 7, 'aud', 600, 1000);
  const [h, p, sig] = t.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url').toString()), { tenant_id: '7', aud: 'aud', exp: 1600 });
  assert.equal(sig, crypto.createHmac('sha256', 's3cret').update(`${h}.${p}`).digest('base64url'));
  assert.doesNotMatch(t, /[=+/]/);
});

/** A fake client recording what the terminals send. */
function recorder(rows) {
  const sent = [];
  return {
    sent,
    query: async (config) => {
      sent.push(config);
      return { rows: typeof rows === 'function' ? rows(config) : rows, rowCount: 0 };
    },
  };
}

test('terminals send unnamed statements with the spec as one jsonb parameter', async () => {
  const c = recorder([{ count: '42' }]);
  const n = await qs('t').filter({ id: 1 }).count(c);
  assert.equal(n, 42);
  assert.equal(c.sent[0].text, 'SELECT qs.count($1::jsonb) AS count');
  assert.deepEqual(c.sent[0].values, ['{"model":"t","where":{"id":1}}']);
  assert.equal(c.sent[0].name, undefined);
  const t = recorder([{ tenant: '3' }]);
  await q.setTenantToken(t, 'eyJ.secret-part.sig');
  assert.deepEqual(t.sent[0].values, ['eyJ.secret-part.sig', true]);
  assert.doesNotMatch(t.sent[0].text, /eyJ|secret-part/);
});

test('cursor fetches batches until one is empty, and closes when left early', async () => {
  let fetches = 0;
  const c = recorder((config) => {
    if (config.text.startsWith('SELECT qs.cursor')) return [{ cursor: 'ex"p' }];
    if (config.text.startsWith('FETCH')) { fetches += 1; return fetches <= 2 ? [{ row: fetches }] : []; }
    return [];
  });
  const got = [];
  for await (const b of qs('t').cursor(c, 'ex"p', 100)) got.push(b);
  assert.deepEqual(got, [[1], [2]]);
  assert.equal(c.sent[1].text, 'FETCH 100 FROM "ex""p"');
  assert.ok(!c.sent.some((s) => s.text.startsWith('CLOSE')));
  fetches = 0;
  // eslint-disable-next-line no-unreachable-loop
  for await (const b of qs('t').cursor(c, 'ex"p', 100)) { assert.deepEqual(b, [1]); break; }
  assert.equal(c.sent.at(-1).text, 'CLOSE "ex""p"');
  await assert.rejects(qs('t').cursor(c, 'x', 0).next(), RangeError);
});
