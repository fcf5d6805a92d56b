'use strict';
/**
 * pg_queryset from Node.js: Django's QuerySet vocabulary over node-postgres.
 *
 * A {@link QuerySet} holds a model name and a JSON spec (docs/queryset.md).
 * It is immutable and lazy: every builder method returns a new QuerySet and
 * nothing reaches the database until a terminal (`json`, `rows`, `count`,
 * `get`, `exists`, `aggregate`, `update`, `delete`, `cursor`) is awaited with
 * a client. The spec always travels as one `jsonb` bind parameter and every
 * other value (ids, tokens, model names) as a parameter too; no statement is
 * ever *named*, so node-postgres uses the unnamed prepared statement, which
 * is what PgBouncer in transaction mode needs (clients/PROTOCOL.md).
 *
 *     const { qs } = require('./queryset');
 *     const laptops = qs('catalog_product').usingManager('objects')
 *       .use('active').use('by_category', { slug: 'laptops' })
 *       .orderBy('-price').slice(0, 5);
 *     const rows = await laptops.json(client);       // parsed JSON
 *     const n = await laptops.count(client);         // a Number, not a bigint string
 *
 * Server errors are re-thrown as Django-named subclasses of
 * {@link DatabaseError} chosen by SQLSTATE (`DoesNotExist`, `FieldError`,
 * ...), each carrying `sqlstate`, `message`, `detail` and `hint`.
 *
 * JSON numbers: node-postgres parses json/jsonb with `JSON.parse`, so a
 * numeric becomes a JavaScript double (`1064.1961052631578947` comes back
 * as `1064.1961052631579`). Pass `{ raw: true }` to a JSON-returning
 * terminal to get the server's text untouched and parse it as you need.
 *
 * @module queryset
 */

const crypto = require('node:crypto');

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/**
 * The base of every error raised from the database (Django's
 * `django.db.DatabaseError`). Errors without a SQLSTATE (a refused
 * connection, a socket closed under us) are not wrapped.
 */
class DatabaseError extends Error {
  /**
   * @param {string} message
   * @param {{sqlstate?: string|null, detail?: string|null, hint?: string|null, cause?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = new.target.name;
    /** @type {string|null} the five-character SQLSTATE, e.g. `P0002` */
    this.sqlstate = info.sqlstate ?? null;
    /** @type {string|null} the server's DETAIL line */
    this.detail = info.detail ?? null;
    /** @type {string|null} the server's HINT line */
    this.hint = info.hint ?? null;
  }
}
/** `get()` found no row (P0002). */
class DoesNotExist extends DatabaseError {}
/** `get()` found more than one row (P0003). */
class MultipleObjectsReturned extends DatabaseError {}
/** An unknown field or a lookup that does not apply to it (42703). */
class FieldError extends DatabaseError {}
/** A spec the extension refuses: bad key, negative limit, wrong type (22023, 22004, 2202E, 42804). */
class InvalidQuery extends DatabaseError {}
/** A value that does not convert to the column's type (22P02). */
class DataError extends DatabaseError {}
/** A constraint said no (SQLSTATE class 23). */
class IntegrityError extends DatabaseError {}
/** Not allowed (42501), e.g. a token written into the statement's text. */
class PermissionDenied extends DatabaseError {}
/** A tenant token that does not verify: signature, audience, expiry (28000). */
class InvalidToken extends PermissionDenied {}
/** A configured limit was exceeded: query budget, depth, rows (54000). */
class LimitExceeded extends DatabaseError {}

/** @type {Record<string, typeof DatabaseError>} */
const BY_SQLSTATE = {
  P0002: DoesNotExist,
  P0003: MultipleObjectsReturned,
  '42703': FieldError,
  '22023': InvalidQuery,
  '22004': InvalidQuery,
  '2202E': InvalidQuery,
  '42804': InvalidQuery,
  '22P02': DataError,
  '28000': InvalidToken,
  '42501': PermissionDenied,
  '54000': LimitExceeded,
};

/**
 * The Django-named error class of a SQLSTATE.
 * @param {string|null|undefined} sqlstate
 * @returns {typeof DatabaseError}
 */
function errorClassFor(sqlstate) {
  if (!sqlstate) return DatabaseError;
  if (BY_SQLSTATE[sqlstate]) return BY_SQLSTATE[sqlstate];
  if (sqlstate.startsWith('23')) return IntegrityError;
  return DatabaseError;
}

/**
 * Turn a node-postgres error into its Django-named {@link DatabaseError}.
 * Anything that is not a server error (no `code`), or is already mapped, is
 * returned unchanged.
 * @param {unknown} err
 * @returns {unknown}
 */
function mapError(err) {
  if (err instanceof DatabaseError) return err;
  const e = /** @type {{code?: unknown, message?: string, detail?: string, hint?: string}} */ (err);
  if (!e || typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return err;
  const Cls = errorClassFor(e.code);
  return new Cls(e.message ?? String(err), { sqlstate: e.code, detail: e.detail, hint: e.hint, cause: err });
}

// ---------------------------------------------------------------------------
// running statements
// ---------------------------------------------------------------------------

/**
 * Anything with node-postgres' `query(config)`: a `pg.Client`, a client
 * checked out of a `pg.Pool`, or the pool itself (not for `cursor`, which
 * needs one connection inside one transaction).
 * @typedef {{query: (config: any) => Promise<any>}} Queryable
 */

/**
 * Run one parameterised statement (never named: the unnamed prepared
 * statement, as PgBouncer in transaction mode needs) and map its errors.
 * @param {Queryable} client
 * @param {string} text SQL with `$1`, `$2`, ...
 * @param {unknown[]} [values] bind parameters
 * @returns {Promise<{rows: any[], rowCount: number|null}>}
 */
async function query(client, text, values = []) {
  try {
    return await client.query({ text, values });
  } catch (err) {
    throw mapError(err);
  }
}

/**
 * The first column of the first row.
 * @param {Queryable} client @param {string} text @param {unknown[]} values
 */
async function scalar(client, text, values) {
  const r = await query(client, text, values);
  const row = r.rows[0];
  return row === undefined ? undefined : row[Object.keys(row)[0]];
}

/**
 * `expr AS name`, or `expr::text AS name` when the caller wants the JSON as
 * the server wrote it (text is not parsed by node-postgres).
 * @param {string} expr @param {string} name @param {{raw?: boolean}} opts
 */
function selectJson(expr, name, opts) {
  return `SELECT ${expr}${opts.raw ? '::text' : ''} AS ${name}`;
}

/** A bigint/numeric that node-postgres hands over as a string, as a Number. */
function toNumber(/** @type {unknown} */ v) {
  return v === null || v === undefined ? /** @type {number} */ (/** @type {unknown} */ (v)) : Number(v);
}

/** @param {string} name */
function quoteIdent(name) {
  return '"' + String(name).replace(/"/g, '""') + '"';
}

// ---------------------------------------------------------------------------
// the QuerySet
// ---------------------------------------------------------------------------

/**
 * The JSON spec of docs/queryset.md (only the keys the builders write are
 * spelled out; any other key of the extension may be present).
 * @typedef {{model: string, where?: object, order_by?: Array<string|object>, only?: string[],
 *   defer?: string[], values?: string[], values_list?: string[], flat?: boolean, named?: boolean,
 *   distinct?: boolean|string[], annotate?: Array<Record<string, unknown>>,
 *   select_related?: string[], prefetch_related?: string[], manager?: string,
 *   use?: Array<string|Record<string, object>>, offset?: number, limit?: number|null,
 *   [key: string]: unknown}} Spec
 */

/** @param {any} v @returns {any} */
function deepFreeze(v) {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze(v[k]);
  }
  return v;
}

/** @param {any} v @returns {any} a deep copy through JSON (what the server gets anyway) */
function jsonCopy(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/** @param {unknown} o */
function isEmptyObject(o) {
  return o !== null && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length === 0;
}

/**
 * An immutable, lazy queryset. Build with {@link qs}; every method returns a
 * new QuerySet, the spec of this one is frozen.
 */
class QuerySet {
  /** @type {Readonly<Spec>} */
  #spec;

  /**
   * @param {string|Spec} modelOrSpec a model name (`"catalog_product"`) or a whole spec
   */
  constructor(modelOrSpec) {
    const spec = typeof modelOrSpec === 'string' ? { model: modelOrSpec } : jsonCopy(modelOrSpec);
    if (!spec || typeof spec !== 'object' || typeof spec.model !== 'string') {
      throw new TypeError('a QuerySet needs a model name or a spec with a "model"');
    }
    this.#spec = deepFreeze(spec);
  }

  /** The model (table) name. */
  get model() {
    return this.#spec.model;
  }

  /** The spec (frozen; copy it to change it). */
  get spec() {
    return this.#spec;
  }

  /** `JSON.stringify(q)` gives the spec. */
  toJSON() {
    return this.#spec;
  }

  /** The spec as JSON text, the jsonb parameter. */
  toString() {
    return JSON.stringify(this.#spec);
  }

  /**
   * A copy of this queryset with `change` applied to a mutable copy of the spec.
   * @param {(s: Spec) => void} change
   * @returns {QuerySet}
   */
  #with(change) {
    const s = jsonCopy(this.#spec);
    change(s);
    return new QuerySet(s);
  }

  /** @param {string} what */
  #notSliced(what) {
    if (this.#spec.offset !== undefined || (this.#spec.limit !== undefined && this.#spec.limit !== null)) {
      throw new TypeError(`Cannot ${what} a query once a slice has been taken.`);
    }
  }

  /** @param {object} q  @param {string} what */
  #andWhere(q, what) {
    this.#notSliced(what);
    return this.#with((s) => {
      if (s.where === undefined) s.where = q;
      else if (Object.keys(s.where).length === 1 && Array.isArray(/** @type {any} */ (s.where).$and)) {
        /** @type {any} */ (s.where).$and.push(q);
      } else s.where = { $and: [s.where, q] };
    });
  }

  /**
   * Django's `filter(**lookups)`: ANDs a Q object (`{"price__lt": 10}`,
   * `{"$or": [...]}`) into `where`; each call stays its own element.
   * @param {Record<string, unknown>} lookups
   */
  filter(lookups) {
    if (isEmptyObject(lookups)) {
      this.#notSliced('filter');
      return this;
    }
    return this.#andWhere(lookups, 'filter');
  }

  /**
   * Django's `exclude(**lookups)`: ANDs `{"$not": lookups}`. The exact
   * complement of `filter(lookups)` (NULL rows are kept, docs/queryset.md).
   * @param {Record<string, unknown>} lookups
   */
  exclude(lookups) {
    if (isEmptyObject(lookups)) {
      this.#notSliced('filter');
      return this;
    }
    return this.#andWhere({ $not: lookups }, 'filter');
  }

  /**
   * Replaces the ordering: `"field"`, `"-field"`, `"?"` or an ordering object
   * (`{F: "release_date", desc: true, nulls_last: true}`). No argument:
   * explicitly unordered.
   * @param {...(string|object)} fields
   */
  orderBy(...fields) {
    this.#notSliced('reorder');
    return this.#with((s) => {
      s.order_by = fields;
    });
  }

  /**
   * Rows become objects keyed by these paths (every column when none);
   * replaces `valuesList`.
   * @param {...string} fields
   */
  values(...fields) {
    return this.#with((s) => {
      delete s.values_list;
      delete s.flat;
      delete s.named;
      s.values = fields;
    });
  }

  /**
   * Rows become arrays of these paths; `flat` (one field): the bare value;
   * `named`: objects. Replaces `values`.
   * @param {string[]} fields
   * @param {boolean|{flat?: boolean, named?: boolean}} [options] `true` is `{flat: true}`
   */
  valuesList(fields, options = {}) {
    const o = typeof options === 'boolean' ? { flat: options } : options;
    return this.#with((s) => {
      delete s.values;
      delete s.flat;
      delete s.named;
      s.values_list = [...fields];
      if (o.flat) s.flat = true;
      if (o.named) s.named = true;
    });
  }

  /**
   * Load only these columns (the primary key always); replaces an earlier `only`.
   * @param {...string} fields
   */
  only(...fields) {
    return this.#with((s) => {
      s.only = fields;
    });
  }

  /**
   * Defer these columns (accumulates); no argument clears the deferred set.
   * @param {...string} fields
   */
  defer(...fields) {
    return this.#with((s) => {
      if (fields.length === 0) delete s.defer;
      else s.defer = [...(s.defer ?? []), ...fields.filter((f) => !(s.defer ?? []).includes(f))];
    });
  }

  /**
   * `SELECT DISTINCT` (no fields) or `DISTINCT ON (fields)`.
   * @param {...string} fields
   */
  distinct(...fields) {
    this.#notSliced('create distinct fields');
    return this.#with((s) => {
      s.distinct = fields.length ? fields : true;
    });
  }

  /**
   * Forward relations embedded as nested objects (`"user"`, `"items__product"`).
   * @param {...string} paths
   */
  selectRelated(...paths) {
    return this.#with((s) => {
      s.select_related = [...(s.select_related ?? []), ...paths.filter((p) => !(s.select_related ?? []).includes(p))];
    });
  }

  /**
   * Reverse and many-to-many relations embedded as arrays (`"items__product__category"`).
   * @param {...string} paths
   */
  prefetchRelated(...paths) {
    return this.#with((s) => {
      s.prefetch_related = [...(s.prefetch_related ?? []),
        ...paths.filter((p) => !(s.prefetch_related ?? []).includes(p))];
    });
  }

  /**
   * A named expression returned with each row or group (docs/expressions.md):
   * `annotate('revenue', {Sum: {'*': ['quantity', 'unit_price']}})`, or several
   * at once as an object `annotate({n: {Count: 'items'}})`. Calls accumulate in order.
   * @param {string|Record<string, unknown>} nameOrExpressions
   * @param {unknown} [expression]
   */
  annotate(nameOrExpressions, expression) {
    /** @type {Array<Record<string, unknown>>} */
    const add = typeof nameOrExpressions === 'string'
      ? [{ [nameOrExpressions]: expression }]
      : Object.entries(nameOrExpressions).map(([k, v]) => ({ [k]: v }));
    return this.#with((s) => {
      s.annotate = [...(s.annotate ?? []), ...add];
    });
  }

  /**
   * Start from a named manager's base queryset (Django's `Model.objects`).
   * @param {string} name
   */
  usingManager(name) {
    return this.#with((s) => {
      s.manager = name;
    });
  }

  /**
   * Apply a named queryset method with its arguments (docs/managers.md):
   * `use('by_category', {slug: 'laptops'})`. Calls chain in order.
   * @param {string} method
   * @param {Record<string, unknown>} [args]
   */
  use(method, args = {}) {
    return this.#with((s) => {
      s.use = [...(s.use ?? []), { [method]: args }];
    });
  }

  /**
   * Django's `qs[start:stop]`: becomes `offset`/`limit`; slices compose the
   * way Django composes them. Negative indexes are refused.
   * @param {number} start
   * @param {number|null} [stop] `null`/omitted: no upper bound
   */
  slice(start, stop = null) {
    if (!Number.isInteger(start) || (stop !== null && !Number.isInteger(stop))) {
      throw new TypeError('slice bounds must be integers');
    }
    if (start < 0 || (stop !== null && stop < 0)) throw new RangeError('Negative indexing is not supported.');
    return this.#with((s) => {
      let low = s.offset ?? 0;
      let high = s.limit === undefined || s.limit === null ? null : low + s.limit;
      if (stop !== null) high = high !== null ? Math.min(high, low + stop) : low + stop;
      low = high !== null ? Math.min(high, low + start) : low + start;
      if (low) s.offset = low;
      else delete s.offset;
      if (high !== null) s.limit = high - low;
      else delete s.limit;
    });
  }

  // -- terminals ------------------------------------------------------------

  /**
   * `qs.json`: the whole result as one JSON array (nested relations included).
   * @param {Queryable} client
   * @param {{raw?: boolean}} [opts] `raw`: the server's JSON text, numbers untouched
   * @returns {Promise<any>}
   */
  json(client, opts = {}) {
    return scalar(client, selectJson('qs.json($1::jsonb)', 'json', opts), [this.toString()]);
  }

  /**
   * `qs.rows`: one JSON value per row.
   * @param {Queryable} client
   * @param {{raw?: boolean}} [opts]
   * @returns {Promise<any[]>}
   */
  async rows(client, opts = {}) {
    const r = await query(client, selectJson('qs.rows($1::jsonb)', 'row', opts), [this.toString()]);
    return r.rows.map((x) => x.row);
  }

  /**
   * `qs.count` as a Number.
   * @param {Queryable} client
   * @returns {Promise<number>}
   */
  async count(client) {
    return toNumber(await scalar(client, 'SELECT qs.count($1::jsonb) AS count', [this.toString()]));
  }

  /**
   * `qs.get`: exactly one row, else {@link DoesNotExist} / {@link MultipleObjectsReturned}.
   * @param {Queryable} client
   * @param {Record<string, unknown>} [lookups] ANDed like `filter`
   * @param {{raw?: boolean}} [opts]
   * @returns {Promise<any>}
   */
  get(client, lookups, opts = {}) {
    if (lookups === undefined) return scalar(client, selectJson('qs.get($1::jsonb)', 'row', opts), [this.toString()]);
    return scalar(client, selectJson('qs.get($1::jsonb, $2::jsonb)', 'row', opts),
      [this.toString(), JSON.stringify(lookups)]);
  }

  /**
   * `qs.exists`.
   * @param {Queryable} client
   * @returns {Promise<boolean>}
   */
  exists(client) {
    return scalar(client, 'SELECT qs.exists($1::jsonb) AS exists', [this.toString()]);
  }

  /**
   * `qs.aggregate`: `{total: {Sum: 'price'}}` → `{total: ...}`.
   * @param {Queryable} client
   * @param {Record<string, unknown>} aggregates
   * @param {{raw?: boolean}} [opts]
   * @returns {Promise<any>}
   */
  aggregate(client, aggregates, opts = {}) {
    return scalar(client, selectJson('qs.aggregate($1::jsonb, $2::jsonb)', 'aggregate', opts),
      [this.toString(), JSON.stringify(aggregates)]);
  }

  /**
   * `qs.update`: set columns (values may be expressions, `{"-": [{F: "stock"}, 2]}`);
   * the number of rows updated.
   * @param {Queryable} client
   * @param {Record<string, unknown>} values
   * @returns {Promise<number>}
   */
  async update(client, values) {
    return toNumber(await scalar(client, 'SELECT qs.update($1::jsonb, $2::jsonb) AS updated',
      [this.toString(), JSON.stringify(values)]));
  }

  /**
   * `qs.delete`: the number of rows deleted.
   * @param {Queryable} client
   * @returns {Promise<number>}
   */
  async delete(client) {
    return toNumber(await scalar(client, 'SELECT qs.delete($1::jsonb) AS deleted', [this.toString()]));
  }

  /**
   * Django's `iterator(chunk_size)`: opens `qs.cursor` named `name` and
   * `FETCH`es `batch` rows at a time, yielding each non-empty batch.
   * Must run inside the caller's transaction (`BEGIN` ... `COMMIT` on the
   * same `client`): the portal lives until the transaction ends, which
   * closes it. Leaving the loop early closes the cursor.
   *
   *     await client.query('BEGIN');
   *     for await (const batch of q.cursor(client, 'export', 100)) { ... }
   *     await client.query('COMMIT');
   *
   * @param {Queryable} client one connection (not a pool)
   * @param {string} name the portal's name
   * @param {number|'ALL'} [batch] rows per FETCH; `'ALL'`: one batch of every row
   * @returns {AsyncGenerator<any[], void, undefined>}
   */
  async *cursor(client, name, batch = 2000) {
    if (batch !== 'ALL' && !(Number.isInteger(batch) && batch > 0)) {
      throw new RangeError('batch must be a positive integer or "ALL"');
    }
    const portal = await scalar(client, 'SELECT qs.cursor($1::jsonb, $2) AS cursor', [this.toString(), name]);
    // FETCH takes no parameters: the count is a checked integer, the name a quoted identifier
    const fetch = `FETCH ${batch === 'ALL' ? 'ALL' : String(batch)} FROM ${quoteIdent(portal)}`;
    let done = false;
    try {
      for (;;) {
        const r = await query(client, fetch);
        if (r.rows.length === 0) break;
        yield r.rows.map((x) => x.row);
        if (batch === 'ALL') break;
      }
      done = true;
    } finally {
      if (!done) {
        // left early: free the name for the rest of the transaction (best effort,
        // the transaction may be aborted already; COMMIT/ROLLBACK closes it anyway)
        await query(client, `CLOSE ${quoteIdent(portal)}`).catch(() => {});
      }
    }
  }
}

/**
 * A QuerySet of a model (Django's `Model.objects.all()`), or of a whole spec.
 * @param {string|Spec} modelOrSpec
 * @returns {QuerySet}
 */
function qs(modelOrSpec) {
  return new QuerySet(modelOrSpec);
}

// ---------------------------------------------------------------------------
// writes and tenancy that take a model rather than a queryset
// ---------------------------------------------------------------------------

/**
 * `qs.create`: insert one row, return it (defaults and the tenant filled in).
 * @param {Queryable} client
 * @param {string} model
 * @param {Record<string, unknown>} values
 * @param {{raw?: boolean}} [opts]
 * @returns {Promise<any>}
 */
function create(client, model, values, opts = {}) {
  return scalar(client, selectJson('qs.create($1::regclass, $2::jsonb)', 'row', opts), [model, JSON.stringify(values)]);
}

/**
 * `qs.bulk_update`: update `fields` of each row (matched by primary key);
 * the number of rows updated.
 * @param {Queryable} client
 * @param {string} model
 * @param {Array<Record<string, unknown>>} rows
 * @param {string[]} fields
 * @returns {Promise<number>}
 */
async function bulkUpdate(client, model, rows, fields) {
  return toNumber(await scalar(client, 'SELECT qs.bulk_update($1::regclass, $2::jsonb, $3::text[]) AS updated',
    [model, JSON.stringify(rows), fields]));
}

/**
 * `qs.set_tenant_token`: verify a signed token and make its tenant the
 * context — for the transaction (default; call it after `BEGIN`), or for the
 * session with `{local: false}`. Returns the tenant. A bad token raises
 * {@link InvalidToken}. The token is a bind parameter, never statement text.
 * @param {Queryable} client
 * @param {string} token
 * @param {{local?: boolean}} [opts]
 * @returns {Promise<string>}
 */
function setTenantToken(client, token, opts = {}) {
  return scalar(client, 'SELECT qs.set_tenant_token($1, $2) AS tenant', [token, opts.local ?? true]);
}

/**
 * `qs.current_tenant()`: the tenant of the context, or null.
 * @param {Queryable} client
 * @returns {Promise<string|null>}
 */
function currentTenant(client) {
  return scalar(client, 'SELECT qs.current_tenant() AS tenant', []);
}

/** @param {Buffer|string} b */
function base64url(b) {
  return Buffer.from(b).toString('base64url');
}

/**
 * Mint a tenant token: an HS256 JWT `{"tenant_id", "aud", "exp"}` signed
 * with the server's `pg_queryset.tenant_secret` (docs/tenancy.md).
 * @param {string} secret
 * @param {string|number} tenant
 * @param {string} audience
 * @param {number} ttlSeconds lifetime; the server caps it (`pg_queryset.tenant_token_max_age`)
 * @param {number} [now] seconds since the epoch (tests)
 * @returns {string}
 */
function mintToken(secret, tenant, audience, ttlSeconds, now = Math.floor(Date.now() / 1000)) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ tenant_id: String(tenant), aud: audience, exp: now + ttlSeconds }));
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

module.exports = {
  QuerySet,
  qs,
  query,
  create,
  bulkUpdate,
  setTenantToken,
  currentTenant,
  mintToken,
  mapError,
  errorClassFor,
  quoteIdent,
  DatabaseError,
  DoesNotExist,
  MultipleObjectsReturned,
  FieldError,
  InvalidQuery,
  DataError,
  IntegrityError,
  PermissionDenied,
  InvalidToken,
  LimitExceeded,
};
