-- Tenant scoping (DESIGN.md §5): policies, the tenant context, explicit
-- predicates, partitions, the audit.  The isolation matrix run as a
-- non-superuser application role is test/pgtap/tenant.sql.
-- the tables belong to an ordinary role (a superuser bypasses every
-- policy: the audit lists such roles); tn_owner may also choose tenants
CREATE ROLE tn_owner;
CREATE ROLE tn_app;
GRANT CREATE ON SCHEMA public TO tn_owner;
GRANT USAGE ON SCHEMA qs TO tn_owner, tn_app;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO tn_owner;
CREATE SCHEMA tn_app_own AUTHORIZATION tn_app;
SET ROLE tn_owner;
CREATE TABLE tn_org (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE tn_doc (
    id        bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL,
    title     text NOT NULL,
    secret    text
);
CREATE INDEX tn_doc_tenant ON tn_doc (tenant_id, id);
INSERT INTO tn_org SELECT g, 'org ' || g FROM generate_series(1, 3) g;
INSERT INTO tn_doc (tenant_id, title, secret)
SELECT 1 + g % 3, 'doc ' || g, 'secret of tenant ' || (1 + g % 3) FROM generate_series(1, 30) g;
ANALYZE tn_doc;
GRANT SELECT, INSERT, UPDATE, DELETE ON tn_doc TO tn_app;
GRANT USAGE ON SEQUENCE tn_doc_id_seq TO tn_app;

-- settings: the tenant is superuser-only, the secret unreadable
SELECT name, context FROM pg_settings WHERE name LIKE 'pg_queryset.tenant%' ORDER BY name;
SELECT has_function_privilege('tn_app', 'qs.set_tenant(text, boolean)', 'EXECUTE') AS app_may_set_tenant,
       has_function_privilege('tn_app', 'qs.set_tenant_token(text, boolean)', 'EXECUTE') AS app_may_set_token;

-- scoping: RLS enabled and forced, four permissive policies (the table
-- had none of its own: they are the only ones that grant rows, and
-- Citus copies them to its shards as they are); idempotent
SELECT qs.enable_tenant_scoping('tn_doc');
SELECT qs.enable_tenant_scoping('tn_doc');
SELECT * FROM qs.tenant_scoped_models();
SELECT polname, polpermissive, polcmd, pg_get_expr(polqual, polrelid) AS using_expr, pg_get_expr(polwithcheck, polrelid) AS check_expr
FROM pg_policy WHERE polrelid = 'tn_doc'::regclass ORDER BY polname;
-- wrong inputs
SELECT qs.enable_tenant_scoping('tn_doc', 'title');
SELECT qs.enable_tenant_scoping('tn_org', 'tenant_id');
SELECT qs.enable_tenant_scoping('tn_org', 'id', '{"colour": 1}');
SELECT qs.enable_tenant_scoping('tn_org', 'id', '{"roles": ["no_such_role"]}');
SELECT qs.enable_tenant_scoping('pg_roles', 'oid');

-- no tenant: no rows, writes refused (the owner too: FORCE)
SELECT qs.current_tenant() AS tenant, count(*) AS visible FROM tn_doc;
INSERT INTO tn_doc (tenant_id, title) VALUES (1, 'x');
SET ROLE tn_app;
SELECT count(*) AS visible FROM tn_doc;
UPDATE tn_doc SET title = 'x';
DELETE FROM tn_doc;
-- the application role cannot choose a tenant
SET pg_queryset.tenant = '1';
SELECT set_config('pg_queryset.tenant', '1', true);
SELECT qs.set_tenant('1');
SET pg_queryset.no_such = 1;
ALTER ROLE tn_app SET pg_queryset.tenant = '1';
CREATE FUNCTION tn_app_own.pick() RETURNS int LANGUAGE sql SET pg_queryset.tenant = '1' AS 'SELECT 1';
SET LOCAL pg_queryset.tenant = '1';
SET row_security = off;
SELECT count(*) FROM tn_doc;
RESET row_security;
-- (SET ROLE and SECURITY DEFINER attempts need a real application login:
-- test/pgtap/tenant.sql)
RESET ROLE;
SET ROLE tn_owner;

-- a tenant for the transaction: its rows only, index condition once per scan
BEGIN;
SELECT qs.set_tenant('2');
SET LOCAL ROLE tn_app;
SELECT qs.current_tenant(), count(*), min(tenant_id), max(tenant_id) FROM tn_doc;
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM tn_doc WHERE id > 0;
RESET enable_seqscan;
-- writes: its own tenant only; moving a row to another tenant is refused
INSERT INTO tn_doc (tenant_id, title) VALUES (2, 'new') RETURNING tenant_id, title;
INSERT INTO tn_doc (tenant_id, title) VALUES (3, 'elsewhere');
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('2');
SET LOCAL ROLE tn_app;
INSERT INTO tn_doc (tenant_id, title) VALUES (2, 'new');
UPDATE tn_doc SET tenant_id = 3 WHERE title = 'new';
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('2');
SET LOCAL ROLE tn_app;
INSERT INTO tn_doc (tenant_id, title) VALUES (2, 'new');
UPDATE tn_doc SET title = 'renamed' WHERE title = 'new' RETURNING tenant_id, title;
DELETE FROM tn_doc WHERE tenant_id = 3;
COMMIT;
-- gone at commit, and after a rollback
SELECT qs.current_tenant() AS after_commit, current_setting('pg_queryset.tenant') AS setting;
BEGIN;
SELECT qs.set_tenant('2');
ROLLBACK;
SELECT qs.current_tenant() AS after_rollback;
-- a set_tenant outside a transaction block ends with its statement
SELECT qs.set_tenant('2');
SELECT qs.current_tenant() AS next_statement;
-- session scope only when asked
SELECT qs.set_tenant('3', false);
SELECT qs.current_tenant() AS session_tenant, count(*) FROM tn_doc;
SELECT qs.reset_tenant();
SELECT qs.current_tenant() AS reset, count(*) FROM tn_doc;
SELECT qs.set_tenant('');

-- COPY out goes through the policies (COPY in is refused while RLS is in
-- force: test/tenant.sh)
BEGIN;
SELECT qs.set_tenant('3');
SET LOCAL ROLE tn_app;
COPY (SELECT tenant_id, count(*) FROM tn_doc GROUP BY 1) TO STDOUT;
COPY tn_doc (tenant_id, title) TO STDOUT WITH (FORMAT csv);
ROLLBACK;

-- the extension's own statements carry the predicate explicitly
BEGIN;
SELECT qs.set_tenant('1');
SET LOCAL ROLE tn_app;
SELECT qs.sql('{"model": "tn_doc", "where": {"title__startswith": "doc"}, "only": ["id"]}');
SELECT qs.count('{"model": "tn_doc"}') AS count_1, qs.exists('{"model": "tn_doc", "where": {"tenant_id": 2}}') AS sees_2;
SELECT qs.update('{"model": "tn_doc", "where": {"title": "doc 3"}}', '{"title": "doc three"}') AS updated;
SELECT qs.delete('{"model": "tn_doc", "where": {"title": "doc 6"}}') AS deleted;
SELECT jsonb_array_length(qs.bulk_create('tn_doc', '[{"tenant_id": 1, "title": "b1"}, {"tenant_id": 1, "title": "b2"}]')) AS bulk_created;
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('1');
SET LOCAL ROLE tn_app;
SELECT qs.bulk_create('tn_doc', '[{"tenant_id": 2, "title": "b3"}]');
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('1');
SET LOCAL ROLE tn_app;
SELECT (qs.get_or_create('tn_doc', '{"tenant_id": 1, "title": "goc"}', '{}')).created;
SELECT (qs.create('tn_doc', '{"tenant_id": 1, "title": "created"}'))->>'title' AS created;
SELECT qs.create('tn_doc', '{"tenant_id": 3, "title": "created"}');
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('1');
SET LOCAL ROLE tn_app;
SELECT qs.update('{"model": "tn_doc", "where": {"title": "doc 3"}}', '{"tenant_id": 3}');
ROLLBACK;
-- nested statements (relation filters, prefetches) carry it for every
-- scoped model they read
CREATE TABLE tn_note (id serial PRIMARY KEY, tenant_id bigint NOT NULL, doc_id bigint NOT NULL REFERENCES tn_doc (id), body text);
SELECT qs.enable_tenant_scoping('tn_note');
SELECT qs.sql('{"model": "tn_doc", "where": {"tn_note__body": "x"}, "only": ["id"], "prefetch_related": ["tn_note"]}');
SELECT qs.sql(qs.for_tenant('{"model": "tn_doc", "only": ["id"], "prefetch_related": ["tn_note"]}', '3'));
SELECT qs.disable_tenant_scoping('tn_note');
DROP TABLE tn_note;
-- for_tenant: a role that bypasses RLS chooses; the filter is a parameter
SELECT qs.for_tenant(qs.all('tn_doc'), '3');
SELECT qs.sql(qs.for_tenant(qs.filter(qs.all('tn_doc'), '{"id__lt": 10}'), '3'));
ALTER TABLE tn_doc NO FORCE ROW LEVEL SECURITY;
SELECT qs.count(qs.for_tenant(qs.all('tn_doc'), '3')) AS owner_chooses_3;
ALTER TABLE tn_doc FORCE ROW LEVEL SECURITY;
SELECT qs.for_tenant(qs.all('tn_org'), '3');
-- RLS still binds everyone else: no tenant, nothing
SELECT qs.count(qs.for_tenant(qs.all('tn_doc'), '3')) AS forced_owner_without_tenant;
BEGIN;
SELECT qs.set_tenant('1');
SELECT qs.count(qs.for_tenant(qs.all('tn_doc'), '3')) AS tenant_1_asks_for_3;
ROLLBACK;

-- PostgreSQL's technique: a cheap non-leakproof function that prints its
-- argument, in the application role's query, sees only its tenant's rows
CREATE FUNCTION tn_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001
  AS $$ BEGIN RAISE NOTICE 'saw: %', $1; RETURN true; END $$;
BEGIN;
SELECT qs.set_tenant('3');
SET LOCAL ROLE tn_app;
SELECT count(*) FROM tn_doc WHERE tn_leak(secret) AND id < 12;
SELECT count(*) FROM tn_doc WHERE tn_leak(secret) AND tenant_id = 1;
ROLLBACK;

-- views: a security_invoker view applies the caller's tenant; an owner's
-- view reads as its owner, bound here by FORCE, but not if its owner
-- bypasses row-level security, so the audit flags it
CREATE VIEW tn_doc_titles WITH (security_invoker = true) AS SELECT id, tenant_id, title FROM tn_doc;
CREATE VIEW tn_doc_owner_view AS SELECT id, tenant_id, title FROM tn_doc;
GRANT SELECT ON tn_doc_titles, tn_doc_owner_view TO tn_app;
BEGIN;
SELECT qs.set_tenant('1');
SET LOCAL ROLE tn_app;
SELECT count(*) AS through_invoker_view, min(tenant_id), max(tenant_id) FROM tn_doc_titles;
SELECT count(*) AS through_owner_view, min(tenant_id), max(tenant_id) FROM tn_doc_owner_view;
ROLLBACK;

-- a parallel scan: the workers see the tenant too
CREATE TABLE tn_big (id bigserial PRIMARY KEY, tenant_id int NOT NULL, v int NOT NULL);
INSERT INTO tn_big (tenant_id, v) SELECT 1 + g % 10, g FROM generate_series(1, 100000) g;
ANALYZE tn_big;
SELECT qs.enable_tenant_scoping('tn_big');
GRANT SELECT ON tn_big TO tn_app;
BEGIN;
SELECT qs.set_tenant('4');
SET LOCAL ROLE tn_app;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(v) FROM tn_big;
SELECT count(*), sum(v), min(tenant_id), max(tenant_id) FROM tn_big;
ROLLBACK;
BEGIN;
SELECT qs.set_tenant('4');
SET LOCAL ROLE tn_app;
DO $$
DECLARE
  plan json;
BEGIN
  SET LOCAL parallel_setup_cost = 0;
  SET LOCAL parallel_tuple_cost = 0;
  SET LOCAL min_parallel_table_scan_size = 0;
  SET LOCAL max_parallel_workers_per_gather = 2;
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) SELECT count(*) FROM tn_big WHERE v > 0' INTO plan;
  RAISE NOTICE 'parallel workers launched: %', (plan->0->'Plan'->'Plans'->0->>'Workers Launched')::int > 0;
END $$;
SELECT count(*), min(tenant_id), max(tenant_id) FROM tn_big WHERE v > 0;
ROLLBACK;

-- partitioned tables: every partition is scoped; a new one is caught by the audit
CREATE TABLE tn_event (tenant_id int NOT NULL, id bigint NOT NULL, what text, PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE tn_event_1 PARTITION OF tn_event FOR VALUES IN (1);
CREATE TABLE tn_event_2 PARTITION OF tn_event FOR VALUES IN (2);
INSERT INTO tn_event VALUES (1, 1, 'one'), (2, 2, 'two');
SELECT qs.enable_tenant_scoping('tn_event', options => '{"default": true, "roles": ["tn_app"]}');
SELECT model, parent, roles FROM qs.tenant_scoped_models() WHERE model::text LIKE 'tn_event%';
GRANT SELECT, INSERT ON tn_event, tn_event_1, tn_event_2 TO tn_app;
BEGIN;
SELECT qs.set_tenant('2');
SET LOCAL ROLE tn_app;
SELECT * FROM tn_event;
SELECT * FROM tn_event_1;
INSERT INTO tn_event (id, what) VALUES (3, 'defaulted') RETURNING *;
EXPLAIN (COSTS OFF) SELECT * FROM tn_event WHERE what = 'x';
ROLLBACK;
CREATE TABLE tn_event_3 PARTITION OF tn_event FOR VALUES IN (3);

-- the audit
CREATE TABLE tn_unscoped (id int PRIMARY KEY, tenant_id bigint);
CREATE TABLE tn_child (id int PRIMARY KEY, tenant_id bigint NOT NULL, doc_id bigint REFERENCES tn_doc (id));
SELECT qs.enable_tenant_scoping('tn_child');
RESET ROLE;
CREATE ROLE tn_bypass LOGIN BYPASSRLS;
SET ROLE tn_owner;
SELECT severity, object, finding FROM qs.tenant_audit() WHERE object LIKE 'tn%' OR object LIKE '%tn\_%' ORDER BY 1, 2, 3;
RESET ROLE;
DROP ROLE tn_bypass;
SET ROLE tn_owner;

-- disable undoes exactly what enable did (a table that had its own
-- policy keeps it, and RLS stays as it was)
CREATE TABLE tn_pre (id int PRIMARY KEY, tenant_id text NOT NULL, v text);
ALTER TABLE tn_pre ENABLE ROW LEVEL SECURITY;
CREATE POLICY tn_pre_own ON tn_pre USING (v IS DISTINCT FROM 'hidden');
INSERT INTO tn_pre VALUES (1, 'a', 'shown'), (2, 'a', 'hidden'), (3, 'b', 'shown');
GRANT SELECT ON tn_pre TO tn_app;
SELECT qs.enable_tenant_scoping('tn_pre', options => '{"default": true}');
-- next to a permissive policy of the table's own, restrictive ones
SELECT polname, polpermissive FROM pg_policy WHERE polrelid = 'tn_pre'::regclass ORDER BY 1;
BEGIN;
SELECT qs.set_tenant('a');
SET LOCAL ROLE tn_app;
SELECT id FROM tn_pre ORDER BY id;
ROLLBACK;
-- without Citus no table is a Citus table
SELECT qs._citus_table('tn_pre') AS citus_table, qs._citus_shard('tn_pre') AS citus_shard;
SELECT qs.disable_tenant_scoping('tn_pre');
SELECT qs.disable_tenant_scoping('tn_pre');
-- a permissive policy added after scoping is ORed with the permissive
-- tenant policies: every tenant sees the rows it grants, and the audit
-- says so
CREATE POLICY tn_doc_public ON tn_doc FOR SELECT USING (title LIKE 'doc 1%');
GRANT SELECT ON tn_doc TO tn_app;
BEGIN;
SELECT qs.set_tenant('2');
SET LOCAL ROLE tn_app;
SELECT count(*) FILTER (WHERE tenant_id <> 2) AS other_tenants_rows FROM tn_doc;
ROLLBACK;
SELECT severity, object, finding FROM qs.tenant_audit() WHERE object LIKE 'tn_doc policy%';
DROP POLICY tn_doc_public ON tn_doc;
SELECT count(*) AS findings_after_drop FROM qs.tenant_audit() WHERE object LIKE 'tn_doc policy%';
SELECT polname FROM pg_policy WHERE polrelid = 'tn_pre'::regclass ORDER BY 1;
SELECT relrowsecurity, relforcerowsecurity, pg_get_expr(d.adbin, d.adrelid) AS tenant_default
FROM pg_class c LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = 2 WHERE c.oid = 'tn_pre'::regclass;
SELECT qs.disable_tenant_scoping('tn_event');
SELECT count(*) AS policies_left FROM pg_policy WHERE polrelid IN ('tn_event'::regclass, 'tn_event_1'::regclass, 'tn_event_2'::regclass);

DROP VIEW tn_doc_titles, tn_doc_owner_view;
DROP FUNCTION tn_leak(text);
SELECT qs.disable_tenant_scoping(model) FROM qs.tenant_scoped_models() WHERE parent IS NULL ORDER BY model::text;
-- a dropped table takes its record along (the sql_drop event trigger)
CREATE TABLE tn_gone (id int PRIMARY KEY, tenant_id int NOT NULL);
SELECT qs.enable_tenant_scoping('tn_gone');
SELECT count(*) AS recorded FROM qs.tenant_scope WHERE model = 'tn_gone'::regclass;
DROP TABLE tn_gone;
SELECT count(*) AS records_of_dropped_tables FROM qs.tenant_scope s WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = s.model);
-- policies without a record (a table rebuilt by Citus, or restored
-- without it) are adopted when they are the tenant policies of the column
CREATE TABLE tn_rebuilt (id int PRIMARY KEY, tenant_id int NOT NULL);
SELECT qs.enable_tenant_scoping('tn_rebuilt');
RESET ROLE;
DELETE FROM qs.tenant_scope WHERE model = 'tn_rebuilt'::regclass;
SET ROLE tn_owner;
SELECT qs.enable_tenant_scoping('tn_rebuilt', 'id');
SELECT qs.enable_tenant_scoping('tn_rebuilt') AS adopted;
SELECT tenant_column, roles, added_permissive FROM qs.tenant_scope WHERE model = 'tn_rebuilt'::regclass;
SELECT qs.disable_tenant_scoping('tn_rebuilt');
SELECT count(*) AS policies_left FROM pg_policy WHERE polrelid = 'tn_rebuilt'::regclass;
DROP TABLE tn_rebuilt;
DROP TABLE tn_child, tn_unscoped, tn_pre, tn_event, tn_big, tn_doc, tn_org;
SELECT count(*) AS scoped_left FROM qs.tenant_scope;
RESET ROLE;
DROP SCHEMA tn_app_own CASCADE;
DROP OWNED BY tn_app, tn_owner;
DROP ROLE tn_app, tn_owner;
