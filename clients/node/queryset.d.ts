// Type declarations of queryset.js (pg_queryset's Node.js helper), written
// by hand: the module itself is plain JavaScript with JSDoc types.

/** Anything with node-postgres' `query(config)`: a `pg.Client`, a `pg.PoolClient`, or a `pg.Pool`. */
export interface Queryable {
  query(config: { text: string; values?: unknown[] }): Promise<{ rows: any[]; rowCount: number | null }>;
}

/** A Q tree: lookups (`{"price__lt": 10}`) and `$and` / `$or` / `$not` (docs/queryset.md). */
export type Lookups = Record<string, unknown>;

/** An ordering item: `"field"`, `"-field"`, `"?"` or `{F: "field", desc: true, nulls_last: true}`. */
export type Ordering = string | { F: string; desc?: boolean; asc?: boolean; nulls_first?: boolean; nulls_last?: boolean } | { expression: unknown; desc?: boolean };

/** The JSON spec of docs/queryset.md. */
export interface Spec {
  model: string;
  where?: Lookups;
  order_by?: Ordering[];
  only?: string[];
  defer?: string[];
  values?: string[];
  values_list?: string[];
  flat?: boolean;
  named?: boolean;
  distinct?: boolean | string[];
  annotate?: Array<Record<string, unknown>>;
  alias?: Array<Record<string, unknown>> | Record<string, unknown>;
  select_related?: string[];
  prefetch_related?: string[];
  manager?: string;
  use?: Array<string | Record<string, Record<string, unknown>>>;
  offset?: number;
  limit?: number | null;
  [key: string]: unknown;
}

/** An immutable, lazy queryset: builders return new QuerySets, terminals run one statement. */
export class QuerySet {
  constructor(modelOrSpec: string | Spec);
  /** The model (table) name. */
  readonly model: string;
  /** The spec, frozen. */
  readonly spec: Readonly<Spec>;
  toJSON(): Readonly<Spec>;
  /** The spec as JSON text (the jsonb parameter). */
  toString(): string;

  // builders
  filter(lookups: Lookups): QuerySet;
  exclude(lookups: Lookups): QuerySet;
  orderBy(...fields: Ordering[]): QuerySet;
  values(...fields: string[]): QuerySet;
  valuesList(fields: string[], options?: boolean | { flat?: boolean; named?: boolean }): QuerySet;
  only(...fields: string[]): QuerySet;
  defer(...fields: string[]): QuerySet;
  distinct(...fields: string[]): QuerySet;
  selectRelated(...paths: string[]): QuerySet;
  prefetchRelated(...paths: string[]): QuerySet;
  annotate(name: string, expression: unknown): QuerySet;
  annotate(expressions: Record<string, unknown>): QuerySet;
  usingManager(name: string): QuerySet;
  use(method: string, args?: Record<string, unknown>): QuerySet;
  /** Django's `qs[start:stop]`. */
  slice(start: number, stop?: number | null): QuerySet;

  // terminals (async; errors are DatabaseError subclasses). `{raw: true}`:
  // the JSON as the server's text (`::text`), every digit of every number kept.
  json<T = any>(client: Queryable, opts?: { raw?: false }): Promise<T[]>;
  json(client: Queryable, opts: { raw: true }): Promise<string>;
  rows<T = any>(client: Queryable, opts?: { raw?: false }): Promise<T[]>;
  rows(client: Queryable, opts: { raw: true }): Promise<string[]>;
  count(client: Queryable): Promise<number>;
  get<T = any>(client: Queryable, lookups?: Lookups, opts?: { raw?: false }): Promise<T>;
  get(client: Queryable, lookups: Lookups | undefined, opts: { raw: true }): Promise<string>;
  exists(client: Queryable): Promise<boolean>;
  aggregate<T = Record<string, any>>(client: Queryable, aggregates: Record<string, unknown>, opts?: { raw?: false }): Promise<T>;
  aggregate(client: Queryable, aggregates: Record<string, unknown>, opts: { raw: true }): Promise<string>;
  update(client: Queryable, values: Record<string, unknown>): Promise<number>;
  delete(client: Queryable): Promise<number>;
  /** `qs.cursor` + `FETCH batch` inside the caller's transaction, one yielded array per non-empty batch. */
  cursor<T = any>(client: Queryable, name: string, batch?: number | 'ALL'): AsyncGenerator<T[], void, undefined>;
}

/** A QuerySet of a model, or of a whole spec. */
export function qs(modelOrSpec: string | Spec): QuerySet;

/** One parameterised statement (unnamed prepared statement), errors mapped. */
export function query(client: Queryable, text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
export function create<T = any>(client: Queryable, model: string, values: Record<string, unknown>, opts?: { raw?: false }): Promise<T>;
export function create(client: Queryable, model: string, values: Record<string, unknown>, opts: { raw: true }): Promise<string>;
export function bulkUpdate(client: Queryable, model: string, rows: Array<Record<string, unknown>>, fields: string[]): Promise<number>;
export function setTenantToken(client: Queryable, token: string, opts?: { local?: boolean }): Promise<string>;
export function currentTenant(client: Queryable): Promise<string | null>;
/** An HS256 JWT `{"tenant_id", "aud", "exp": now + ttl}`. */
export function mintToken(secret: string, tenant: string | number, audience: string, ttlSeconds: number, now?: number): string;
export function mapError(err: unknown): unknown;
export function errorClassFor(sqlstate: string | null | undefined): typeof DatabaseError;
export function quoteIdent(name: string): string;

export interface ErrorInfo {
  sqlstate?: string | null;
  detail?: string | null;
  hint?: string | null;
  cause?: unknown;
}
/** The base of every mapped server error. */
export class DatabaseError extends Error {
  constructor(message: string, info?: ErrorInfo);
  readonly sqlstate: string | null;
  readonly detail: string | null;
  readonly hint: string | null;
}
/** P0002 */
export class DoesNotExist extends DatabaseError {}
/** P0003 */
export class MultipleObjectsReturned extends DatabaseError {}
/** 42703 */
export class FieldError extends DatabaseError {}
/** 22023, 22004, 2202E, 42804 */
export class InvalidQuery extends DatabaseError {}
/** 22P02 */
export class DataError extends DatabaseError {}
/** class 23 */
export class IntegrityError extends DatabaseError {}
/** 42501 */
export class PermissionDenied extends DatabaseError {}
/** 28000 */
export class InvalidToken extends PermissionDenied {}
/** 54000 */
export class LimitExceeded extends DatabaseError {}
