-- pg_queryset: Django's QuerySet vocabulary inside PostgreSQL.
-- The single source of the install script; the Makefile copies it to
-- pg_queryset--<version>.sql.  Every function is SECURITY INVOKER: the
-- SQL a queryset runs is checked against the caller's own privileges.

\echo Use "CREATE EXTENSION pg_queryset" to load this file. \quit

-- A queryset is a JSON document (docs/queryset.md); the domain marks the
-- normalised form the builders return.
CREATE DOMAIN @extschema@.queryset AS jsonb
    CHECK (jsonb_typeof(VALUE) = 'object' AND VALUE ? 'model');

COMMENT ON DOMAIN @extschema@.queryset IS
    'A lazy QuerySet: a JSON spec {"model": ..., "where": ..., "order_by": ...}';

------------------------------------------------------------------------
-- Builders (lazy: no table is read)
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.all(model regclass)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_all'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.filter(q jsonb, lookups jsonb)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_filter'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.exclude(q jsonb, lookups jsonb)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_exclude'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.order_by(q jsonb, VARIADIC fields text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_order_by'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.only(q jsonb, VARIADIC fields text[])
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_only'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.defer(q jsonb, VARIADIC fields text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_defer'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.values(q jsonb, VARIADIC fields text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_values'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.values_list(q jsonb, fields text[],
                                        flat boolean DEFAULT false,
                                        named boolean DEFAULT false)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_values_list'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.distinct(q jsonb, VARIADIC fields text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_distinct'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.select_related(q jsonb, VARIADIC paths text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_select_related'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.prefetch_related(q jsonb, VARIADIC paths text[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_prefetch_related'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.annotate(q jsonb, expressions jsonb)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_annotate'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.alias(q jsonb, expressions jsonb)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_alias'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.slice(q jsonb, start bigint, stop bigint DEFAULT NULL)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_slice'
LANGUAGE C STABLE PARALLEL SAFE;

------------------------------------------------------------------------
-- Terminals (each accepts a queryset or a raw jsonb spec)
-- They run SQL through SPI and keep a backend-local plan cache, so they
-- are PARALLEL UNSAFE; the statement they run may itself go parallel.
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.rows(q jsonb)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'qs_rows'
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION @extschema@.json(q jsonb)
RETURNS json
AS 'MODULE_PATHNAME', 'qs_json'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.fetch(q jsonb, rowtype anyelement)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'qs_fetch'
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION @extschema@.count(q jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'qs_count'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.aggregate(q jsonb, aggregates jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_aggregate'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.exists(q jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'qs_exists'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.get(q jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_get'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.get(q jsonb, lookups jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_get'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.first(q jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_first'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.last(q jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_last'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.earliest(q jsonb, VARIADIC fields text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_earliest'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.latest(q jsonb, VARIADIC fields text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_latest'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.in_bulk(q jsonb, ids jsonb DEFAULT NULL,
                                    field_name text DEFAULT 'pk')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_in_bulk'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.sql(q jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'qs_sql'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.params(q jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_params'
LANGUAGE C STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.explain(q jsonb, "analyze" boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_explain'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.cursor(q jsonb, name text DEFAULT NULL)
RETURNS refcursor
AS 'MODULE_PATHNAME', 'qs_cursor'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------
-- Plan cache introspection
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.plan_cache_stats(
    OUT hits bigint, OUT misses bigint, OUT entries integer,
    OUT evictions bigint, OUT invalidations bigint, OUT capacity integer,
    OUT shape_hits bigint, OUT shape_misses bigint, OUT shape_entries integer)
RETURNS record
AS 'MODULE_PATHNAME', 'qs_plan_cache_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.plan_cache_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'qs_plan_cache_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------
-- Relations (docs/relations.md)
------------------------------------------------------------------------

-- The DBA's names for relations (Django's related_name), as seen from a
-- model.  A relation is identified by the foreign key that defines it
-- (for many-to-many: the junction's key to the target), by name, so the
-- rows survive pg_dump and restore.  Kept by pg_dump as a config table.
CREATE TABLE @extschema@.relation_name (
    model_schema   name NOT NULL,
    model_table    name NOT NULL,
    via_schema     name NOT NULL,
    via_table      name NOT NULL,
    via_constraint name NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('forward', 'reverse', 'm2m')),
    name           text NOT NULL
        CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$' AND position('__' IN name) = 0),
    PRIMARY KEY (model_schema, model_table, via_schema, via_table, via_constraint, kind),
    UNIQUE (model_schema, model_table, name)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.relation_name', '');
GRANT SELECT ON @extschema@.relation_name TO PUBLIC;

CREATE FUNCTION @extschema@.relations(model regclass,
    OUT name text, OUT kind text, OUT target regclass, OUT columns text,
    OUT via regclass, OUT via_constraint name, OUT default_name text,
    OUT ambiguous boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'qs_relations'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@._invalidate_model(model regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'qs_invalidate_model'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

-- Rename a relation as seen from model.  current_name is its name (or,
-- when that name is ambiguous, "via_table.via_constraint" from
-- qs.relations()).  Needs INSERT/UPDATE on qs.relation_name (granted by
-- the DBA): SECURITY INVOKER like everything else, and without a SET
-- clause (catalog names are schema-qualified instead).
CREATE FUNCTION @extschema@.name_relation(model regclass, current_name text, new_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    r record;
    n int;
    choices text;
BEGIN
    IF model IS NULL OR current_name IS NULL OR new_name IS NULL THEN
        RAISE EXCEPTION 'model, current_name and new_name must not be null'
            USING ERRCODE = '22004';
    END IF;
    IF new_name !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR pg_catalog.strpos(new_name, '__') > 0 THEN
        RAISE EXCEPTION 'invalid relation name "%"', new_name
            USING ERRCODE = '22023',
                  DETAIL = 'A relation name is an identifier without a double underscore.',
                  HINT = 'Use letters, digits and single underscores, e.g. "items".';
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM @extschema@.relations(model) rel
     WHERE rel.name = current_name
        OR current_name IN (rel.via::text || '.' || rel.via_constraint,
                            (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = rel.via)
                            || '.' || rel.via_constraint);
    IF n = 0 THEN
        SELECT pg_catalog.string_agg(DISTINCT rel.name, ', ' ORDER BY rel.name) INTO choices
          FROM @extschema@.relations(model) rel;
        RAISE EXCEPTION 'model "%" has no relation "%"', model, current_name
            USING ERRCODE = '42703',
                  DETAIL = pg_catalog.format('Choices are: %s.', coalesce(choices, '(none)'));
    END IF;
    IF n > 1 THEN
        SELECT pg_catalog.string_agg(rel.via::text || '.' || rel.via_constraint, ', '
                          ORDER BY rel.via::text, rel.via_constraint) INTO choices
          FROM @extschema@.relations(model) rel WHERE rel.name = current_name;
        RAISE EXCEPTION 'relation name "%" of model "%" is ambiguous', current_name, model
            USING ERRCODE = '42702',
                  DETAIL = pg_catalog.format('It names: %s.', choices),
                  HINT = 'Pass one of them as current_name.';
    END IF;
    SELECT * INTO r FROM @extschema@.relations(model) rel
     WHERE rel.name = current_name
        OR current_name IN (rel.via::text || '.' || rel.via_constraint,
                            (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = rel.via)
                            || '.' || rel.via_constraint);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = model AND a.attname = new_name
                  AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'relation name "%" clashes with a column of "%"', new_name, model
            USING ERRCODE = '42701';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.relations(model) rel
                WHERE rel.name = new_name
                  AND NOT (rel.via = r.via AND rel.via_constraint = r.via_constraint
                           AND rel.kind = r.kind)) THEN
        RAISE EXCEPTION 'model "%" already has a relation named "%"', model, new_name
            USING ERRCODE = '42710';
    END IF;
    INSERT INTO @extschema@.relation_name AS t
           (model_schema, model_table, via_schema, via_table, via_constraint, kind, name)
    SELECT mn.nspname, mc.relname, vn.nspname, vc.relname, r.via_constraint,
           CASE WHEN r.kind IN ('forward', 'one_to_one') THEN 'forward'
                WHEN r.kind LIKE 'reverse%' THEN 'reverse' ELSE 'm2m' END,
           new_name
      FROM pg_catalog.pg_class mc JOIN pg_catalog.pg_namespace mn ON mn.oid = mc.relnamespace,
           pg_catalog.pg_class vc JOIN pg_catalog.pg_namespace vn ON vn.oid = vc.relnamespace
     WHERE mc.oid = model AND vc.oid = r.via
    ON CONFLICT (model_schema, model_table, via_schema, via_table, via_constraint, kind)
    DO UPDATE SET name = EXCLUDED.name;
    PERFORM @extschema@._invalidate_model(model);
END
$$;

------------------------------------------------------------------------
-- Writes (docs/writes.md).  VOLATILE; every one is a single function call,
-- so it is atomic.  SECURITY INVOKER: column privileges and row-level
-- security apply to what they write.
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.update(q jsonb, "values" jsonb, fields text[] DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'qs_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.delete(q jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'qs_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.create(model regclass, "values" jsonb, fields text[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.bulk_create(model regclass, "rows" jsonb, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_bulk_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.bulk_update(model regclass, "rows" jsonb, fields text[], options jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'qs_bulk_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.get_or_create(model regclass, lookups jsonb, defaults jsonb DEFAULT NULL,
                                          OUT object jsonb, OUT created boolean)
AS 'MODULE_PATHNAME', 'qs_get_or_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.update_or_create(model regclass, lookups jsonb, defaults jsonb DEFAULT NULL,
                                             create_defaults jsonb DEFAULT NULL,
                                             OUT object jsonb, OUT created boolean)
AS 'MODULE_PATHNAME', 'qs_update_or_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------
-- Query statistics (docs/querystats.md): the session's statements as the
-- executor hooks counted them (pg_queryset.query_stats = on).
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.query_stats(top integer DEFAULT 10)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_query_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.query_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'qs_query_stats_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
