-- pg_queryset: Django's QuerySet vocabulary inside PostgreSQL.
-- The single source of the install script; the Makefile copies it to
-- pg_queryset--<version>.sql.  Every function is SECURITY INVOKER: the
-- SQL a queryset runs is checked against the caller's own privileges.

\echo Use "CREATE EXTENSION pg_queryset" to load this file. \quit

-- PostgreSQL 15 or later (the C library refuses to build below it)
DO $check$
BEGIN
  IF pg_catalog.current_setting('server_version_num')::int < 150000 THEN
    RAISE EXCEPTION 'pg_queryset needs PostgreSQL 15 or later; this server is %', pg_catalog.current_setting('server_version')
      USING ERRCODE = '0A000', HINT = 'docs/configuration.md lists the tested majors.';
  END IF;
END
$check$;

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

-- Set operations (Django's union(), intersection(), difference()): the
-- combined queryset takes slicing, order_by, values and values_list.
CREATE FUNCTION @extschema@.union(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_union'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.union(q jsonb, others jsonb[], "all" boolean)
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_union'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.intersection(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_intersection'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.difference(q jsonb, VARIADIC others jsonb[] DEFAULT '{}')
RETURNS @extschema@.queryset
AS 'MODULE_PATHNAME', 'qs_difference'
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

-- keyset pages over any ordering (docs/pagination.md); from 0.2.0
CREATE FUNCTION @extschema@.page(q jsonb, after text DEFAULT NULL, size integer DEFAULT NULL,
                                 before text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_page'
LANGUAGE C STABLE PARALLEL UNSAFE;

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

-- The cached statements and how their plans are chosen (docs/performance.md,
-- "Custom or generic plans").
CREATE FUNCTION @extschema@.plan_choices(
    OUT sql text, OUT custom_plans bigint, OUT custom_cost double precision,
    OUT generic_cost double precision, OUT planning_cost double precision,
    OUT choice text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'qs_plan_choices'
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

-- the same with the rows as JSON text, read in one pass straight into COPY
CREATE FUNCTION @extschema@.bulk_create_text(model regclass, "rows" text, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'qs_bulk_create_text'
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

------------------------------------------------------------------------
-- Managers and methods (docs/managers.md): named base querysets and
-- parametrised refinements, kept in config tables (pg_dump keeps them).
-- Who may define them is decided by GRANTs on these tables; everyone may
-- read them.  The functions are SECURITY INVOKER.
------------------------------------------------------------------------

CREATE TABLE @extschema@.manager (
    model_schema name NOT NULL,
    model_table  name NOT NULL,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    spec         jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    is_default   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (model_schema, model_table, name)
);
CREATE UNIQUE INDEX manager_one_default ON @extschema@.manager (model_schema, model_table) WHERE is_default;
CREATE TABLE @extschema@.method (
    model_schema name NOT NULL,
    model_table  name NOT NULL,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    spec         jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    params       text[] NOT NULL,
    PRIMARY KEY (model_schema, model_table, name)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.manager', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.method', '');
GRANT SELECT ON @extschema@.manager, @extschema@.method TO PUBLIC;

-- Compile a spec (checks fields, lookups, values); with params, each
-- {"$param": name} stands for a value of the type of what it meets.
CREATE FUNCTION @extschema@._validate(base jsonb, part jsonb, params boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'qs_validate'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;

-- The names of the {"$param": name} placeholders of a spec.
CREATE FUNCTION @extschema@._params(v jsonb)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT v ->> '$param' WHERE jsonb_typeof(v) = 'object' AND v ? '$param'
  UNION ALL
  SELECT @extschema@._params(e)
    FROM pg_catalog.jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END) AS e
  UNION ALL
  SELECT @extschema@._params(e)
    FROM pg_catalog.jsonb_each(CASE WHEN jsonb_typeof(v) = 'object' AND NOT v ? '$param' THEN v ELSE '{}' END) AS x(k, e)
$$;

-- Replace the placeholders by the arguments' JSON values.
CREATE FUNCTION @extschema@._substitute(v jsonb, args jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN jsonb_typeof(v) = 'object' AND v ? '$param' THEN args -> (v ->> '$param')
    WHEN jsonb_typeof(v) = 'object' THEN
      (SELECT coalesce(pg_catalog.jsonb_object_agg(k, @extschema@._substitute(e, args)), '{}')
         FROM pg_catalog.jsonb_each(v) AS x(k, e))
    WHEN jsonb_typeof(v) = 'array' THEN
      (SELECT coalesce(pg_catalog.jsonb_agg(@extschema@._substitute(e, args) ORDER BY o), '[]')
         FROM pg_catalog.jsonb_array_elements(v) WITH ORDINALITY AS x(e, o))
    ELSE v END
$$;

-- Apply a partial spec (a manager's or a method's) to a queryset, with
-- the builders' meaning: where is one more filter() call, annotate/alias
-- and the related lists accumulate, order_by/only/distinct replace.
CREATE FUNCTION @extschema@._apply(q jsonb, part jsonb, depth integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  k text;
  v jsonb;
BEGIN
  IF depth > 16 THEN
    RAISE EXCEPTION 'managers and methods nest more than 16 levels deep'
      USING ERRCODE = '54000', HINT = 'A method that uses itself never ends.';
  END IF;
  FOR k, v IN SELECT * FROM pg_catalog.jsonb_each(part) LOOP
    CASE k
      WHEN 'where' THEN q := @extschema@.filter(q, v);
      WHEN 'annotate' THEN q := @extschema@.annotate(q, v);
      WHEN 'alias' THEN q := @extschema@.alias(q, v);
      WHEN 'order_by', 'only', 'distinct' THEN q := q || pg_catalog.jsonb_build_object(k, v);
      WHEN 'defer', 'select_related', 'prefetch_related' THEN
        q := q || pg_catalog.jsonb_build_object(k, coalesce(q -> k, '[]') || v);
      WHEN 'use' THEN q := @extschema@._use_list(q, v, depth + 1);
      WHEN 'model' THEN NULL;
      ELSE
        RAISE EXCEPTION 'invalid key "%" in a manager or method', k
          USING ERRCODE = '22023',
                HINT = 'Managers and methods hold where, annotate, alias, order_by, only, defer, distinct, select_related, prefetch_related and use.';
    END CASE;
  END LOOP;
  RETURN q;
END
$$;

CREATE FUNCTION @extschema@._use(q jsonb, method text, args jsonb, depth integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  m regclass := (q ->> 'model')::regclass;
  r record;
  missing text;
  extra text;
BEGIN
  IF args IS NULL THEN args := '{}'; END IF;
  IF jsonb_typeof(args) <> 'object' THEN
    RAISE EXCEPTION 'arguments of method "%" must be a JSON object, got %', method, jsonb_typeof(args)
      USING ERRCODE = '22023';
  END IF;
  SELECT d.spec, d.params INTO r FROM @extschema@.managers(m) d WHERE d.kind = 'method' AND d.name = method;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'method "%" is not defined for model %', method, m
      USING ERRCODE = '42704',
            HINT = format('Defined: %s.', coalesce((SELECT string_agg(name, ', ' ORDER BY name) FROM @extschema@.managers(m) WHERE kind = 'method'), 'none'));
  END IF;
  SELECT string_agg(p, ', ') INTO missing FROM pg_catalog.unnest(r.params) p WHERE NOT args ? p;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'method "%" needs the argument(s) %', method, missing
      USING ERRCODE = '22023', HINT = format('It takes: %s.', array_to_string(r.params, ', '));
  END IF;
  SELECT string_agg(a, ', ') INTO extra FROM pg_catalog.jsonb_object_keys(args) a WHERE a <> ALL (r.params);
  IF extra IS NOT NULL THEN
    RAISE EXCEPTION 'method "%" takes no argument(s) %', method, extra
      USING ERRCODE = '22023', HINT = format('It takes: %s.', coalesce(nullif(array_to_string(r.params, ', '), ''), 'no arguments'));
  END IF;
  RETURN @extschema@._apply(q, @extschema@._substitute(r.spec, args), depth);
END
$$;

-- "use": [name | {name: args}, ...]
CREATE FUNCTION @extschema@._use_list(q jsonb, uses jsonb, depth integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  u jsonb;
  k text;
  v jsonb;
BEGIN
  IF jsonb_typeof(uses) = 'string' THEN uses := pg_catalog.jsonb_build_array(uses); END IF;
  IF jsonb_typeof(uses) <> 'array' THEN
    RAISE EXCEPTION 'invalid spec at $.use: expected an array of method names or {name: arguments}'
      USING ERRCODE = '22023';
  END IF;
  FOR u IN SELECT * FROM pg_catalog.jsonb_array_elements(uses) LOOP
    IF jsonb_typeof(u) = 'string' THEN
      q := @extschema@._use(q, u #>> '{}', '{}', depth);
    ELSIF jsonb_typeof(u) = 'object' THEN
      FOR k, v IN SELECT * FROM pg_catalog.jsonb_each(u) LOOP
        q := @extschema@._use(q, k, v, depth);
      END LOOP;
    ELSE
      RAISE EXCEPTION 'invalid spec at $.use: expected a method name or {name: arguments}, got %', jsonb_typeof(u)
        USING ERRCODE = '22023';
    END IF;
  END LOOP;
  RETURN q;
END
$$;

-- A spec with "manager" and "use" keys, expanded (the terminals call it).
CREATE FUNCTION @extschema@._expand(spec jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  m regclass;
  q jsonb;
  mgr text := spec ->> 'manager';
  mspec jsonb;
BEGIN
  IF NOT spec ? 'model' THEN
    RAISE EXCEPTION 'invalid spec at $: the key "model" is required' USING ERRCODE = '22023';
  END IF;
  m := (spec ->> 'model')::regclass;
  q := pg_catalog.jsonb_build_object('model', m::text);
  IF mgr IS NOT NULL THEN
    SELECT d.spec INTO mspec FROM @extschema@.managers(m) d WHERE d.kind = 'manager' AND d.name = mgr;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'manager "%" is not defined for model %', mgr, m
        USING ERRCODE = '42704',
              HINT = format('Defined: %s.', coalesce((SELECT string_agg(name, ', ' ORDER BY name) FROM @extschema@.managers(m) WHERE kind = 'manager'), 'none'));
    END IF;
    q := @extschema@._apply(q, mspec, 1);
  END IF;
  q := @extschema@._apply(q, spec - 'model' - 'manager' - 'use'
         - 'values' - 'values_list' - 'flat' - 'named' - 'limit' - 'offset' - 'select_for_update', 1);
  -- methods chain before the spec's projection and slice, as
  -- Product.objects.active().values(...)[:5] does in Django
  IF spec ? 'use' THEN
    q := @extschema@._use_list(q, spec -> 'use', 1);
  END IF;
  RETURN q || (spec - 'model' - 'manager' - 'use' - 'where' - 'annotate' - 'alias' - 'order_by' - 'only' - 'defer'
                    - 'distinct' - 'select_related' - 'prefetch_related');
END
$$;

CREATE FUNCTION @extschema@.define_manager(model regclass, name text, spec jsonb, is_default boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
  s name;
  t name;
BEGIN
  SELECT n.nspname, c.relname INTO s, t FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = model;
  IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
    RAISE EXCEPTION 'a manager is a JSON object (a partial queryset)' USING ERRCODE = '22023';
  END IF;
  IF spec ? 'model' AND (spec ->> 'model')::regclass <> model THEN
    RAISE EXCEPTION 'the manager''s spec names another model: %', spec ->> 'model' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT FROM @extschema@._params(spec)) THEN
    RAISE EXCEPTION 'a manager takes no {"$param": ...} placeholders' USING ERRCODE = '22023',
      HINT = 'Define a method for a parametrised refinement.';
  END IF;
  -- validated now, not at first use
  PERFORM @extschema@._validate(pg_catalog.jsonb_build_object('model', model::text), spec - 'model', false);
  IF is_default THEN
    UPDATE @extschema@.manager SET is_default = false WHERE model_schema = s AND model_table = t AND is_default;
  END IF;
  INSERT INTO @extschema@.manager AS d (model_schema, model_table, name, spec, is_default)
  VALUES (s, t, define_manager.name, spec - 'model', is_default)
  ON CONFLICT (model_schema, model_table, name) DO UPDATE SET spec = EXCLUDED.spec, is_default = EXCLUDED.is_default;
END
$$;

CREATE FUNCTION @extschema@.define_method(model regclass, name text, spec jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
  s name;
  t name;
  p text[];
BEGIN
  SELECT n.nspname, c.relname INTO s, t FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = model;
  IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
    RAISE EXCEPTION 'a method is a JSON object (a partial queryset)' USING ERRCODE = '22023';
  END IF;
  IF spec ? 'model' AND (spec ->> 'model')::regclass <> model THEN
    RAISE EXCEPTION 'the method''s spec names another model: %', spec ->> 'model' USING ERRCODE = '22023';
  END IF;
  SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') INTO p FROM @extschema@._params(spec) x;
  IF EXISTS (SELECT FROM pg_catalog.unnest(p) x WHERE x IS NULL OR x !~ '^[A-Za-z_][A-Za-z0-9_]*$') THEN
    RAISE EXCEPTION 'invalid placeholder name in %', spec USING ERRCODE = '22023',
      HINT = 'Write {"$param": "name"} with a name made of letters, digits and _.';
  END IF;
  PERFORM @extschema@._validate(pg_catalog.jsonb_build_object('model', model::text), spec - 'model', true);
  INSERT INTO @extschema@.method AS d (model_schema, model_table, name, spec, params)
  VALUES (s, t, define_method.name, spec - 'model', p)
  ON CONFLICT (model_schema, model_table, name) DO UPDATE SET spec = EXCLUDED.spec, params = EXCLUDED.params;
END
$$;

CREATE FUNCTION @extschema@.managers(model regclass,
    OUT kind text, OUT name text, OUT spec jsonb, OUT is_default boolean, OUT params text[])
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
  SELECT 'manager', d.name, d.spec, d.is_default, '{}'::text[]
    FROM @extschema@.manager d JOIN pg_catalog.pg_class c ON c.relname = d.model_table
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = d.model_schema
   WHERE c.oid = model
  UNION ALL
  SELECT 'method', d.name, d.spec, false, d.params
    FROM @extschema@.method d JOIN pg_catalog.pg_class c ON c.relname = d.model_table
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = d.model_schema
   WHERE c.oid = model
  ORDER BY 1, 2
$$;

CREATE FUNCTION @extschema@.drop_manager(model regclass, name text)
RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
  WITH gone AS (
    DELETE FROM @extschema@.manager d USING pg_catalog.pg_class c, pg_catalog.pg_namespace n
     WHERE c.oid = model AND n.oid = c.relnamespace AND d.model_schema = n.nspname
       AND d.model_table = c.relname AND d.name = drop_manager.name RETURNING 1)
  SELECT EXISTS (SELECT FROM gone)
$$;

CREATE FUNCTION @extschema@.drop_method(model regclass, name text)
RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
  WITH gone AS (
    DELETE FROM @extschema@.method d USING pg_catalog.pg_class c, pg_catalog.pg_namespace n
     WHERE c.oid = model AND n.oid = c.relnamespace AND d.model_schema = n.nspname
       AND d.model_table = c.relname AND d.name = drop_method.name RETURNING 1)
  SELECT EXISTS (SELECT FROM gone)
$$;

-- Django's Model.objects: the default manager (or the named one), or
-- every row when the model has none.
CREATE FUNCTION @extschema@.objects(model regclass, manager text DEFAULT NULL)
RETURNS @extschema@.queryset
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  mgr text := manager;
BEGIN
  IF mgr IS NULL THEN
    SELECT d.name INTO mgr FROM @extschema@.managers(model) d WHERE d.kind = 'manager' AND d.is_default;
  END IF;
  IF mgr IS NULL THEN
    RETURN @extschema@.all(model);
  END IF;
  RETURN @extschema@._expand(pg_catalog.jsonb_build_object('model', model::text, 'manager', mgr));
END
$$;

-- Apply a method: qs.use(q, 'by_category', '{"slug": "laptops"}').
CREATE FUNCTION @extschema@.use(q jsonb, method text, args jsonb DEFAULT '{}')
RETURNS @extschema@.queryset
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF q IS NULL THEN
    RAISE EXCEPTION 'queryset must not be null' USING ERRCODE = '22004';
  END IF;
  IF q ? 'manager' OR q ? 'use' THEN
    q := @extschema@._expand(q);
  END IF;
  RETURN @extschema@._use(q, method, args, 1);
END
$$;

------------------------------------------------------------------------
-- Tenant scoping (docs/tenancy.md, docs/threat-model.md; C side in
-- src/tenant.c): the tenant context, policies that compare a table's
-- tenant column with it, and an audit.
------------------------------------------------------------------------

-- Set the tenant, transaction-locally unless is_local is false.  The
-- setting behind it is superuser-only; this function sets it for whoever
-- may EXECUTE it, so EXECUTE is revoked from PUBLIC: grant it to the
-- role that chooses tenants (a pooler's or an admin's), not to the
-- application role (which uses signed tokens, or a trusted middle tier).
CREATE FUNCTION @extschema@.set_tenant(tenant text, is_local boolean DEFAULT true)
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'qs_set_tenant';
REVOKE EXECUTE ON FUNCTION @extschema@.set_tenant(text, boolean) FROM PUBLIC;

-- Verify a signed token (HS256) and make it the tenant context; raises
-- 28000 saying which check failed.  Anyone may call it: only a token
-- signed with pg_queryset.tenant_secret names a tenant.
CREATE FUNCTION @extschema@.set_tenant_token(token text, is_local boolean DEFAULT true)
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'qs_set_tenant_token';

-- No tenant and no token for the rest of the session.
CREATE FUNCTION @extschema@.reset_tenant()
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'qs_reset_tenant';

-- The tenant, or NULL.  With a token set, the token's verified claim.
CREATE FUNCTION @extschema@.current_tenant()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'qs_current_tenant';

-- The tenant as a value of the tenant column's type (pass NULL::type):
-- what SELECT policies compare with, so the comparison is an index
-- condition computed once per scan.  NULL without a tenant: no rows.
CREATE FUNCTION @extschema@.current_tenant_as(anyelement)
RETURNS anyelement
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'qs_current_tenant_as';

-- The same for write policies: without a tenant, an error (42501).
CREATE FUNCTION @extschema@.tenant_required(anyelement)
RETURNS anyelement
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'qs_tenant_required';

-- What enable_tenant_scoping did, so disable_tenant_scoping undoes
-- exactly that (kept by pg_dump).  Every role may read it; no role but
-- the extension's owner may write it: rows are written only through
-- _tenant_scope_record/_tenant_scope_forget below, which check that the
-- caller owns the table and that the row says what the catalog shows.
CREATE TABLE @extschema@.tenant_scope (
    model            regclass PRIMARY KEY,
    tenant_column    name NOT NULL,
    parent           regclass,
    roles            name[] NOT NULL,
    added_permissive boolean NOT NULL,
    set_default      boolean NOT NULL,
    old_default      text,
    had_rls          boolean NOT NULL,
    had_force        boolean NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenant_scope', '');
REVOKE ALL ON @extschema@.tenant_scope FROM PUBLIC;
GRANT SELECT ON @extschema@.tenant_scope TO PUBLIC;

-- Forget the scoping of dropped tables: a record left behind would name
-- whatever table later gets the same OID.  SECURITY DEFINER because the
-- records are written by the extension's owner only (tenant_scope
-- above), while any owner may drop a table; it deletes nothing but the
-- records of the relations the firing statement dropped.
CREATE FUNCTION @extschema@._tenant_scope_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM @extschema@.tenant_scope s
   WHERE s.model::oid IN (SELECT d.objid FROM pg_catalog.pg_event_trigger_dropped_objects() d
                           WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._tenant_scope_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER qs_tenant_scope_dropped ON sql_drop EXECUTE FUNCTION @extschema@._tenant_scope_dropped();

-- Record and forget a scoping (src/tenant.c).  The table is writable by
-- the extension's owner only (security review, finding 8: any role could
-- write rows, e.g. for a temporary table, that outlived it and broke
-- disable_tenant_scoping).  These check that the caller owns the
-- permanent table the row describes (and, to record, that the table
-- carries the qs_tenant_select policy on that column), then write the
-- one row as the table's owner.
CREATE FUNCTION @extschema@._tenant_scope_record(model regclass, tenant_column name, parent regclass, roles name[],
    added_permissive boolean, set_default boolean, old_default text, had_rls boolean, had_force boolean)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'qs_tenant_scope_record';

CREATE FUNCTION @extschema@._tenant_scope_forget(model regclass)
RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'qs_tenant_scope_forget';

-- The equality operator of a type, schema-qualified for generated SQL:
-- OPERATOR(pg_catalog.=) for built-in types, the type's own schema for
-- others (citext's =).  Found through the type's default btree operator
-- class, never through search_path.
CREATE FUNCTION @extschema@._equality_operator(typ regtype)
RETURNS text
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'qs_equality_operator';

-- A type's schema-qualified name for casts in generated SQL.
CREATE FUNCTION @extschema@._qualified_type(typ regtype)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
  SELECT pg_catalog.format('%I.%I', n.nspname, t.typname)
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE t.oid = typ
$$;

-- Is the table a Citus table (distributed, reference or a Citus local
-- table)?  False where Citus is not installed; read dynamically so the
-- extension does not depend on Citus.
CREATE FUNCTION @extschema@._citus_table(model regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found boolean;
BEGIN
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)'
    INTO found USING model;
  RETURN found;
END
$$;

-- Is the relation one of Citus's shards (on a node that holds
-- placements)?  The audit leaves shards to the coordinator's checks.
CREATE FUNCTION @extschema@._citus_shard(rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found boolean;
BEGIN
  IF pg_catalog.to_regprocedure('pg_catalog.relation_is_a_known_shard(regclass)') IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT pg_catalog.relation_is_a_known_shard($1)' INTO found USING rel;
  RETURN coalesce(found, false);
END
$$;

-- The audit's Citus findings: for every tenant-scoped Citus table, its
-- tenant policies must be permissive (Citus creates every policy on the
-- shards as a permissive one) and every shard placement must carry the
-- four policies, forced row-level security and no permissive policy of
-- another name.  Read on the placements with run_command_on_placements.
-- Nothing where Citus is not installed.
CREATE FUNCTION @extschema@._citus_audit()
RETURNS TABLE (severity text, object text, finding text, hint text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  s record;
  r record;
  probe constant text :=
    'SELECT pg_catalog.concat_ws('','', c.relrowsecurity AND c.relforcerowsecurity,'
    ' (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid'
    '   AND p.polname OPERATOR(pg_catalog.=) ANY (ARRAY[''qs_tenant_select'', ''qs_tenant_insert'', ''qs_tenant_update'', ''qs_tenant_delete'']::pg_catalog.name[])),'
    ' (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid AND p.polpermissive'
    '   AND pg_catalog.left(p.polname, 10) OPERATOR(pg_catalog.<>) ''qs_tenant_''))'
    ' FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ''%1$s''::pg_catalog.regclass';
BEGIN
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN;
  END IF;
  FOR s IN SELECT t.model FROM @extschema@.tenant_scope t WHERE @extschema@._citus_table(t.model) ORDER BY t.model::text LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = s.model AND p.polname = 'qs_tenant_select' AND NOT p.polpermissive) THEN
      RETURN QUERY SELECT 'high'::text, s.model::text,
        'Citus table with restrictive tenant policies: Citus creates them on the shards as permissive ones, ORed with the table''s other permissive policies'::text,
        'Drop the table''s own permissive policies, then qs.disable_tenant_scoping() and qs.enable_tenant_scoping() again.'::text;
    END IF;
    -- one finding per table and problem, naming how many placements and the first one
    FOR r IN EXECUTE
      'SELECT problem, pg_catalog.count(*) AS n, pg_catalog.min(pg_catalog.format(''shard %s on %s:%s'', shardid, nodename, nodeport)) AS first
         FROM (SELECT p.shardid, p.nodename, p.nodeport,
                      CASE WHEN NOT p.success THEN ''its policies could not be read: '' OPERATOR(pg_catalog.||) p.result
                           WHEN x.parts[1] IS DISTINCT FROM ''t'' THEN ''row-level security is not enabled and forced''
                           WHEN x.parts[2] IS DISTINCT FROM ''4'' THEN ''does not carry the 4 tenant policies''
                           WHEN x.parts[3] IS DISTINCT FROM ''0'' THEN ''has permissive policies besides the tenant policies: they widen access''
                      END AS problem
                 FROM pg_catalog.run_command_on_placements($1, $2) p,
                      LATERAL (SELECT pg_catalog.string_to_array(p.result, '','') AS parts) x) q
        WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem'
      USING s.model, probe LOOP
      RETURN QUERY SELECT 'high'::text, s.model::text,
        pg_catalog.format('%s shard placement(s) (first: %s): %s', r.n, r.first, r.problem),
        'Citus propagates ALTER TABLE ... ROW LEVEL SECURITY and CREATE/DROP POLICY: qs.disable_tenant_scoping(), then qs.enable_tenant_scoping() on the coordinator.'::text;
    END LOOP;
  END LOOP;
END
$$;

-- The policies of a scoped table.  op: the column type's equality
-- operator, schema-qualified (_equality_operator); typ: the column's
-- type, schema-qualified (_qualified_type): nothing in a policy resolves
-- through search_path.
CREATE FUNCTION @extschema@._tenant_policy_sql(model regclass, col name, typ text, roles text, op text, permissive boolean)
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
  SELECT ARRAY[
    pg_catalog.format('CREATE POLICY qs_tenant_select ON %s AS %s FOR SELECT TO %s USING (%I %s @extschema@.current_tenant_as(NULL::%s))', model, kind, roles, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_insert ON %s AS %s FOR INSERT TO %s WITH CHECK (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_update ON %s AS %s FOR UPDATE TO %s USING (%I %s @extschema@.tenant_required(NULL::%s)) WITH CHECK (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ, col, op, typ),
    pg_catalog.format('CREATE POLICY qs_tenant_delete ON %s AS %s FOR DELETE TO %s USING (%I %s @extschema@.tenant_required(NULL::%s))', model, kind, roles, col, op, typ)]
  FROM (SELECT CASE WHEN permissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind) k
$$;

-- Scope a table by its tenant column: RLS enabled and forced (the owner
-- is bound too), restrictive policies for SELECT, INSERT, UPDATE and
-- DELETE, a permissive one only if the table had none.  Options:
-- {"roles": ["app"]} (default: PUBLIC), {"default": true} (the column
-- defaults to the current tenant).  A partitioned table scopes every
-- partition.  Returns false when the table was already scoped so.
CREATE FUNCTION @extschema@.enable_tenant_scoping(model regclass, tenant_column name DEFAULT 'tenant_id',
                                                  options jsonb DEFAULT '{}')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  r record;
  a record;
  k text;
  role_names name[] := '{public}';
  role_sql text;
  want_default boolean := false;
  had_perm boolean;
  stmt text;
  part regclass;
  scoped_by name;
BEGIN
  IF model IS NULL OR tenant_column IS NULL THEN
    RAISE EXCEPTION 'model and tenant_column must not be null' USING ERRCODE = '22004';
  END IF;
  options := coalesce(options, '{}');
  IF pg_catalog.jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'invalid options: expected a JSON object' USING ERRCODE = '22023';
  END IF;
  FOR k IN SELECT pg_catalog.jsonb_object_keys(options) LOOP
    IF k NOT IN ('roles', 'default', '_parent') THEN
      RAISE EXCEPTION 'unknown option "%"', k USING ERRCODE = '22023', HINT = 'Options are "roles" and "default".';
    END IF;
  END LOOP;
  IF options ? 'roles' THEN
    IF pg_catalog.jsonb_typeof(options->'roles') <> 'array' OR pg_catalog.jsonb_array_length(options->'roles') = 0
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(options->'roles') e WHERE pg_catalog.jsonb_typeof(e) <> 'string') THEN
      RAISE EXCEPTION 'invalid option "roles": expected a non-empty array of role names' USING ERRCODE = '22023';
    END IF;
    SELECT pg_catalog.array_agg(e::name ORDER BY o) INTO role_names FROM pg_catalog.jsonb_array_elements_text(options->'roles') WITH ORDINALITY AS x(e, o);
    PERFORM 1 FROM pg_catalog.unnest(role_names) n WHERE n <> 'public' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = n);
    IF FOUND THEN
      RAISE EXCEPTION 'invalid option "roles": a role does not exist' USING ERRCODE = '42704';
    END IF;
  END IF;
  IF options ? 'default' THEN
    IF pg_catalog.jsonb_typeof(options->'default') <> 'boolean' THEN
      RAISE EXCEPTION 'invalid option "default": expected true or false' USING ERRCODE = '22023';
    END IF;
    want_default := (options->>'default')::boolean;
  END IF;
  SELECT pg_catalog.array_to_string(pg_catalog.array_agg(CASE WHEN n = 'public' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(n) END), ', ')
    INTO role_sql FROM pg_catalog.unnest(role_names) n;

  SELECT c.relkind, c.relrowsecurity, c.relforcerowsecurity INTO r FROM pg_catalog.pg_class c WHERE c.oid = model;
  IF r.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', model USING ERRCODE = '42809',
      HINT = 'Scope the tables under a view; views should use security_invoker.';
  END IF;
  SELECT at.attnum, @extschema@._qualified_type(at.atttypid) AS typ, @extschema@._equality_operator(at.atttypid) AS op,
         c.relpersistence INTO a
  FROM pg_catalog.pg_attribute at JOIN pg_catalog.pg_class c ON c.oid = at.attrelid
  WHERE at.attrelid = model AND at.attname = tenant_column AND at.attnum > 0 AND NOT at.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of "%" does not exist', tenant_column, model USING ERRCODE = '42703',
      HINT = 'Pass the tenant column: qs.enable_tenant_scoping(model, ''org_id'').';
  END IF;
  IF a.relpersistence = 't' THEN
    RAISE EXCEPTION 'temporary table "%" cannot be tenant-scoped', model USING ERRCODE = '0A000',
      DETAIL = 'The scope record is kept by the database and would outlive the table.';
  END IF;
  SELECT s.tenant_column INTO scoped_by FROM @extschema@.tenant_scope s WHERE s.model = enable_tenant_scoping.model;
  IF FOUND THEN
    IF scoped_by = tenant_column THEN
      RETURN false;
    END IF;
    RAISE EXCEPTION '"%" is already tenant-scoped by another column', model USING ERRCODE = '55000',
      HINT = 'Call qs.disable_tenant_scoping() first.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polname LIKE 'qs\_tenant\_%') THEN
    -- the four policies without a record: a table a distributed engine
    -- rebuilt (Citus, docs/scale-out.md) or restored without its record;
    -- adopted when qs_tenant_select compares this column
    -- (_tenant_scope_record checks it), refused otherwise
    IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = model
         AND p.polname IN ('qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete')) <> 4 THEN
      RAISE EXCEPTION '"%" already has qs_tenant_* policies that qs.tenant_scope does not record', model USING ERRCODE = '55000',
        HINT = 'Drop them, then scope the table again.';
    END IF;
    PERFORM @extschema@._tenant_scope_record(model, tenant_column, NULL,
           (SELECT pg_catalog.array_agg(CASE WHEN u.role_oid = 0 THEN 'public'::name
                                             ELSE (SELECT rl.rolname FROM pg_catalog.pg_roles rl WHERE rl.oid = u.role_oid) END ORDER BY u.ord)
              FROM pg_catalog.pg_policy p, pg_catalog.unnest(p.polroles) WITH ORDINALITY u(role_oid, ord)
             WHERE p.polrelid = model AND p.polname = 'qs_tenant_select'),
           (SELECT p.polpermissive FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polname = 'qs_tenant_select'),
           false, NULL, true, true);
    RETURN true;
  END IF;

  had_perm := EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = model AND p.polpermissive);
  -- Citus copies policies to the shards as permissive ones: restrictive
  -- policies would be ORed with the table's own there (docs/scale-out.md)
  IF had_perm AND @extschema@._citus_table(model) THEN
    RAISE EXCEPTION 'cannot tenant-scope Citus table "%": it has permissive policies of its own', model USING ERRCODE = '0A000',
      DETAIL = 'Citus creates every policy on the shards as a permissive one; the tenant policies would be ORed with the table''s own policies there and widen access.',
      HINT = 'Drop the table''s permissive policies (or fold their conditions into the tenant policies'' roles), then scope it.';
  END IF;
  -- the = of the column's type is named with its schema (pg_catalog, or
  -- citext's own): a planted operator earlier in search_path is never used
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', model);
  -- without permissive policies of its own the table gets permissive
  -- tenant policies (they are then the only ones that grant rows, and
  -- they survive Citus's propagation); with some, restrictive ones that
  -- are ANDed with them
  FOREACH stmt IN ARRAY @extschema@._tenant_policy_sql(model, tenant_column, a.typ, role_sql, a.op, NOT had_perm) LOOP
    EXECUTE stmt;
  END LOOP;
  PERFORM @extschema@._tenant_scope_record(model, tenant_column, (options->>'_parent')::regclass, role_names, NOT had_perm, want_default,
         (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = model AND d.adnum = a.attnum),
         r.relrowsecurity, r.relforcerowsecurity);
  IF want_default THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.current_tenant_as(NULL::%s)', model, tenant_column, a.typ);
  END IF;
  -- policies are not inherited: every partition is scoped as well
  FOR part IN SELECT t.relid FROM pg_catalog.pg_partition_tree(model) t WHERE t.parentrelid = model LOOP
    PERFORM @extschema@.enable_tenant_scoping(part, tenant_column,
              (options - 'default') || pg_catalog.jsonb_build_object('_parent', model::text, 'default', want_default));
  END LOOP;
  RETURN true;
END
$$;

-- Undo exactly what enable_tenant_scoping did (partitions included).
-- Returns false when the table was not scoped.
CREATE FUNCTION @extschema@.disable_tenant_scoping(model regclass)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  s record;
  p text;
  child regclass;
BEGIN
  SELECT * INTO s FROM @extschema@.tenant_scope t WHERE t.model = disable_tenant_scoping.model;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  FOR child IN SELECT t.model FROM @extschema@.tenant_scope t WHERE t.parent = disable_tenant_scoping.model LOOP
    PERFORM @extschema@.disable_tenant_scoping(child);
  END LOOP;
  -- the four tenant policies (and 0.1.0's qs_tenant_permit, where one is left)
  FOR p IN SELECT q.polname FROM pg_catalog.pg_policy q
           WHERE q.polrelid = model AND q.polname = ANY (ARRAY['qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete', 'qs_tenant_permit'])
           ORDER BY q.polname LOOP
    EXECUTE pg_catalog.format('DROP POLICY %I ON %s', p, model);
  END LOOP;
  IF s.set_default THEN
    IF s.old_default IS NULL THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', model, s.tenant_column);
    ELSE
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', model, s.tenant_column, s.old_default);
    END IF;
  END IF;
  IF NOT s.had_force THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', model);
  END IF;
  IF NOT s.had_rls THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', model);
  END IF;
  PERFORM @extschema@._tenant_scope_forget(model);
  RETURN true;
END
$$;

-- The scoped tables, with what is in force on each.
CREATE FUNCTION @extschema@.tenant_scoped_models()
RETURNS TABLE (model regclass, tenant_column name, parent regclass, roles name[],
               rls_enabled boolean, rls_forced boolean, policies text[])
LANGUAGE sql STABLE
AS $$
  SELECT s.model, s.tenant_column, s.parent, s.roles, c.relrowsecurity, c.relforcerowsecurity,
         ARRAY(SELECT p.polname::text FROM pg_catalog.pg_policy p
               WHERE p.polrelid = s.model AND p.polname::text LIKE 'qs\_tenant\_%' ORDER BY p.polname)
  FROM @extschema@.tenant_scope s JOIN pg_catalog.pg_class c ON c.oid = s.model
  ORDER BY s.model::text
$$;

-- Findings that weaken tenant isolation, with a severity and a fix.
CREATE FUNCTION @extschema@.tenant_audit()
RETURNS TABLE (severity text, object text, finding text, hint text)
LANGUAGE sql STABLE
AS $$
  WITH scoped AS (
    SELECT s.model, s.tenant_column, a.attnum AS tenant_attnum, a.attnotnull AS tenant_notnull
    FROM @extschema@.tenant_scope s
    JOIN pg_catalog.pg_attribute a ON a.attrelid = s.model AND a.attname = s.tenant_column
  ), cols AS (
    SELECT DISTINCT tenant_column FROM scoped UNION SELECT 'tenant_id'::name
  )
  -- the library must be preloaded for any tenant to exist
  SELECT 'high', 'pg_queryset', 'pg_queryset is not in shared_preload_libraries: no tenant can be set',
         'Add pg_queryset to shared_preload_libraries and restart.'
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'pg_queryset.tenant')
  UNION ALL
  -- the signing secret where every role can read it
  SELECT 'high', 'pg_queryset.tenant_secret',
         'is set by ALTER ROLE/DATABASE ... SET: pg_db_role_setting is readable by every role',
         'Set it in postgresql.conf (or ALTER SYSTEM) and RESET it on the role or database.'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
                WHERE c LIKE 'pg\_queryset.tenant\_secret=%')
  UNION ALL
  -- tables with a tenant column but no scoping
  SELECT 'high', c.oid::regclass::text,
         pg_catalog.format('has a tenant column "%s" but is not tenant-scoped', a.attname),
         pg_catalog.format('SELECT qs.enable_tenant_scoping(%L, %L);', c.oid::regclass::text, a.attname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN cols ON cols.tenant_column = a.attname
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '@extschema@')
    AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM scoped s WHERE s.model = c.oid)
    AND NOT @extschema@._citus_shard(c.oid)
  UNION ALL
  -- a permissive policy of its own next to permissive tenant policies:
  -- the rows it grants are visible to every tenant
  SELECT 'high', pg_catalog.format('%s policy %s', s.model, p.polname),
         'is permissive: it is ORed with the permissive tenant policies, and the rows it grants are visible to every tenant',
         'Make it AS RESTRICTIVE, or drop it; or qs.disable_tenant_scoping(), then qs.enable_tenant_scoping() (restrictive tenant policies next to permissive ones).'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model AND p.polpermissive AND pg_catalog.left(p.polname, 10) <> 'qs_tenant_'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_policy q WHERE q.polrelid = s.model AND q.polname = 'qs_tenant_select' AND q.polpermissive)
  UNION ALL
  -- Citus: the shards' policies (docs/scale-out.md)
  SELECT c.severity, c.object, c.finding, c.hint FROM @extschema@._citus_audit() c
  UNION ALL
  -- scoping switched off behind the extension's back
  SELECT 'high', s.model::text, 'row-level security is ' ||
         CASE WHEN NOT c.relrowsecurity THEN 'disabled' ELSE 'not forced (the owner bypasses it)' END,
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;', s.model)
  FROM scoped s JOIN pg_catalog.pg_class c ON c.oid = s.model
  WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)
  UNION ALL
  SELECT 'high', s.model::text, pg_catalog.format('policy %s is missing', p), 'SELECT qs.disable_tenant_scoping(...), then qs.enable_tenant_scoping(...) again.'
  FROM scoped s, pg_catalog.unnest(ARRAY['qs_tenant_select', 'qs_tenant_insert', 'qs_tenant_update', 'qs_tenant_delete']) p
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy q WHERE q.polrelid = s.model AND q.polname = p)
  UNION ALL
  -- partitions (new ones included) are not covered by their parent's policies
  SELECT 'high', t.relid::text, pg_catalog.format('is a partition of tenant-scoped %s but is not scoped itself (reachable directly)', s.model),
         pg_catalog.format('SELECT qs.enable_tenant_scoping(%L, %L);', t.relid::text, s.tenant_column)
  FROM scoped s, pg_catalog.pg_partition_tree(s.model) t
  WHERE t.relid <> s.model AND NOT EXISTS (SELECT 1 FROM scoped x WHERE x.model = t.relid)
  UNION ALL
  -- foreign keys between scoped tables that leave the tenant column out
  SELECT 'high', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         pg_catalog.format('references tenant-scoped %s without the tenant column: a row can point at another tenant''s row', con.confrelid::regclass),
         pg_catalog.format('Make the key (%s, ...) and reference a unique (%s, ...) key.', sc.tenant_column, st.tenant_column)
  FROM pg_catalog.pg_constraint con
  JOIN scoped sc ON sc.model = con.conrelid
  JOIN scoped st ON st.model = con.confrelid
  WHERE con.contype = 'f'
    AND NOT (sc.tenant_attnum = ANY (con.conkey) AND st.tenant_attnum = ANY (con.confkey))
  UNION ALL
  -- unique keys without the tenant column reveal other tenants' values
  SELECT 'medium', pg_catalog.format('%s.%s', i.indrelid::regclass, ic.relname),
         'unique index without the tenant column: a failing insert reveals that another tenant has the value (existence oracle)',
         pg_catalog.format('Include %I in the key, unless the value is not secret (a generated id).', s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_index i ON i.indrelid = s.model AND i.indisunique
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  -- key columns only: INCLUDE columns are in indkey too, but uniqueness is not on them
  WHERE NOT (s.tenant_attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))
  UNION ALL
  -- exclusion constraints without "tenant_column WITH =": a conflict
  -- (23P01) reveals another tenant's row, e.g. a booked interval
  SELECT 'medium', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         'exclusion constraint without the tenant column compared by =: a failing insert reveals another tenant''s row (existence oracle)',
         pg_catalog.format('Add %I WITH = to the constraint: EXCLUDE USING gist (%I WITH =, ...) (btree_gist).', s.tenant_column, s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_constraint con ON con.conrelid = s.model AND con.contype = 'x'
  JOIN pg_catalog.pg_index i ON i.indexrelid = con.conindid
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.generate_series(1, i.indnkeyatts) k
                    JOIN pg_catalog.pg_operator o ON o.oid = con.conexclop[k]
                    WHERE i.indkey[k - 1] = s.tenant_attnum AND o.oprname = '=')
  UNION ALL
  -- foreign keys from tables that are not scoped into scoped ones: the
  -- key check ignores row-level security, so inserting a reference
  -- reveals whether another tenant's key exists
  SELECT 'medium', pg_catalog.format('%s.%s', con.conrelid::regclass, con.conname),
         pg_catalog.format('references tenant-scoped %s from a table that is not scoped: the key check ignores row-level security and reveals other tenants'' keys (existence oracle)', con.confrelid::regclass),
         pg_catalog.format('Scope %s too, or reference (%s, ...) with the referencing row''s tenant.', con.conrelid::regclass, st.tenant_column)
  FROM pg_catalog.pg_constraint con
  JOIN scoped st ON st.model = con.confrelid
  WHERE con.contype = 'f' AND NOT EXISTS (SELECT 1 FROM scoped x WHERE x.model = con.conrelid)
  UNION ALL
  -- indexes that do not lead with the tenant column: EXPLAIN ANALYZE run
  -- by the application role counts the rows the policies removed
  SELECT 'low', pg_catalog.format('%s.%s', i.indrelid::regclass, ic.relname),
         pg_catalog.format('index does not start with tenant column %I: EXPLAIN ANALYZE by the application role counts rows the policies remove (Rows Removed by Filter), revealing other tenants'' values', s.tenant_column),
         pg_catalog.format('Lead the index with the tenant column: (%I, ...). qs.explain refuses analyze under row-level security; hand-written EXPLAIN ANALYZE cannot be revoked.', s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_index i ON i.indrelid = s.model
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indkey[0] <> s.tenant_attnum
  UNION ALL
  -- policies on scoped tables that call operators or functions outside
  -- pg_catalog and the extension: whoever may create objects in that
  -- schema decides what the policy does
  SELECT CASE WHEN pg_catalog.has_schema_privilege('public', obj.nsp, 'CREATE') THEN 'high' ELSE 'medium' END,
         pg_catalog.format('%s policy %s', s.model, p.polname),
         pg_catalog.format('uses %s %s from schema %I, outside pg_catalog and the extension', obj.kind, obj.name, obj.nspname),
         'Recreate the policy naming its operators and functions with their schema (OPERATOR(pg_catalog.=)); for the qs_tenant_* policies: qs.disable_tenant_scoping(), then qs.enable_tenant_scoping().'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = p.oid
  JOIN LATERAL (
    SELECT 'operator'::text AS kind, o.oid::pg_catalog.regoperator::text AS name, o.oprnamespace AS nsp, n.nspname
    FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
    WHERE d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid
    UNION ALL
    SELECT 'function', f.oid::pg_catalog.regprocedure::text, f.pronamespace, n.nspname
    FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
    WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND f.oid = d.refobjid
  ) obj ON true
  WHERE obj.nspname <> 'pg_catalog' AND obj.nsp <> '@extschema@'::regnamespace
  UNION ALL
  -- settings that write bind parameters -- tenant tokens -- into the log
  SELECT 'medium', 'server log',
         pg_catalog.format('%s and log_parameter_max_length = %s: bind parameters, tenant tokens among them, are written to the server log',
                           CASE WHEN pg_catalog.current_setting('log_statement') = 'all' THEN 'log_statement = all'
                                ELSE 'log_min_duration_statement = ' || pg_catalog.current_setting('log_min_duration_statement') END,
                           pg_catalog.current_setting('log_parameter_max_length')),
         'SET log_parameter_max_length = 0 (ALTER SYSTEM), or keep the log readable by administrators only.'
  WHERE pg_catalog.current_setting('log_parameter_max_length') <> '0'
    AND (pg_catalog.current_setting('log_statement') = 'all'
         OR pg_catalog.current_setting('log_min_duration_statement') <> '-1')
  UNION ALL
  SELECT 'medium', 'server log',
         pg_catalog.format('log_parameter_max_length_on_error = %s: the bind parameters of failing statements, tenant tokens among them, are written to the server log',
                           pg_catalog.current_setting('log_parameter_max_length_on_error')),
         'SET log_parameter_max_length_on_error = 0 (ALTER SYSTEM).'
  WHERE pg_catalog.current_setting('log_parameter_max_length_on_error') <> '0'
  UNION ALL
  -- tokens that never expire, or live long
  SELECT 'low', 'pg_queryset.tenant_token_max_age', 'is 0: tokens of any lifetime, or without exp, are accepted; a stolen token works until it expires',
         'ALTER SYSTEM SET pg_queryset.tenant_token_max_age = ''1h'';'
  WHERE pg_catalog.current_setting('pg_queryset.tenant_token_max_age', true) = '0'
  UNION ALL
  -- a setting that accepts tokens in statement text
  SELECT 'high', 'pg_queryset.allow_literal_token', 'is on: tokens written into statements are accepted and readable by other sessions of the role (pg_stat_activity, pg_stat_statements)',
         'ALTER SYSTEM RESET pg_queryset.allow_literal_token; send tokens as bind parameters.'
  WHERE pg_catalog.current_setting('pg_queryset.allow_literal_token', true) = 'on'
  UNION ALL
  -- a token stored in the catalogs, readable by every role
  SELECT 'high', 'pg_queryset.tenant_token', 'is set by ALTER ROLE/DATABASE ... SET: pg_db_role_setting is readable by every role',
         'RESET it on the role or database; send tokens per transaction as bind parameters.'
  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
                WHERE c LIKE 'pg\_queryset.tenant\_token=%')
  UNION ALL
  -- roles that bypass row-level security
  SELECT 'medium', r.rolname::text,
         CASE WHEN r.rolsuper THEN 'superuser that can log in: bypasses every policy'
              ELSE 'has BYPASSRLS and can log in: bypasses every policy' END,
         'Do not let the application connect as this role.'
  FROM pg_catalog.pg_roles r
  WHERE (r.rolsuper OR r.rolbypassrls) AND r.rolcanlogin
  UNION ALL
  -- functions in policies of scoped tables that are not leakproof
  SELECT 'low', pg_catalog.format('%s policy %s', s.model, p.polname),
         pg_catalog.format('calls %s, which is not leakproof', pr.oid::regprocedure),
         'Policy functions see every row before the policy filters it; use leakproof functions.'
  FROM scoped s JOIN pg_catalog.pg_policy p ON p.polrelid = s.model
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_proc'::regclass
  JOIN pg_catalog.pg_proc pr ON pr.oid = d.refobjid
  WHERE NOT pr.proleakproof AND pr.pronamespace <> '@extschema@'::regnamespace
  UNION ALL
  -- views over scoped tables that run as their owner
  SELECT 'medium', v.oid::regclass::text,
         pg_catalog.format('view over tenant-scoped %s without security_invoker: it reads as its owner', s.model),
         pg_catalog.format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
  FROM scoped s
  JOIN pg_catalog.pg_depend d ON d.refobjid = s.model AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
  JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class AND v.relkind IN ('v', 'm') AND v.oid <> s.model
  WHERE NOT coalesce('security_invoker=true' = ANY (v.reloptions) OR 'security_invoker=on' = ANY (v.reloptions), false)
  GROUP BY v.oid, s.model
  UNION ALL
  -- a nullable tenant column: rows without a tenant are nobody's
  SELECT 'low', s.model::text, pg_catalog.format('tenant column %I allows NULL: such rows are visible to no tenant', s.tenant_column),
         pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL;', s.model, s.tenant_column)
  FROM scoped s
  WHERE NOT s.tenant_notnull
  UNION ALL
  -- no index leading with the tenant column: every scoped query scans
  SELECT 'low', s.model::text, pg_catalog.format('no index starts with tenant column %I', s.tenant_column),
         pg_catalog.format('CREATE INDEX ON %s (%I, ...);', s.model, s.tenant_column)
  FROM scoped s JOIN pg_catalog.pg_class c ON c.oid = s.model AND c.relkind = 'r'
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = s.model AND i.indkey[0] = s.tenant_attnum)
  ORDER BY 1, 2, 3
$$;

-- A queryset restricted to one tenant, for roles that may choose (admin
-- tools running as a role that bypasses RLS); row-level security still
-- binds everyone else.
CREATE FUNCTION @extschema@.for_tenant(q jsonb, tenant text)
RETURNS @extschema@.queryset
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  col name;
BEGIN
  IF q IS NULL OR tenant IS NULL THEN
    RAISE EXCEPTION 'queryset and tenant must not be null' USING ERRCODE = '22004';
  END IF;
  IF pg_catalog.jsonb_typeof(q) <> 'object' OR NOT q ? 'model' THEN
    RAISE EXCEPTION 'invalid queryset: expected an object with "model"' USING ERRCODE = '22023';
  END IF;
  SELECT s.tenant_column INTO col FROM @extschema@.tenant_scope s WHERE s.model = (q->>'model')::regclass;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'model "%" is not tenant-scoped', q->>'model' USING ERRCODE = '55000',
      HINT = 'qs.enable_tenant_scoping() scopes it.';
  END IF;
  -- the filter names the tenant; the current-tenant predicate is left out
  RETURN @extschema@.filter(q || '{"tenant_predicate": false}', pg_catalog.jsonb_build_object(col, tenant));
END
$$;
