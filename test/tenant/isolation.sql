-- Tenant isolation, run as qs_app: an ordinary login role holding
-- EXECUTE on qs.set_tenant_token only, as an application would connect.
-- Every DML path x (no tenant, own tenant, another tenant), raw SQL and
-- the qs functions; forged tokens; attempts to choose a tenant, read
-- the secret or step around the policies.  Nothing may leak.
\set QUIET 1
-- a tenant-2 token in a psql variable: interpolated into statement text,
-- as a careless client would write it (section 5b expects refusals)
SELECT token AS tok_t2 FROM iso_token WHERE name = 't2' \gset
BEGIN;
SELECT plan(124);

SELECT is(session_user::text, 'qs_app', 'the suite runs as the application login');
SELECT ok(NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = 'qs_app'), 'which is neither superuser nor BYPASSRLS');

-- helpers in the application's own schema
CREATE FUNCTION app_own.tok(n text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT token FROM public.iso_token WHERE name = n $$;
CREATE FUNCTION app_own.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE;
END $$;
CREATE FUNCTION app_own.affected(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE sql;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
CREATE FUNCTION app_own.returned(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  EXECUTE sql INTO r;
  RETURN r;
END $$;
CREATE FUNCTION app_own.parallel_count(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  -- force_parallel_mode was renamed debug_parallel_query in 16
  PERFORM set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                          THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', true);
  SET LOCAL parallel_setup_cost = 0;
  SET LOCAL parallel_tuple_cost = 0;
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || sql INTO plan;
  PERFORM set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                          THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', true);
  -- Actual Rows prints as 20.00 since 18
  RETURN (plan->0->'Plan'->>'Node Type') || ' workers=' || (plan->0->'Plan'->>'Workers Launched') ||
         ' rows=' || (plan->0->'Plan'->>'Actual Rows')::numeric::int;
END $$;
CREATE TABLE app_own.seen (v text);
CREATE FUNCTION app_own.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
  INSERT INTO app_own.seen VALUES ($1);
  RETURN true;
END $$;

------------------------------------------------------------------------
-- 1. no tenant: nothing visible, every write refused
------------------------------------------------------------------------
SELECT is(qs.current_tenant(), NULL, 'no tenant at the start');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'no tenant: SELECT sees nothing');
SELECT is((SELECT count(*) FROM iso_event)::int, 0, 'no tenant: nothing through the partitioned table');
SELECT is((SELECT count(*) FROM iso_event_2)::int, 0, 'no tenant: nothing through a partition');
SELECT throws_ok($$ INSERT INTO iso_doc (tenant_id, slug, title, secret) VALUES (1, 'n', 'n', 'n') $$, '42501', NULL, 'no tenant: INSERT refused');
SELECT throws_ok($$ INSERT INTO iso_doc (slug, title, secret) VALUES ('n', 'n', 'n') $$, '42501', NULL, 'no tenant: INSERT relying on the default refused');
SELECT throws_ok($$ UPDATE iso_doc SET title = 'x' $$, '42501', NULL, 'no tenant: UPDATE refused');
SELECT throws_ok($$ DELETE FROM iso_doc $$, '42501', NULL, 'no tenant: DELETE refused');
SELECT throws_ok($$ MERGE INTO iso_doc d USING (SELECT 1 AS tenant_id, 's1' AS slug) v ON d.slug = v.slug
                    WHEN NOT MATCHED THEN INSERT (tenant_id, slug, title, secret) VALUES (1, 's1', 't', 's') $$, '42501', NULL, 'no tenant: MERGE refused');
SELECT is(qs.count('{"model": "iso_doc"}'), 0::bigint, 'no tenant: qs.count is 0');
SELECT is(qs.json('{"model": "iso_doc"}')::text, '[]', 'no tenant: qs.json is empty');
SELECT throws_ok($$ SELECT qs.create('iso_doc', '{"tenant_id": 1, "slug": "q", "title": "q", "secret": "q"}') $$, '42501', NULL, 'no tenant: qs.create refused');
SELECT throws_ok($$ SELECT qs.bulk_create('iso_doc', '[{"tenant_id": 1, "slug": "q", "title": "q", "secret": "q"}]') $$, '42501', NULL, 'no tenant: qs.bulk_create refused');
SELECT throws_ok($$ SELECT qs.update('{"model": "iso_doc"}', '{"title": "x"}') $$, '42501', NULL, 'no tenant: qs.update refused');
SELECT throws_ok($$ SELECT qs.delete('{"model": "iso_doc"}') $$, '42501', NULL, 'no tenant: qs.delete refused');
SELECT throws_ok($$ SELECT qs.bulk_update('iso_doc', '[{"id": 1, "title": "x"}]', '{title}') $$, '42501', NULL, 'no tenant: qs.bulk_update refused');
SELECT throws_ok($$ SELECT qs.get_or_create('iso_doc', '{"tenant_id": 1, "slug": "s3"}', '{"title": "t", "secret": "s"}') $$, '42501', NULL, 'no tenant: qs.get_or_create refused');
SELECT is(app_own.try($$ SELECT qs.update_or_create('iso_doc', '{"tenant_id": 1, "slug": "s3"}', '{"title": "t", "secret": "s"}') $$), '42501', 'no tenant: qs.update_or_create refused');

------------------------------------------------------------------------
-- 2. the application cannot choose a tenant or read the secret
------------------------------------------------------------------------
SELECT throws_ok($$ SET pg_queryset.tenant = '2' $$, '42501', NULL, 'SET pg_queryset.tenant is refused');
SELECT throws_ok($$ SELECT set_config('pg_queryset.tenant', '2', true) $$, '42501', NULL, 'set_config() is refused');
SELECT throws_ok($$ ALTER ROLE qs_app SET pg_queryset.tenant = '2' $$, '42501', NULL, 'ALTER ROLE ... SET is refused');
SELECT throws_ok($$ ALTER DATABASE qs_tenant SET pg_queryset.tenant = '2' $$, '42501', NULL, 'ALTER DATABASE ... SET is refused');
SELECT throws_ok($$ CREATE FUNCTION app_own.pick() RETURNS int LANGUAGE sql SET pg_queryset.tenant = '2' AS 'SELECT 1' $$,
                 '42501', NULL, 'a function''s SET clause is refused');
SELECT throws_ok($$ SET pg_queryset.tenantx = '2' $$, '42602', NULL, 'the prefix is reserved: no placeholder can be made');
SELECT throws_ok($$ SELECT qs.set_tenant('2') $$, '42501', NULL, 'qs.set_tenant is not granted to the application');
SELECT throws_ok($$ SET pg_queryset.tenant_secret = 'mine' $$, '42501', NULL, 'the secret cannot be changed');
SELECT throws_ok($$ SET pg_queryset.tenant_claim = 'sub' $$, '42501', NULL, 'the claim cannot be changed');
SELECT throws_ok($$ SET pg_queryset.tenant_audience = 'elsewhere' $$, '42501', NULL, 'the audience cannot be changed');
SELECT throws_ok($$ SHOW pg_queryset.tenant_secret $$, '42501', NULL, 'SHOW of the secret is refused');
SELECT throws_ok($$ SELECT current_setting('pg_queryset.tenant_secret') $$, '42501', NULL, 'current_setting() of the secret is refused');
SELECT is((SELECT count(*) FROM pg_settings WHERE name = 'pg_queryset.tenant_secret')::int, 0, 'pg_settings does not list the secret');
SELECT is((SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'pg_queryset.tenant_secret%')::int, 0,
          'the secret is not in pg_db_role_setting (readable by all): it is set in the server''s configuration');
SELECT throws_ok($$ SELECT * FROM pg_file_settings $$, '42501', NULL, 'the configuration files are not readable');
SELECT throws_ok($$ SET ROLE qs_owner $$, '42501', NULL, 'SET ROLE to the owner is refused');
SELECT throws_ok($$ SET ROLE postgres $$, '42501', NULL, 'SET ROLE to a superuser is refused');
SELECT throws_ok($$ SET SESSION AUTHORIZATION postgres $$, '42501', NULL, 'SET SESSION AUTHORIZATION is refused');
SELECT throws_ok($$ ALTER TABLE iso_doc DISABLE ROW LEVEL SECURITY $$, '42501', NULL, 'row-level security cannot be disabled');
SELECT throws_ok($$ DROP POLICY qs_tenant_select ON iso_doc $$, '42501', NULL, 'the policies cannot be dropped');
SELECT throws_ok($$ SELECT qs.disable_tenant_scoping('iso_doc') $$, '42501', NULL, 'scoping cannot be switched off');
SELECT throws_ok($$ DELETE FROM qs.tenant_scope $$, '42501', NULL, 'the scope records are written by the extension''s functions only');
SELECT lives_ok($$ SET LOCAL row_security = off $$, 'row_security = off can be set');
SELECT throws_ok($$ SELECT count(*) FROM iso_doc $$, '42501', NULL, 'but then a scoped query errors instead of bypassing');
RESET row_security;

------------------------------------------------------------------------
-- 3. forged, tampered, expired and unsigned tokens: no tenant
------------------------------------------------------------------------
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('forged')) $$, 'invalid tenant token', 'a token signed with another secret is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('tampered')) $$, 'invalid tenant token', 'a tampered payload is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('expired')) $$, 'invalid tenant token', 'an expired token is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('not_yet')) $$, 'invalid tenant token', 'a token before nbf is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('unsigned')) $$, 'invalid tenant token', 'an unsigned (alg none) token is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('wrong_alg')) $$, 'invalid tenant token', 'a token of another algorithm is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('wrong_aud')) $$, 'invalid tenant token', 'a token for another audience is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('no_claim')) $$, 'invalid tenant token', 'a token without the tenant claim is refused');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('malformed')) $$, 'invalid tenant token', 'a malformed token is refused');
SELECT throws_ok($$ SELECT qs.set_tenant_token(app_own.tok('tampered')) $$, '28000', 'invalid tenant token', 'with SQLSTATE 28000');
-- set directly (as a pooler would SET LOCAL it): verified on every read
SET LOCAL pg_queryset.tenant_token TO DEFAULT;
SELECT isnt(set_config('pg_queryset.tenant_token', app_own.tok('forged'), true), NULL, 'a token can be set directly, as a pooler would SET LOCAL it');
SELECT is(qs.current_tenant(), NULL, 'a forged token set directly names no tenant');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'and shows no rows');
SELECT throws_ok($$ UPDATE iso_doc SET title = 'x' $$, '42501', NULL, 'and allows no write');
SELECT isnt(set_config('pg_queryset.tenant_token', app_own.tok('tampered'), true), NULL, 'a tampered token set directly');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'a tampered token set directly shows no rows');
SELECT is(app_own.parallel_count('SELECT * FROM iso_doc'), 'Gather workers=1 rows=0', 'nor in a parallel worker');
SELECT isnt(set_config('pg_queryset.tenant_token', app_own.tok('expired'), true), NULL, 'an expired token set directly');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'an expired token set directly shows no rows');

------------------------------------------------------------------------
-- 4. own tenant: everything works on its rows
------------------------------------------------------------------------
SELECT is(qs.set_tenant_token(app_own.tok('t1')), '1', 'a valid token names tenant 1');
SELECT is(qs.current_tenant(), '1', 'current_tenant() verifies it again on read');
SELECT is(app_own.parallel_count('SELECT * FROM iso_doc'), 'Gather workers=1 rows=20',
          'in a parallel worker the token is verified too: its 20 rows');
SELECT is((SELECT count(*) FROM iso_doc)::int, 20, 'own tenant: its 20 rows');
SELECT is((SELECT count(DISTINCT tenant_id) FROM iso_doc)::int, 1, 'and only its rows');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM iso_event), '{1}'::int[], 'through the partitioned table');
SELECT is((SELECT count(*) FROM iso_event_2)::int, 0, 'another tenant''s partition, reached directly, is empty');
SELECT is((SELECT count(*) FROM iso_doc_owner)::int, 20, 'the owner''s view is bound (FORCE)');
SELECT is((SELECT count(*) FROM iso_doc_invoker)::int, 20, 'the security_invoker view is bound');
SELECT is(public.iso_count_definer(), 20::bigint, 'a SECURITY DEFINER function of the owner is bound');
SELECT is((SELECT (tenant_id, slug) FROM iso_doc WHERE slug = 'own-new') , NULL, 'before insert');
SELECT is(app_own.returned($$ INSERT INTO iso_doc (slug, title, secret) VALUES ('own-new', 't', 'x') RETURNING tenant_id $$), '1',
          'own tenant: INSERT relying on the default, RETURNING the tenant');
SELECT is(app_own.returned($$ INSERT INTO iso_doc (tenant_id, slug, title, secret) VALUES (1, 'own-new', 't2', 'x')
            ON CONFLICT (tenant_id, slug) DO UPDATE SET title = EXCLUDED.title RETURNING title $$), 't2',
          'own tenant: INSERT ... ON CONFLICT DO UPDATE');
SELECT is(app_own.returned($$ UPDATE iso_doc SET title = 'upd' WHERE slug = 'own-new' RETURNING title $$), 'upd', 'own tenant: UPDATE ... RETURNING');
SELECT lives_ok($$ MERGE INTO iso_doc d USING (SELECT 'own-new' AS slug) v ON d.slug = v.slug WHEN MATCHED THEN UPDATE SET title = 'merged' $$, 'own tenant: MERGE');
SELECT is(app_own.returned($$ DELETE FROM iso_doc WHERE slug = 'own-new' RETURNING title $$), 'merged', 'own tenant: DELETE ... RETURNING (after the MERGE)');
SELECT is(qs.count('{"model": "iso_doc"}'), 20::bigint, 'own tenant: qs.count');
SELECT is((qs.create('iso_doc', '{"slug": "qc", "title": "t", "secret": "s"}'))->>'tenant_id', '1', 'own tenant: qs.create');
SELECT is(jsonb_array_length(qs.bulk_create('iso_doc', '[{"tenant_id": 1, "slug": "qb1", "title": "t", "secret": "s"}, {"tenant_id": 1, "slug": "qb2", "title": "t", "secret": "s"}]')), 2,
          'own tenant: qs.bulk_create');
SELECT is(qs.update('{"model": "iso_doc", "where": {"slug__startswith": "qb"}}', '{"title": "bulk"}'), 2::bigint, 'own tenant: qs.update');
SELECT is((qs.get_or_create('iso_doc', '{"tenant_id": 1, "slug": "qb1"}', '{"title": "x", "secret": "s"}')).created, false, 'own tenant: qs.get_or_create finds its row');
SELECT is(qs.delete('{"model": "iso_doc", "where": {"slug__in": ["qc", "qb1", "qb2"]}}'), 3::bigint, 'own tenant: qs.delete');

------------------------------------------------------------------------
-- 5. another tenant's rows: invisible and untouchable
------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM iso_doc WHERE tenant_id = 2)::int, 0, 'another tenant: SELECT by its tenant_id finds nothing');
SELECT is((SELECT count(*) FROM iso_doc WHERE slug = 's1')::int, 0, 'another tenant: its slug finds nothing');
SELECT throws_ok($$ INSERT INTO iso_doc (tenant_id, slug, title, secret) VALUES (2, 'x2', 't', 's') $$, '42501', NULL, 'another tenant: INSERT refused');
SELECT throws_ok($$ INSERT INTO iso_doc (tenant_id, slug, title, secret) VALUES (2, 's1', 't', 's') ON CONFLICT (tenant_id, slug) DO UPDATE SET title = 'taken' $$,
                 '42501', NULL, 'another tenant: INSERT ... ON CONFLICT refused');
SELECT is(app_own.affected($$ UPDATE iso_doc SET title = 'x' WHERE tenant_id = 2 $$), 0::bigint, 'another tenant: UPDATE reaches no row');
SELECT throws_ok($$ UPDATE iso_doc SET tenant_id = 2 WHERE slug = 's3' $$, '42501', NULL, 'own row moved to another tenant: refused');
SELECT is(app_own.affected($$ DELETE FROM iso_doc WHERE tenant_id = 2 $$), 0::bigint, 'another tenant: DELETE reaches no row');
SELECT is(app_own.try($$ MERGE INTO iso_doc d USING (SELECT 's1' AS slug) v ON d.slug = v.slug WHEN MATCHED THEN DELETE
                         WHEN NOT MATCHED THEN INSERT (tenant_id, slug, title, secret) VALUES (2, 's1', 'm', 'm') $$), '42501',
          'another tenant: MERGE cannot insert into it');
SELECT is((SELECT count(*) FROM iso_event_2)::int, 0, 'another tenant: its partition is empty when reached directly');
SELECT throws_ok($$ INSERT INTO iso_event_2 VALUES (2, 9, 'x') $$, '42501', NULL, 'another tenant: INSERT into its partition refused');
SELECT is(qs.count('{"model": "iso_doc", "where": {"tenant_id": 2}}'), 0::bigint, 'another tenant: qs.count');
SELECT throws_like($$ SELECT qs.get('{"model": "iso_doc", "where": {"slug": "s1"}}') $$, '%matching query does not exist', 'another tenant: qs.get finds nothing (DoesNotExist)');
SELECT is(qs.update('{"model": "iso_doc", "where": {"tenant_id": 2}}', '{"title": "x"}'), 0::bigint, 'another tenant: qs.update reaches no row');
SELECT is(qs.delete('{"model": "iso_doc", "where": {"tenant_id": 2}}'), 0::bigint, 'another tenant: qs.delete reaches no row');
SELECT is(qs.bulk_update('iso_doc', (SELECT jsonb_agg(jsonb_build_object('id', g, 'title', 'x')) FROM generate_series(1, 60) g), '{title}'), 20::bigint,
          'another tenant: qs.bulk_update over every id changes only its own 20');
SELECT throws_ok($$ SELECT qs.create('iso_doc', '{"tenant_id": 2, "slug": "c2", "title": "t", "secret": "s"}') $$, '42501', NULL, 'another tenant: qs.create refused');
SELECT throws_ok($$ SELECT qs.bulk_create('iso_doc', '[{"tenant_id": 2, "slug": "c2", "title": "t", "secret": "s"}]') $$, '42501', NULL, 'another tenant: qs.bulk_create refused');
SELECT is(qs.count(qs.for_tenant(qs.all('iso_doc'), '2')), 0::bigint, 'qs.for_tenant does not widen access: RLS still binds');

-- the leaky function sees only its tenant's values
SELECT is((SELECT count(*) FROM iso_doc WHERE app_own.leak(secret))::int, 20, 'the leaky function ran on own rows');
SELECT is((SELECT count(*) FROM iso_doc WHERE app_own.leak(secret) AND tenant_id = 2)::int, 0, 'and found nothing of tenant 2');
SELECT is((SELECT array_agg(DISTINCT v) FROM app_own.seen), '{secret-of-1}'::text[], 'it never saw another tenant''s value');

------------------------------------------------------------------------
-- 5b. security review of 0.1.0 (docs/threat-model.md): tokens never in
-- statement text or the catalogs, short lifetimes, no EXPLAIN ANALYZE
-- under the policies, the scope table closed
------------------------------------------------------------------------
SELECT throws_ok(format('SELECT qs.set_tenant_token(%L)', :'tok_t2'), '42501', 'a tenant token must not be written into the statement text',
  'a token written into the statement is refused (review 3)');
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', 'pg_queryset.tenant_token', :'tok_t2'), '42501', NULL,
  'set_config with the token in the text is refused');
SELECT throws_ok(format('SET LOCAL pg_queryset.tenant_token = %L', :'tok_t2'), '42501', NULL,
  'SET LOCAL with the token in the text is refused');
SELECT throws_ok(format('ALTER ROLE qs_app SET pg_queryset.tenant_token = %L', :'tok_t2'), '42501', 'a tenant token must not be stored in the catalogs',
  'ALTER ROLE ... SET of a token is refused (pg_db_role_setting is readable by all)');
SELECT throws_ok(format('CREATE FUNCTION app_own.with_tok() RETURNS int LANGUAGE sql SET pg_queryset.tenant_token = %L AS %L', app_own.tok('t2'), 'SELECT 1'),
  '42501', 'a tenant token must not be stored in the catalogs', 'a function SET clause with a token is refused (pg_proc is readable by all)');
SELECT is(qs.current_tenant(), '1', 'after the refusals the tenant is still tenant 1');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('long_lived')) $$, '%invalid tenant token%', 'a token living longer than tenant_token_max_age is refused (review 3)');
SELECT throws_like($$ SELECT qs.set_tenant_token(app_own.tok('no_exp')) $$, '%invalid tenant token%', 'a token without exp is refused while tenant_token_max_age is set');
SELECT isnt(set_config('pg_queryset.tenant_token', app_own.tok('long_lived'), true), NULL, 'a long-lived token set directly');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'a long-lived token set directly shows no rows');
SELECT is(qs.set_tenant_token(app_own.tok('t1')), '1', 'back to tenant 1');
SELECT throws_ok($$ SELECT qs.explain('{"model": "iso_doc", "where": {"secret__startswith": "secret-of-2"}}', true) $$, '42501', NULL,
  'qs.explain(q, analyze) is refused under row-level security (review 4)');
SELECT throws_ok($$ INSERT INTO qs.tenant_scope VALUES ('iso_doc', 'title', NULL, '{public}', true, false, NULL, false, false) $$, '42501', NULL,
  'qs.tenant_scope cannot be written by the application (review 8)');
SELECT throws_ok($$ CREATE TEMP TABLE app_tmp (id int, tenant_id int); SELECT qs.enable_tenant_scoping('pg_temp.app_tmp') $$, '0A000', NULL,
  'a temporary table cannot be scoped');

------------------------------------------------------------------------
-- 6. switching tenants and clearing
------------------------------------------------------------------------
SELECT is(qs.set_tenant_token(app_own.tok('t2')), '2', 'switch to tenant 2 (audience in an array)');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM iso_doc), '{2}'::int[], 'now only tenant 2''s rows');
SELECT lives_ok($$ SELECT qs.reset_tenant() $$, 'reset_tenant');
SELECT is((SELECT count(*) FROM iso_doc)::int, 0, 'after reset: nothing');

SELECT * FROM finish();
ROLLBACK;
