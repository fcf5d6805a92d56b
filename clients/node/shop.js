#!/usr/bin/env node
'use strict';
/**
 * The Node.js client program of clients/PROTOCOL.md, with node-postgres
 * (`pg`) and the helper of ./queryset.js:
 *
 *   node shop.js workloads
 *   node shop.js load --clients N --requests R --first-tenant T [--session]
 *   node shop.js bench --seconds S [--clients 16]
 *
 * Connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (read by
 * node-postgres itself); tokens from QS_TENANT_SECRET and QS_TENANT_AUDIENCE.
 */

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { once } = require('node:events');
const pg = require('pg');
const {
  qs, query, create, bulkUpdate, setTenantToken, currentTenant, mintToken, DatabaseError,
} = require('./queryset');

const LANG = 'node';
const W = ['2025-01-01T00:00:00+00:00', '2025-07-01T00:00:00+00:00'];

/** @param {string} name */
function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** A connected client; the session's parameters come from the PG* environment. */
async function connect() {
  const client = new pg.Client({ application_name: `pg_queryset-${LANG}` });
  await client.connect();
  return client;
}

/**
 * JSON text from the server with the whitespace outside strings removed
 * (so a value prints on one line) and every number left as written.
 * @param {string} text
 */
function compact(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\n' && c !== '\t' && c !== '\r') {
      out += c;
    }
  }
  return out;
}

/**
 * An object printed from [key, JSON text] pairs, so that server numbers
 * embedded as raw text keep every digit.
 * @param {Array<[string, string]>} pairs
 */
function rawObject(pairs) {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`;
}

/** @param {string} label @param {string} jsonText */
function emit(label, jsonText) {
  process.stdout.write(`${label}\t${jsonText}\n`);
}

/**
 * Run `body` in a transaction on `client`: COMMIT when it resolves,
 * ROLLBACK (and re-throw) when it rejects.
 * @template T
 * @param {pg.Client} client
 * @param {() => Promise<T>} body
 * @returns {Promise<T>}
 */
async function transaction(client, body) {
  await query(client, 'BEGIN');
  let result;
  try {
    result = await body();
  } catch (err) {
    await query(client, 'ROLLBACK').catch(() => {});
    throw err;
  }
  await query(client, 'COMMIT');
  return result;
}

// ---------------------------------------------------------------------------
// workloads
// ---------------------------------------------------------------------------

/** The product chain of `products.chain`, built with the helper's methods. */
function laptopChain() {
  return qs('catalog_product').usingManager('objects')
    .use('active').use('in_stock')
    .use('by_category', { slug: 'laptops' })
    .use('in_price_range', { min_price: 50, max_price: 2000 });
}

/**
 * The class name and SQLSTATE a call raised.
 * @param {() => Promise<unknown>} fn
 */
async function raised(fn) {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DatabaseError) return `${err.name}/${err.sqlstate}`;
    throw err;
  }
  throw new Error('no error was raised');
}

/**
 * `export.csv`: stream the delivered orders through a named cursor into a
 * temporary CSV file, hashing as it is written (never holding all rows).
 * @param {pg.Client} client
 */
async function exportCsv(client) {
  const q = qs('shop_order').filter({ status: 'delivered' })
    .annotate('total_text', { Cast: 'total', output_field: 'text' })
    .valuesList(['id', 'total_text', 'created_at__date'])
    .orderBy('id');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'qs-node-export-'));
  const file = path.join(dir, 'orders.csv');
  const out = fs.createWriteStream(file);
  const hash = crypto.createHash('sha256');
  /** @param {string} line */
  const write = async (line) => {
    const buf = Buffer.from(line, 'utf8');
    hash.update(buf);
    if (!out.write(buf)) await once(out, 'drain');
  };
  let rows = 0;
  let batches = 0;
  let first = null;
  try {
    await write('id,total,date\n');
    await transaction(client, async () => {
      for await (const batch of q.cursor(client, 'export', 100)) {
        batches += 1;
        for (const [id, total, date] of batch) {
          const line = `${id},${total},${date}`;
          if (first === null) first = line;
          rows += 1;
          await write(`${line}\n`);
        }
      }
    });
    out.end();
    await once(out, 'finish');
  } finally {
    out.destroy();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
  return { rows, batches, sha256: hash.digest('hex'), first };
}

async function workloads() {
  const client = await connect();
  try {
    const raw = { raw: true };

    emit('order_graph', compact(await qs('shop_order').filter({ id: 42 })
      .selectRelated('user', 'shipping_address')
      .prefetchRelated('items__product__category')
      .only('status', 'total', 'created_at', 'user__username', 'shipping_address__city', 'items__quantity',
        'items__unit_price', 'items__product__name', 'items__product__category__name')
      .json(client, raw)));

    const items = qs('shop_orderitem').filter({ order__created_at__range: W });
    emit('dashboard.revenue_by_category', compact(await items.values('product__category__name')
      .annotate('revenue', { Sum: { '*': ['quantity', 'unit_price'] } })
      .annotate('units_sold', { Sum: 'quantity' })
      .orderBy('-revenue').slice(0, 10)
      .json(client, raw)));
    emit('dashboard.monthly', compact(await qs('shop_order').filter({ created_at__range: W })
      .values('month')
      .annotate('month', { TruncMonth: 'created_at' })
      .annotate('revenue', { Sum: 'total' })
      .annotate('order_count', { Count: 'id' })
      .annotate('avg_order_value', { Avg: 'total' })
      .orderBy('month')
      .json(client, raw)));
    emit('dashboard.top_products', compact(await items.values('product__name', 'product__id')
      .annotate('total_revenue', { Sum: { '*': ['quantity', 'unit_price'] } })
      .annotate('total_units', { Sum: 'quantity' })
      .orderBy('-total_revenue', 'product__id').slice(0, 5)
      .json(client, raw)));
    emit('dashboard.low_stock', compact(await qs('catalog_product').filter({ status: 'active', stock__lte: 2 })
      .values('id', 'name', 'stock', 'category__name')
      .orderBy('stock', 'id').slice(0, 10)
      .json(client, raw)));

    emit('products.chain', compact(await laptopChain()
      .values('id', 'name', 'price', 'stock', 'category__name')
      .orderBy('price', 'id').slice(0, 5)
      .json(client, raw)));
    emit('products.chain_count', JSON.stringify(await laptopChain().count(client)));
    emit('products.get', compact(await qs('catalog_product').only('name', 'price').get(client, { id: 21 }, raw)));

    const products = qs('catalog_product');
    const secret = env('QS_TENANT_SECRET');
    const audience = env('QS_TENANT_AUDIENCE');
    const errors = {
      does_not_exist: await raised(() => products.get(client, { id: 999999 })),
      multiple: await raised(() => products.get(client, { status: 'active' })),
      field_error: await raised(() => products.filter({ colour: 'red' }).count(client)),
      invalid: await raised(() => qs({ model: 'catalog_product', limit: -1 }).count(client)),
      forged_token: await raised(() => transaction(client,
        () => setTenantToken(client, mintToken('wrong-secret', '2', audience, 600)))),
      budget: await raised(() => transaction(client, async () => {
        await query(client, 'SET LOCAL pg_queryset.query_budget = 2');
        for (let k = 0; k < 3; k++) await products.count(client);
      })),
    };
    emit('errors', JSON.stringify(errors));

    const p13 = products.filter({ id: 13, stock__gte: 2 });
    const sold = [];
    for (;;) {
      const n = await p13.update(client, { stock: { '-': [{ F: 'stock' }, 2] } });
      if (n === 0) break;
      sold.push(2); // one call sells 2
    }
    const left = await products.only('stock').get(client, { id: 13 });
    emit('stock.decrement', JSON.stringify({ product: 13, sold, out_of_stock: true, stock_left: left.stock }));

    const updated = await bulkUpdate(client, 'catalog_product',
      [{ id: 21, price: '12.50' }, { id: 22, price: '99.00' }, { id: 23, price: '7.25' }], ['price']);
    const prices = await products.filter({ id__in: [21, 22, 23] }).values('id', 'price').orderBy('id').json(client, raw);
    emit('prices.bulk_update', rawObject([['updated', JSON.stringify(updated)], ['rows', compact(prices)]]));

    const laptops = products.filter({ category__slug: 'laptops', status: 'active' });
    const raisedCount = await laptops.update(client, { price: { '*': [{ F: 'price' }, 1.1] } });
    const total = await laptops.aggregate(client, { total: { Sum: 'price' } }, raw);
    emit('prices.raise', rawObject([['updated', JSON.stringify(raisedCount)], ['total', totalOf(total)]]));

    emit('export.csv', JSON.stringify(await exportCsv(client)));

    const projects = qs('tenancy_project');
    const token = mintToken(secret, '2', audience, 600);
    const tenantRequest = await transaction(client, async () => {
      await setTenantToken(client, token);
      const tenant = await currentTenant(client);
      const visible = await projects.count(client);
      const other = await projects.filter({ tenant_id: 3 }).count(client);
      const row = await create(client, 'tenancy_project', { name: 'client project', status: 'active' });
      const after = await projects.count(client);
      return { tenant, visible, other_tenant_visible: other, created_tenant_id: row.tenant_id, after_create: after };
    });
    tenantRequest.without_token = await transaction(client, () => projects.count(client));
    emit('tenant.request', JSON.stringify(tenantRequest));
  } finally {
    await client.end();
  }
}

/**
 * The value of `{"total": N}` as the server wrote it (every digit kept).
 * @param {string} aggregateText
 */
function totalOf(aggregateText) {
  const m = /^\s*\{\s*"total"\s*:\s*(.*?)\s*\}\s*$/s.exec(aggregateText);
  if (!m) throw new Error(`unexpected aggregate: ${aggregateText}`);
  return m[1];
}

// ---------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------

const PROBE = `SELECT pg_backend_pid() AS pid, qs.current_tenant() AS tenant,
       current_setting('pg_queryset.query_budget') AS budget,
       coalesce(current_setting('pg_queryset.tenant_token', true), '') AS token,
       (SELECT count(*) FROM pg_catalog.pg_cursors) AS cursors`;

/**
 * @typedef {{ok: number, leaks: number, wrong: number, errors: number, planHitsMax: number,
 *   pids: Record<string, number>}} Tally
 */

/**
 * One client of the load: its own connection and tenant, `requests`
 * transactions one after the other.
 * @param {number} i @param {number} tenant @param {number} requests @param {boolean} session @param {Tally} tally
 */
async function loadClient(i, tenant, requests, session, tally) {
  const token = mintToken(env('QS_TENANT_SECRET'), String(tenant), env('QS_TENANT_AUDIENCE'), 600);
  const projects = qs('tenancy_project');
  const tenantIds = projects.valuesList(['tenant_id'], { flat: true });
  let client;
  try {
    client = await connect();
  } catch (err) {
    console.error(`client ${i}: connect: ${/** @type {Error} */ (err).message}`);
    tally.errors += requests;
    return;
  }
  let lost = false;
  client.on('error', (err) => {
    lost = true;
    console.error(`client ${i}: connection: ${err.message}`);
  });
  let done = 0;
  for (let r = 0; r < requests && !lost; r++) {
    let leak = 0;
    let wrong = 0;
    let n = -1;
    try {
      await query(client, 'BEGIN');
      const probe = (await query(client, PROBE)).rows[0];
      tally.pids[probe.pid] = (tally.pids[probe.pid] ?? 0) + 1;
      if (probe.tenant !== null || probe.budget !== '0' || probe.token !== '' || Number(probe.cursors) !== 0) {
        leak = 1;
        console.error(`client ${i} request ${r}: leak on backend ${probe.pid}: tenant=${probe.tenant} `
          + `budget=${probe.budget} token=${probe.token ? 'set' : 'empty'} cursors=${probe.cursors}`);
      }
      await query(client, 'SET LOCAL pg_queryset.query_budget = 20');
      await setTenantToken(client, token);
      n = await projects.count(client);
      if (n !== 2 + done) wrong = 1;
      let seen = 0;
      for await (const batch of tenantIds.cursor(client, 'projects', 'ALL')) {
        seen += batch.length;
        if (batch.some((v) => String(v) !== String(tenant))) wrong = 1;
      }
      if (seen !== n) wrong = 1;
      const row = await create(client, 'tenancy_project', { name: `${LANG}-${i}-${r}`, status: 'active' });
      if (String(row.tenant_id) !== String(tenant)) wrong = 1;
      const hits = Number((await query(client, 'SELECT hits FROM qs.plan_cache_stats()')).rows[0].hits);
      tally.planHitsMax = Math.max(tally.planHitsMax, hits);
      await query(client, 'COMMIT');
      done += 1;
      if (wrong) console.error(`client ${i} request ${r}: wrong result (count ${n}, expected ${2 + done - 1})`);
      tally.ok += 1;
      tally.leaks += leak;
      tally.wrong += wrong;
    } catch (err) {
      console.error(`client ${i} request ${r}: ${/** @type {Error} */ (err).name}: ${/** @type {Error} */ (err).message}`);
      tally.errors += 1;
      tally.leaks += leak;
      try {
        await query(client, 'ROLLBACK');
      } catch {
        tally.errors += requests - r - 1;
        lost = true;
      }
    }
  }
  if (session && !lost) {
    // leave session-level state behind for the next client of this server connection
    try {
      await query(client, 'SET pg_queryset.query_budget = 99');
      await setTenantToken(client, token, { local: false });
      await query(client, 'DECLARE leak CURSOR WITH HOLD FOR SELECT 1');
    } catch (err) {
      console.error(`client ${i}: leaving session state: ${/** @type {Error} */ (err).message}`);
      tally.errors += 1;
    }
  }
  await client.end().catch(() => {});
}

/** @param {number} clients @param {number} requests @param {number} firstTenant @param {boolean} session */
async function load(clients, requests, firstTenant, session) {
  /** @type {Tally} */
  const tally = { ok: 0, leaks: 0, wrong: 0, errors: 0, planHitsMax: 0, pids: {} };
  await Promise.all(Array.from({ length: clients }, (_, i) => loadClient(i, firstTenant + i, requests, session, tally)));
  process.stdout.write(`${JSON.stringify({
    lang: LANG,
    clients,
    requests: clients * requests,
    ok: tally.ok,
    leaks: tally.leaks,
    wrong: tally.wrong,
    errors: tally.errors,
    plan_hits_max: tally.planHitsMax,
    pids: tally.pids,
  })}\n`);
}

// ---------------------------------------------------------------------------
// bench
// ---------------------------------------------------------------------------

/**
 * Call `fn(k)` for k = 0, 1, ... one after the other for `seconds` (after
 * one warm-up call); requests per second.
 * @param {number} seconds @param {(k: number) => Promise<unknown>} fn
 */
async function timed(seconds, fn) {
  await fn(0);
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  for (;;) {
    await fn(n);
    n += 1;
    const now = performance.now();
    if (now >= deadline) return (n * 1000) / (now - start);
  }
}

/**
 * The N+1 loop a naive ORM user writes: the user's orders, then per order its
 * address and items, per item its product, per product its category — one
 * query each — assembled into the same nested structure as `qs.json`.
 * @param {pg.Client} client @param {number} user @param {{queries: number}} counter
 */
async function nPlusOne(client, user, counter) {
  /** @param {string} text @param {unknown} param */
  const one = async (text, param) => {
    counter.queries += 1;
    return (await query(client, text, [param])).rows;
  };
  const orders = await one('SELECT * FROM shop_order WHERE user_id = $1 ORDER BY id', user);
  for (const order of orders) {
    order.shipping_address = order.shipping_address_id === null ? null
      : (await one('SELECT * FROM shop_address WHERE id = $1', order.shipping_address_id))[0] ?? null;
    const items = await one('SELECT * FROM shop_orderitem WHERE order_id = $1 ORDER BY id', order.id);
    for (const item of items) {
      const [product] = await one('SELECT * FROM catalog_product WHERE id = $1', item.product_id);
      [product.category] = await one('SELECT * FROM catalog_category WHERE id = $1', product.category_id);
      item.product = product;
    }
    order.items = items;
  }
  return orders;
}

/** bench/nested_hand.sql without its comment lines. */
function handSql() {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'bench', 'nested_hand.sql'), 'utf8');
  return text.split('\n').filter((l) => !l.trimStart().startsWith('--')).join('\n');
}

/**
 * `clients` connections, each calling `call(client, id)` back to back for
 * `seconds` with ids cycling 1..1000; requests per second of all of them.
 * @param {number} seconds @param {number} clients
 * @param {(client: pg.Client, id: number) => Promise<unknown>} call
 */
async function pkRun(seconds, clients, call) {
  const conns = await Promise.all(Array.from({ length: clients }, () => connect()));
  try {
    await Promise.all(conns.map((c, j) => call(c, ((j * 1000) / clients | 0) % 1000 + 1))); // warm-up
    let stop = false;
    const counts = new Array(clients).fill(0);
    const start = performance.now();
    const timer = setTimeout(() => { stop = true; }, seconds * 1000);
    await Promise.all(conns.map(async (c, j) => {
      let k = (j * 1000) / clients | 0;
      while (!stop) {
        k += 1;
        await call(c, (k % 1000) + 1);
        counts[j] += 1;
      }
    })).finally(() => clearTimeout(timer));
    const elapsed = performance.now() - start;
    return (counts.reduce((a, b) => a + b, 0) * 1000) / elapsed;
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

/** @param {number} seconds @param {number} clients */
async function bench(seconds, clients) {
  const client = await connect();
  /** @param {number} k */
  const user = (k) => (k % 50) + 101; // users 101..150: 1-13 orders each, 5.3 on average
  /** @param {number} u */
  const graph = (u) => qs('shop_order').filter({ user: u }).orderBy('id')
    .selectRelated('shipping_address').prefetchRelated('items__product__category');
  let qsRps; let n1Rps; let handRps;
  const counter = { queries: 0 };
  let calls = 0;
  try {
    qsRps = await timed(seconds, (k) => graph(user(k)).json(client));
    n1Rps = await timed(seconds, (k) => {
      calls += 1;
      return nPlusOne(client, user(k), counter);
    });
    const hand = handSql();
    // the expert's statement answers what qs.json answers
    const [mine, theirs] = [await graph(7).json(client), (await query(client, hand, [7])).rows[0].coalesce];
    assert.deepEqual(mine, theirs, 'bench/nested_hand.sql and qs.json differ for user 7');
    handRps = await timed(seconds, (k) => query(client, hand, [user(k)]));
  } finally {
    await client.end();
  }
  // every answer is checked: a pooler that mixed up two clients' statements would show here
  /** @param {unknown} got @param {number} id */
  const check = (got, id) => {
    if (/** @type {any} */ (got)?.id !== id) throw new Error(`pk ${id}: got ${JSON.stringify(got)}`);
  };
  const pkQs = await pkRun(seconds, clients,
    async (c, id) => check((await qs('catalog_product').filter({ id }).json(c))[0], id));
  const pkHand = await pkRun(seconds, clients, async (c, id) => check(
    (await query(c, 'SELECT row_to_json(p) AS row FROM catalog_product p WHERE id = $1', [id])).rows[0].row, id));
  /** @param {number} x */
  const r1 = (x) => Math.round(x * 10) / 10;
  process.stdout.write(`${JSON.stringify({
    lang: LANG,
    graph: { qs_rps: r1(qsRps), n1_rps: r1(n1Rps), hand_rps: r1(handRps), n1_queries: r1(counter.queries / calls) },
    pk: { clients, qs_rps: r1(pkQs), hand_rps: r1(pkHand) },
    driver: `node-postgres ${require('pg/package.json').version} (pure JavaScript), node ${process.version}, `
      + 'one event loop, promises',
  })}\n`);
}

// ---------------------------------------------------------------------------
// command line
// ---------------------------------------------------------------------------

const USAGE = `usage: shop.js workloads
       shop.js load --clients N --requests R --first-tenant T [--session]
       shop.js bench --seconds S [--clients 16]`;

/** @param {string|undefined} v @param {string} name @param {number} [dflt] */
function positiveInt(v, name, dflt) {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a non-negative integer\n${USAGE}`);
  return n;
}

async function main(argv) {
  const [mode, ...rest] = argv;
  if (mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return;
  }
  if (mode === 'workloads') {
    if (rest.length) throw new Error(USAGE);
    await workloads();
  } else if (mode === 'load') {
    const { values } = parseArgs({
      args: rest,
      options: {
        clients: { type: 'string' }, requests: { type: 'string' }, 'first-tenant': { type: 'string' },
        session: { type: 'boolean', default: false },
      },
    });
    await load(positiveInt(values.clients, 'clients'), positiveInt(values.requests, 'requests'),
      positiveInt(values['first-tenant'], 'first-tenant'), Boolean(values.session));
  } else if (mode === 'bench') {
    const { values } = parseArgs({
      args: rest, options: { seconds: { type: 'string' }, clients: { type: 'string' } },
    });
    const seconds = Number(values.seconds);
    if (!(seconds > 0)) throw new Error(`--seconds needs a positive number\n${USAGE}`);
    await bench(seconds, positiveInt(values.clients, 'clients', 16) || 16);
  } else {
    throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).catch((err) => {
  const e = /** @type {any} */ (err);
  console.error(e instanceof DatabaseError ? `${e.name} (${e.sqlstate}): ${e.message}` : (e?.stack ?? String(e)));
  if (e?.detail) console.error(`DETAIL: ${e.detail}`);
  if (e?.hint) console.error(`HINT: ${e.hint}`);
  process.exitCode = 1;
});
