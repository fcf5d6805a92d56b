-- Security (DESIGN.md sections 4 and 8, docs/security.md): every function
-- is SECURITY INVOKER, so a queryset reads only what the caller could read
-- by hand (table, column and row privileges); hostile names and values
-- never become SQL; and no function, operator or type name of the
-- generated SQL can be captured through search_path.
BEGIN;
SELECT plan(120);

-- Run stmt, optionally as a role and/or with a search_path, and return its
-- first value as text, or 'ERROR <sqlstate>: <message>'.  Assertions run
-- afterwards, as the test's own role and with the normal search_path.
CREATE FUNCTION pg_temp.run(stmt pg_catalog.text, as_role pg_catalog.name DEFAULT NULL,
                            path pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text LANGUAGE plpgsql AS $$
DECLARE
  res pg_catalog.text;
  st pg_catalog.text;
  msg pg_catalog.text;
  old_path pg_catalog.text := pg_catalog.current_setting('search_path');
BEGIN
  IF as_role IS NOT NULL THEN
    EXECUTE pg_catalog.format('SET LOCAL ROLE %I', as_role);
  END IF;
  IF path IS NOT NULL THEN
    PERFORM pg_catalog.set_config('search_path', path, true);
  END IF;
  BEGIN
    EXECUTE stmt INTO res;
  EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    res := pg_catalog.concat('ERROR ', st, ': ', msg);
  END;
  PERFORM pg_catalog.set_config('search_path', old_path, true);
  IF as_role IS NOT NULL THEN
    RESET ROLE;
  END IF;
  RETURN res;
END $$;

-- ---------------------------------------------------------------------
-- SECURITY INVOKER everywhere; the schema is the switch
-- ---------------------------------------------------------------------
SELECT cmp_ok((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'qs'), '>=', 25::bigint, 'the qs functions are there');
-- the one exception: the sql_drop event trigger's function, which
-- forgets the scope records of dropped tables (owner-written); it is no
-- callable function (event_trigger), has a fixed search_path and no
-- EXECUTE for PUBLIC
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'qs' AND p.prosecdef), ARRAY['qs._tenant_scope_dropped()'],
  'no function in schema qs is SECURITY DEFINER but the event trigger''s');
SELECT is((SELECT array_agg(p.oid::regprocedure::text || ' ' || p.proconfig::text) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'qs' AND p.proconfig IS NOT NULL), ARRAY['qs._tenant_scope_dropped() {"search_path=pg_catalog, pg_temp"}'],
  'no function in schema qs changes settings (SET clauses) behind the caller''s back, but the event trigger''s search_path');
SELECT is((SELECT prorettype::regtype::text || '/' || has_function_privilege('public', oid, 'EXECUTE')
             FROM pg_proc WHERE oid = 'qs._tenant_scope_dropped()'::regprocedure), 'event_trigger/false',
  'the SECURITY DEFINER function is an event trigger PUBLIC may not execute');

CREATE ROLE regress_qs_sec_outsider;
SELECT is(pg_temp.run($$ SELECT qs.count('{"model": "catalog_tag"}') $$, 'regress_qs_sec_outsider'),
  'ERROR 42501: permission denied for schema qs', 'a role without USAGE on schema qs cannot use it');

-- ---------------------------------------------------------------------
-- A role without SELECT on the table: 42501 from every terminal, no data
-- ---------------------------------------------------------------------
CREATE ROLE regress_qs_sec_nobody;
GRANT USAGE ON SCHEMA qs TO regress_qs_sec_nobody;

SELECT is(pg_temp.run($$ SELECT count(*) FROM qs.rows(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: rows');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.filter(qs.all('catalog_product'), '{"id": 1}')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: json');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: count');
SELECT is(pg_temp.run($$ SELECT qs.exists(qs.filter(qs.all('catalog_product'), '{"id": 1}')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: exists');
SELECT is(pg_temp.run($$ SELECT qs.get(qs.all('catalog_product'), '{"id": 1}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: get');
SELECT is(pg_temp.run($$ SELECT qs.get(qs.all('catalog_product'), '{"id": -1}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: get cannot tell DoesNotExist (no existence oracle)');
SELECT is(pg_temp.run($$ SELECT qs.first(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: first');
SELECT is(pg_temp.run($$ SELECT qs.last(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: last');
SELECT is(pg_temp.run($$ SELECT qs.earliest(qs.all('catalog_product'), 'created_at') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: earliest');
SELECT is(pg_temp.run($$ SELECT qs.latest(qs.all('catalog_product'), 'created_at') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: latest');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.all('catalog_product'), '[1, 2]') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: in_bulk with ids');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: in_bulk of every row');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.all('catalog_product'), '[]') $$, 'regress_qs_sec_nobody'),
  '{}', 'no SELECT: in_bulk of no ids answers {} without a query (as Django), no data');
SELECT is(pg_temp.run($$ SELECT count(*) FROM qs.fetch(qs.all('catalog_product'), NULL::catalog_product) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: fetch');
SELECT is(pg_temp.run($$ SELECT qs.cursor(qs.all('catalog_product'), 'regress_qs_sec_cur') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: cursor (refused when opened)');
SELECT is(pg_temp.run($$ SELECT qs.explain(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: explain');
SELECT is(pg_temp.run($$ SELECT qs.explain(qs.all('catalog_product'), true) $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table catalog_product', 'no SELECT: explain analyze');
-- builders, sql and params read no table: they work and return no data
SELECT is(pg_temp.run($$ SELECT qs.filter(qs.all('catalog_product'), '{"id": 1}') $$, 'regress_qs_sec_nobody'),
  '{"model": "catalog_product", "where": {"id": 1}}', 'no SELECT: builders work (they read no table)');
SELECT is(pg_temp.run($$ SELECT qs.params(qs.filter(qs.all('catalog_product'), '{"name": "x", "stock__gt": 3}')) $$, 'regress_qs_sec_nobody'),
  '["x", 3]', 'no SELECT: params returns only the caller''s own values');
SELECT matches(pg_temp.run($$ SELECT qs.sql(qs.all('catalog_product')) $$, 'regress_qs_sec_nobody'),
  '^SELECT .* FROM public\.catalog_product t0$', 'no SELECT: sql returns the statement, no data');
-- a system catalog: permission denied, never the rows
SELECT is(pg_temp.run($$ SELECT qs.json('{"model": "pg_catalog.pg_authid", "values": ["rolname", "rolpassword"]}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table pg_authid', 'no SELECT: pg_authid as a model');
SELECT is(pg_temp.run($$ SELECT qs.count('{"model": "pg_authid", "where": {"rolpassword__startswith": "SCRAM"}}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for table pg_authid', 'no SELECT: no oracle on pg_authid either');

-- a schema without USAGE: the model is not even resolved
CREATE SCHEMA regress_qs_sec_private;
CREATE TABLE regress_qs_sec_private.secret (id int PRIMARY KEY, body text);
INSERT INTO regress_qs_sec_private.secret VALUES (1, 'classified');
GRANT SELECT ON regress_qs_sec_private.secret TO regress_qs_sec_nobody;
SELECT is(pg_temp.run($$ SELECT qs.json('{"model": "regress_qs_sec_private.secret"}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for schema regress_qs_sec_private', 'no USAGE on the schema: 42501');
SELECT is(pg_temp.run($$ SELECT qs.sql('{"model": "regress_qs_sec_private.secret"}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42501: permission denied for schema regress_qs_sec_private', 'no USAGE on the schema: not even sql()');
SELECT is(pg_temp.run($$ SELECT qs.json('{"model": "secret"}') $$, 'regress_qs_sec_nobody'),
  'ERROR 42P01: model "secret" does not exist', 'an unqualified name does not find it either');

-- ---------------------------------------------------------------------
-- Column privileges
-- ---------------------------------------------------------------------
CREATE ROLE regress_qs_sec_cols;
GRANT USAGE ON SCHEMA qs TO regress_qs_sec_cols;
GRANT SELECT (id, name) ON catalog_product TO regress_qs_sec_cols;

SELECT is(pg_temp.run($$ SELECT jsonb_agg(r)::text FROM qs.rows(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name')) r $$, 'regress_qs_sec_cols'),
  '[{"id": 13, "name": "100% Cotton Tee"}]', 'granted columns: rows with only(name)');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.values(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21]}'), 'id', 'name'))::text $$, 'regress_qs_sec_cols'),
  (SELECT json_agg(json_build_object('id', id, 'name', name))::text FROM (SELECT id, name FROM catalog_product WHERE id IN (13, 21)) p),
  'granted columns: json of values(id, name)');
SELECT is(pg_temp.run($$ SELECT string_agg(id || ':' || name, ',') FROM qs.fetch(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name'), NULL::catalog_product) $$, 'regress_qs_sec_cols'),
  '13:100% Cotton Tee', 'granted columns: fetch with only(name)');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.only(qs.all('catalog_product'), 'name'), '[21]') $$, 'regress_qs_sec_cols'),
  '{"21": {"id": 21, "name": "USB_C Cable"}}', 'granted columns: in_bulk with only(name)');
SELECT is(pg_temp.run($$ SELECT qs.first(qs.only(qs.all('catalog_product'), 'name'))->>'id' $$, 'regress_qs_sec_cols'),
  '1', 'granted columns: first() orders by the granted pk');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"name__icontains": "cable"}')) $$, 'regress_qs_sec_cols'),
  (SELECT count(*)::text FROM catalog_product WHERE name ILIKE '%cable%'), 'granted columns: count filtered on a granted column');
SELECT is(pg_temp.run($$ SELECT count(*) FROM qs.rows(qs.filter(qs.all('catalog_product'), '{"id": 13}')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: the default selection (every column) fails');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.only(qs.all('catalog_product'), 'price')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: only(a hidden column) fails');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"price__gt": 100}')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: filter on a hidden column fails (no oracle)');
SELECT is(pg_temp.run($$ SELECT qs.exists(qs.exclude(qs.all('catalog_product'), '{"metadata__has_key": "sku"}')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: exclude on a hidden column fails');
SELECT is(pg_temp.run($$ SELECT qs.first(qs.order_by(qs.only(qs.all('catalog_product'), 'name'), '-price')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: ordering by a hidden column fails');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.only(qs.all('catalog_product'), 'name'), '["x"]', 'slug') $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: in_bulk keyed by a hidden column fails');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.distinct(qs.all('catalog_product'), 'status')) $$, 'regress_qs_sec_cols'),
  'ERROR 42501: permission denied for table catalog_product', 'granted columns: distinct on a hidden column fails');

-- ---------------------------------------------------------------------
-- Row-level security, and the plan cache across SET ROLE
-- ---------------------------------------------------------------------
CREATE TABLE regress_qs_sec_note (id int PRIMARY KEY, owner name NOT NULL, body text NOT NULL);
INSERT INTO regress_qs_sec_note VALUES (1, 'regress_qs_sec_nobody', 'mine'), (2, 'postgres', 'not yours');
ALTER TABLE regress_qs_sec_note ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON regress_qs_sec_note USING (owner = current_user);
GRANT SELECT ON regress_qs_sec_note TO regress_qs_sec_nobody;
SELECT is(qs.count(qs.all('regress_qs_sec_note')), 2::bigint, 'RLS: the owner sees both rows (plan now cached)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.all('regress_qs_sec_note')) $$, 'regress_qs_sec_nobody'),
  '1', 'RLS: the same queryset as another role sees its row only');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.order_by(qs.all('regress_qs_sec_note'), 'id'))::text $$, 'regress_qs_sec_nobody'),
  '[{"id" : 1, "owner" : "regress_qs_sec_nobody", "body" : "mine"}]', 'RLS: json shows its row only');
SELECT is(pg_temp.run($$ SELECT qs.get(qs.all('regress_qs_sec_note'), '{"id": 2}') $$, 'regress_qs_sec_nobody'),
  'ERROR P0002: regress_qs_sec_note matching query does not exist', 'RLS: another row does not exist for get()');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('regress_qs_sec_note'), '{"body__startswith": "not"}')) $$, 'regress_qs_sec_nobody'),
  '0', 'RLS: a filter is no oracle on hidden rows');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.all('regress_qs_sec_note'), '[1, 2]') $$, 'regress_qs_sec_nobody'),
  '{"1": {"id": 1, "body": "mine", "owner": "regress_qs_sec_nobody"}}', 'RLS: in_bulk returns visible rows only');
SELECT is(qs.count(qs.all('regress_qs_sec_note')), 2::bigint, 'RLS: back as the owner, both rows again');

-- ---------------------------------------------------------------------
-- Names with SQL in them are identifiers, never SQL
-- ---------------------------------------------------------------------
CREATE TABLE regress_qs_sec_victim (id int PRIMARY KEY);
CREATE TABLE "x; DROP TABLE regress_qs_sec_victim" (id int PRIMARY KEY, "v""; DROP TABLE regress_qs_sec_victim; --" text);
INSERT INTO "x; DROP TABLE regress_qs_sec_victim" VALUES (1, 'one'), (2, 'two');
SELECT is(qs.json(qs.order_by(qs.all('"x; DROP TABLE regress_qs_sec_victim"'), 'id'))::text,
  '[{"id" : 1, "v\"; DROP TABLE regress_qs_sec_victim; --" : "one"}, {"id" : 2, "v\"; DROP TABLE regress_qs_sec_victim; --" : "two"}]',
  'a table whose name contains SQL is a model like any other');
SELECT is(qs.count(qs.filter(qs.all('"x; DROP TABLE regress_qs_sec_victim"'),
          '{"v\"; DROP TABLE regress_qs_sec_victim; --__startswith": "t"}')), 1::bigint,
  'so is a column whose name contains SQL');
SELECT is(qs.count('{"model": "public.\"x; DROP TABLE regress_qs_sec_victim\""}'), 2::bigint,
  'schema-qualified quoted name in a raw spec');
SELECT matches(qs.sql(qs.filter(qs.all('"x; DROP TABLE regress_qs_sec_victim"'), '{"v\"; DROP TABLE regress_qs_sec_victim; --": "x"}')),
  '^SELECT pg_catalog\.jsonb_build_object\(''id'', t0\.id, ''v"; DROP TABLE regress_qs_sec_victim; --'', t0\."v""; DROP TABLE regress_qs_sec_victim; --"\) AS "row" '
  'FROM public\."x; DROP TABLE regress_qs_sec_victim" t0 WHERE \(t0\."v""; DROP TABLE regress_qs_sec_victim; --" \S+ \$1\)$',
  'identifiers are quoted, result keys are literals, the value is a parameter');
SELECT is((SELECT count(*) FROM qs.fetch(qs.all('"x; DROP TABLE regress_qs_sec_victim"'), NULL::"x; DROP TABLE regress_qs_sec_victim")),
  2::bigint, 'fetch into the hostile row type');
SELECT has_table('public'::name, 'regress_qs_sec_victim'::name, 'the victim table survived');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"name": "x''; DROP TABLE catalog_product; --"}')), 0::bigint,
  'a value with SQL in it is plain data');
SELECT is(qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__x'') OR true OR (''": 1}')), 0::bigint,
  'a jsonb key with SQL in it is a quoted literal');
SELECT has_table('public'::name, 'catalog_product'::name, 'catalog_product survived');

-- ---------------------------------------------------------------------
-- search_path: functions in the generated SQL are schema-qualified
-- Every trap below is an overload that WOULD win over pg_catalog for an
-- unqualified call (an exact type match, or the same signature earlier on
-- search_path); each raises 'captured: <name>'.
-- ---------------------------------------------------------------------
CREATE SCHEMA regress_qs_evil;
CREATE FUNCTION regress_qs_evil.jsonb_build_object(text, bigint, text, varchar, text, varchar) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: jsonb_build_object'; END $$;
CREATE FUNCTION regress_qs_evil.json_build_object(text, bigint, text, varchar, text, varchar) RETURNS json
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: json_build_object'; END $$;
CREATE FUNCTION regress_qs_evil.jsonb_build_array(bigint, varchar) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: jsonb_build_array'; END $$;
CREATE FUNCTION regress_qs_evil.json_build_array(bigint, varchar) RETURNS json
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: json_build_array'; END $$;
CREATE FUNCTION regress_qs_evil.jsonb_build_array(varchar, integer) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: jsonb_build_array (params)'; END $$;
CREATE FUNCTION regress_qs_evil.to_jsonb(varchar) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: to_jsonb'; END $$;
CREATE FUNCTION regress_qs_evil.to_json(varchar) RETURNS json
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: to_json'; END $$;
CREATE FUNCTION regress_qs_evil.upper(varchar) RETURNS text
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: upper'; END $$;
CREATE FUNCTION regress_qs_evil.make_date(integer, integer, integer) RETURNS date
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: make_date'; END $$;
CREATE FUNCTION regress_qs_evil.replace(text, text, text) RETURNS text
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: replace'; END $$;
CREATE FUNCTION regress_qs_evil.to_tsvector(varchar) RETURNS tsvector
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: to_tsvector'; END $$;
CREATE FUNCTION regress_qs_evil.plainto_tsquery(text) RETURNS tsquery
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: plainto_tsquery'; END $$;
CREATE FUNCTION regress_qs_evil.cardinality(text[]) RETURNS integer
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: cardinality'; END $$;
CREATE FUNCTION regress_qs_evil.floor(numeric) RETURNS numeric
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: floor'; END $$;
CREATE FUNCTION regress_qs_evil.extract(text, timestamptz) RETURNS numeric
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: extract'; END $$;
CREATE FUNCTION regress_qs_evil.random() RETURNS double precision
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: random'; END $$;
CREATE FUNCTION regress_qs_evil.count_sf(bigint) RETURNS bigint
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: count'; END $$;
CREATE AGGREGATE regress_qs_evil.count(*) (SFUNC = regress_qs_evil.count_sf, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION regress_qs_evil.json_agg_sf(json, json) RETURNS json
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: json_agg'; END $$;
CREATE AGGREGATE regress_qs_evil.json_agg(json) (SFUNC = regress_qs_evil.json_agg_sf, STYPE = json);
CREATE FUNCTION regress_qs_evil.jsonb_object_agg_sf(jsonb, bigint, jsonb) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: jsonb_object_agg'; END $$;
CREATE AGGREGATE regress_qs_evil.jsonb_object_agg(bigint, jsonb) (SFUNC = regress_qs_evil.jsonb_object_agg_sf, STYPE = jsonb);

-- the traps are armed: hand-written unqualified calls are captured
\set evil_path 'regress_qs_evil, pg_catalog, public'
SELECT is(pg_temp.run($$ SELECT jsonb_build_object('id', id, 'name', name, 'slug', slug) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: jsonb_build_object', 'armed: jsonb_build_object');
SELECT is(pg_temp.run($$ SELECT json_build_object('id', id, 'name', name, 'slug', slug) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: json_build_object', 'armed: json_build_object');
SELECT is(pg_temp.run($$ SELECT jsonb_build_array(id, name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: jsonb_build_array', 'armed: jsonb_build_array');
SELECT is(pg_temp.run($$ SELECT json_build_array(id, name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: json_build_array', 'armed: json_build_array');
SELECT is(pg_temp.run($$ SELECT jsonb_build_array('x'::varchar, 3) $$, NULL, :'evil_path'),
  'ERROR P0001: captured: jsonb_build_array (params)', 'armed: jsonb_build_array (params'' types)');
SELECT is(pg_temp.run($$ SELECT to_jsonb(name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: to_jsonb', 'armed: to_jsonb');
SELECT is(pg_temp.run($$ SELECT to_json(name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: to_json', 'armed: to_json');
SELECT is(pg_temp.run($$ SELECT upper(name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: upper', 'armed: upper');
SELECT is(pg_temp.run($$ SELECT make_date(2024, 1, 1) $$, NULL, :'evil_path'),
  'ERROR P0001: captured: make_date', 'armed: make_date');
SELECT is(pg_temp.run($$ SELECT replace('a', 'b', 'c') $$, NULL, :'evil_path'),
  'ERROR P0001: captured: replace', 'armed: replace');
SELECT is(pg_temp.run($$ SELECT to_tsvector(name) FROM catalog_tag LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: to_tsvector', 'armed: to_tsvector');
SELECT is(pg_temp.run($$ SELECT plainto_tsquery('a'::text) $$, NULL, :'evil_path'),
  'ERROR P0001: captured: plainto_tsquery', 'armed: plainto_tsquery');
SELECT is(pg_temp.run($$ SELECT cardinality(keywords) FROM catalog_product LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: cardinality', 'armed: cardinality');
SELECT is(pg_temp.run($$ SELECT floor(1.5::numeric) $$, NULL, :'evil_path'),
  'ERROR P0001: captured: floor', 'armed: floor');
SELECT is(pg_temp.run($$ SELECT "extract"('month', created_at) FROM catalog_product LIMIT 1 $$, NULL, :'evil_path'),
  'ERROR P0001: captured: extract', 'armed: extract (called as a function)');
SELECT is(pg_temp.run($$ SELECT random() $$, NULL, :'evil_path'),
  'ERROR P0001: captured: random', 'armed: random');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_tag $$, NULL, :'evil_path'),
  'ERROR P0001: captured: count', 'armed: count(*)');
SELECT is(pg_temp.run($$ SELECT json_agg(x) FROM (SELECT '{}'::json) t(x) $$, NULL, :'evil_path'),
  'ERROR P0001: captured: json_agg', 'armed: json_agg');
SELECT is(pg_temp.run($$ SELECT jsonb_object_agg(id, '{}'::jsonb) FROM catalog_tag $$, NULL, :'evil_path'),
  'ERROR P0001: captured: jsonb_object_agg', 'armed: jsonb_object_agg');

-- the generated SQL is not captured
SELECT is(pg_temp.run($$ SELECT r::text FROM qs.rows(qs.filter(qs.all('catalog_tag'), '{"id": 1}')) r $$, NULL, :'evil_path'),
  '{"id": 1, "name": "sale", "slug": "sale"}', 'search_path: rows (jsonb_build_object)');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.filter(qs.all('catalog_tag'), '{"id": 1}'))::text $$, NULL, :'evil_path'),
  '[{"id" : 1, "name" : "sale", "slug" : "sale"}]', 'search_path: json (json_build_object, json_agg)');
SELECT is(pg_temp.run($$ SELECT r::text FROM qs.rows(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), '{id,name}')) r $$, NULL, :'evil_path'),
  '[1, "sale"]', 'search_path: values_list rows (jsonb_build_array)');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), '{id,name}'))::text $$, NULL, :'evil_path'),
  '[[1, "sale"]]', 'search_path: values_list json (json_build_array)');
SELECT is(pg_temp.run($$ SELECT r::text FROM qs.rows(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), '{name}', flat => true)) r $$, NULL, :'evil_path'),
  '"sale"', 'search_path: flat rows (to_jsonb)');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.values_list(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), '{name}', flat => true))::text $$, NULL, :'evil_path'),
  '["sale"]', 'search_path: flat json (to_json)');
SELECT is(pg_temp.run($$ SELECT qs.params(qs.filter(qs.all('catalog_product'), '{"name": "x", "stock": 3}')) $$, NULL, :'evil_path'),
  '["x", 3]', 'search_path: params (jsonb_build_array)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.all('catalog_tag')) $$, NULL, :'evil_path'),
  '30', 'search_path: count(*)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_tag'), '{"name__iexact": "SALE"}')) $$, NULL, :'evil_path'),
  '1', 'search_path: iexact (upper)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"created_at__year__gte": 2025}')) $$, NULL, :'evil_path'),
  (SELECT count(*)::text FROM catalog_product WHERE created_at >= make_date(2025, 1, 1)), 'search_path: year lookup (make_date)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"description__contains": {"F": "name"}}')) $$, NULL, :'evil_path'),
  (SELECT count(*)::text FROM catalog_product WHERE strpos(description, name) > 0), 'search_path: contains F() (replace)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"name__search": "cable"}')) $$, NULL, :'evil_path'),
  (SELECT count(*)::text FROM catalog_product WHERE to_tsvector(name) @@ plainto_tsquery('cable')), 'search_path: search (to_tsvector, plainto_tsquery)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"keywords__len__gte": 3}')) $$, NULL, :'evil_path'),
  (SELECT count(*)::text FROM catalog_product WHERE cardinality(keywords) >= 3), 'search_path: len (cardinality)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"created_at__second__lt": 30, "created_at__month": 3}')) $$, NULL, :'evil_path'),
  (SELECT count(*)::text FROM catalog_product WHERE floor(extract(second FROM created_at)) < 30 AND extract(month FROM created_at) = 3),
  'search_path: second and month (floor, EXTRACT)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.slice(qs.order_by(qs.all('catalog_tag'), '?'), 0, 5)) $$, NULL, :'evil_path'),
  '5', 'search_path: random ordering (random)');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'slug'), '[1]') $$, NULL, :'evil_path'),
  '{"1": {"id": 1, "slug": "sale"}}', 'search_path: in_bulk (jsonb_object_agg)');

-- ---------------------------------------------------------------------
-- search_path: operators and type names are qualified too
-- ---------------------------------------------------------------------
CREATE SCHEMA regress_qs_evil_ops;
CREATE FUNCTION regress_qs_evil_ops.trap(pg_catalog.text) RETURNS boolean
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: operator %', $1; END $$;
CREATE FUNCTION regress_qs_evil_ops.vc_eq(varchar, varchar) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('=') $$;
CREATE OPERATOR regress_qs_evil_ops.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = regress_qs_evil_ops.vc_eq);
CREATE FUNCTION regress_qs_evil_ops.int8_eq(bigint, bigint) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('= (bigint)') $$;
CREATE OPERATOR regress_qs_evil_ops.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_qs_evil_ops.int8_eq);
CREATE FUNCTION regress_qs_evil_ops.num_lt(numeric, numeric) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('<') $$;
CREATE OPERATOR regress_qs_evil_ops.< (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = regress_qs_evil_ops.num_lt);
CREATE FUNCTION regress_qs_evil_ops.vc_ilike(varchar, text) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('~~*') $$;
CREATE OPERATOR regress_qs_evil_ops.~~* (LEFTARG = varchar, RIGHTARG = text, FUNCTION = regress_qs_evil_ops.vc_ilike);
CREATE FUNCTION regress_qs_evil_ops.jsonb_get(jsonb, text) RETURNS jsonb
  LANGUAGE plpgsql AS $$ BEGIN PERFORM regress_qs_evil_ops.trap('->'); RETURN NULL; END $$;
CREATE OPERATOR regress_qs_evil_ops.-> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = regress_qs_evil_ops.jsonb_get);
CREATE FUNCTION regress_qs_evil_ops.jsonb_has(jsonb, text) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('?') $$;
CREATE OPERATOR regress_qs_evil_ops.? (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = regress_qs_evil_ops.jsonb_has);
CREATE FUNCTION regress_qs_evil_ops.arr_contains(text[], text[]) RETURNS boolean
  LANGUAGE sql AS $$ SELECT regress_qs_evil_ops.trap('@>') $$;
CREATE OPERATOR regress_qs_evil_ops.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = regress_qs_evil_ops.arr_contains);
CREATE FUNCTION regress_qs_evil_ops.int4_plus(integer, integer) RETURNS integer
  LANGUAGE plpgsql AS $$ BEGIN PERFORM regress_qs_evil_ops.trap('+'); RETURN 0; END $$;
CREATE OPERATOR regress_qs_evil_ops.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_qs_evil_ops.int4_plus);
CREATE FUNCTION regress_qs_evil_ops.text_cat(text, text) RETURNS text
  LANGUAGE plpgsql AS $$ BEGIN PERFORM regress_qs_evil_ops.trap('||'); RETURN NULL; END $$;
CREATE OPERATOR regress_qs_evil_ops.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_qs_evil_ops.text_cat);
\set ops_path 'regress_qs_evil_ops, pg_catalog, public'

-- armed (= on varchar and ~~* on varchar/text win even with pg_catalog first)
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_tag WHERE slug = 'sale'::varchar $$, NULL, 'public, regress_qs_evil_ops'),
  'ERROR P0001: captured: operator =', 'armed: = (varchar), pg_catalog first');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_tag WHERE name ILIKE 'sale'::text $$, NULL, 'public, regress_qs_evil_ops'),
  'ERROR P0001: captured: operator ~~*', 'armed: ILIKE (varchar, text), pg_catalog first');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_tag WHERE id = ANY('{1,2}'::bigint[]) $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator = (bigint)', 'armed: = ANY (bigint)');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_product WHERE price < 10::numeric $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator <', 'armed: < (numeric)');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_product WHERE (metadata -> 'color'::text) IS NULL $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator ->', 'armed: -> (jsonb, text)');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_product WHERE metadata ? 'sku'::text $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator ?', 'armed: ? (jsonb, text)');
SELECT is(pg_temp.run($$ SELECT count(*) FROM catalog_product WHERE keywords @> '{eco}'::text[] $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator @>', 'armed: @> (text[])');
SELECT is(pg_temp.run($$ SELECT 2024 + 1 $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator +', 'armed: + (integer)');
SELECT is(pg_temp.run($$ SELECT 'a'::text || 'b'::text $$, NULL, :'ops_path'),
  'ERROR P0001: captured: operator ||', 'armed: || (text)');

-- not captured
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_tag'), '{"slug": "sale"}')) $$, NULL, 'public, regress_qs_evil_ops'),
  '1', 'search_path: = on a varchar column');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_tag'), '{"name__icontains": "SAL"}')) $$, NULL, 'public, regress_qs_evil_ops'),
  (SELECT count(*)::text FROM catalog_tag WHERE name ILIKE '%sal%'), 'search_path: icontains (ILIKE)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_tag'), '{"id__in": [1, 2]}')) $$, NULL, :'ops_path'),
  '2', 'search_path: in (= ANY)');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'slug'), '[1]') $$, NULL, :'ops_path'),
  '{"1": {"id": 1, "slug": "sale"}}', 'search_path: in_bulk ids (= ANY)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"price__lt": 10}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE price < 10), 'search_path: lt');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__color": "red"}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE metadata -> 'color' = '"red"'), 'search_path: jsonb key (->)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__has_key": "sku"}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE metadata ? 'sku'), 'search_path: has_key (?)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"keywords__contains": ["eco"]}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE keywords @> '{eco}'), 'search_path: array contains (@>)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"created_at__year": 2024}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'), 'search_path: year (+)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"description__icontains": {"F": "slug"}}')) $$, NULL, :'ops_path'),
  (SELECT count(*)::text FROM catalog_product WHERE strpos(lower(description), lower(slug)) > 0), 'search_path: icontains F() (||)');

-- type names in casts
CREATE SCHEMA regress_qs_evil_types;
CREATE FUNCTION regress_qs_evil_types.trap(pg_catalog.text) RETURNS boolean
  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'captured: %', $1; END $$;
CREATE DOMAIN regress_qs_evil_types.json AS pg_catalog.json CHECK (regress_qs_evil_types.trap('cast to json'));
CREATE DOMAIN regress_qs_evil_types.jsonb AS pg_catalog.jsonb CHECK (regress_qs_evil_types.trap('cast to jsonb'));
CREATE DOMAIN regress_qs_evil_types.text AS pg_catalog.text CHECK (regress_qs_evil_types.trap('cast to text'));
CREATE DOMAIN regress_qs_evil_types.date AS pg_catalog.date CHECK (regress_qs_evil_types.trap('cast to date'));
CREATE TYPE regress_qs_sec_card AS (id bigint, name pg_catalog.text);
\set types_path 'regress_qs_evil_types, pg_catalog, public'
-- since PostgreSQL 16 json is a keyword: '[]'::json always names pg_catalog.json
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN skip('since PostgreSQL 16 the json type name is a keyword and cannot be captured', 1)
            ELSE is(pg_temp.run($$ SELECT '[]'::json $$, NULL, :'types_path'),
                    'ERROR P0001: captured: cast to json', 'armed: the json type name') END;
SELECT is(pg_temp.run($$ SELECT '1'::text $$, NULL, :'types_path'),
  'ERROR P0001: captured: cast to text', 'armed: the text type name');
SELECT is(pg_temp.run($$ SELECT qs.json(qs.filter(qs.all('catalog_tag'), '{"id": -1}'))::pg_catalog.text $$, NULL, :'types_path'),
  '[]', 'search_path: json of no rows (''[]''::json)');
SELECT is(pg_temp.run($$ SELECT qs.in_bulk(qs.all('catalog_tag'), '[-1]') $$, NULL, :'types_path'),
  '{}', 'search_path: in_bulk of no rows (''{}''::jsonb)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"price__startswith": "9"}')) $$, NULL, :'types_path'),
  (SELECT count(*)::text FROM catalog_product WHERE price::text LIKE '9%'), 'search_path: a text lookup on numeric (::text)');
SELECT is(pg_temp.run($$ SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"created_at__date": "2024-03-01"}')) $$, NULL, :'types_path'),
  (SELECT count(*)::text FROM catalog_product WHERE created_at::date = '2024-03-01'), 'search_path: __date (::date)');
SELECT is(pg_temp.run($$ SELECT string_agg(id || ':' || name, ',') FROM qs.fetch(qs.filter(qs.all('catalog_tag'), '{"id": 1}'), NULL::public.regress_qs_sec_card) $$, NULL, :'types_path'),
  '1:sale', 'search_path: fetch casts to the row type''s own (qualified) column types');

SELECT * FROM finish();
ROLLBACK;
