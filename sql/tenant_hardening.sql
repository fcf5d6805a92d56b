-- Tenant scoping under attack (security review of 0.1.0, findings 4, 5,
-- 6, 8 and 9; docs/threat-model.md names each case).  The tables belong
-- to th_owner; th_app is the application role; th_pooler is a role that
-- may choose tenants.
CREATE ROLE th_owner;
CREATE ROLE th_app;
CREATE ROLE th_pooler;
CREATE SCHEMA th AUTHORIZATION th_owner;
-- a schema anyone may create objects in, as public was before PostgreSQL 15
CREATE SCHEMA th_open;
GRANT CREATE, USAGE ON SCHEMA th_open TO PUBLIC;
GRANT USAGE ON SCHEMA qs TO th_owner, th_app, th_pooler;
GRANT USAGE ON SCHEMA th TO th_app;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO th_owner, th_pooler;
GRANT th_app TO th_pooler;

-- 6. a planted operator: th_app creates th_open.= for (varchar, varchar)
-- returning true, and the DBA scopes a varchar tenant column with
-- th_open first in search_path
SET ROLE th_app;
CREATE FUNCTION th_open.always(varchar, varchar) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR th_open.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = th_open.always);
RESET ROLE;
SET ROLE th_owner;
SET search_path = th_open, th, public;
CREATE TABLE th.account (id int PRIMARY KEY, tenant varchar(10) NOT NULL, email text NOT NULL);
INSERT INTO th.account VALUES (1, 'a', 'ann@a.test'), (2, 'a', 'bob@a.test'), (3, 'b', 'cy@b.test');
GRANT SELECT, UPDATE ON th.account TO th_app;
SELECT qs.enable_tenant_scoping('th.account', 'tenant');
-- the policies and the default name pg_catalog's = and the type with its schema
SELECT polname, pg_get_expr(polqual, polrelid) AS using_expr FROM pg_policy
WHERE polrelid = 'th.account'::regclass AND polname = 'qs_tenant_select';
SELECT count(*) AS policies_using_planted_operator
FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
JOIN pg_operator o ON d.refclassid = 'pg_operator'::regclass AND o.oid = d.refobjid
WHERE p.polrelid = 'th.account'::regclass AND o.oprnamespace = 'th_open'::regnamespace;
RESET search_path;
RESET ROLE;
-- tenant a sees and changes its own rows only
BEGIN;
SET LOCAL ROLE th_pooler;
SELECT qs.set_tenant('a');
SET LOCAL ROLE th_app;
SET LOCAL search_path = th_open, th, public;
SELECT id, tenant FROM th.account ORDER BY id;
UPDATE th.account SET email = 'taken@x.test' WHERE id = 3;
ROLLBACK;
SELECT email FROM th.account WHERE id = 3;
-- a hand-written policy that uses the planted operator is an audit finding
CREATE POLICY th_extra ON th.account AS RESTRICTIVE FOR SELECT USING (email OPERATOR(pg_catalog.<>) '' AND tenant::varchar OPERATOR(th_open.=) tenant::varchar);
SELECT severity, object, finding FROM qs.tenant_audit() WHERE object LIKE 'th.account policy%' ORDER BY 1, 2, 3;
DROP POLICY th_extra ON th.account;

-- 4. qs.explain(q, analyze) where row-level security is in force
BEGIN;
SET LOCAL ROLE th_pooler;
SELECT qs.set_tenant('a');
SET LOCAL ROLE th_app;
SELECT qs.explain('{"model": "th.account", "where": {"email__startswith": "c"}}', true);
ROLLBACK;
BEGIN;
SET LOCAL ROLE th_pooler;
SELECT qs.set_tenant('a');
SET LOCAL ROLE th_app;
-- without analyze the plan is shown (nothing runs)
SELECT jsonb_typeof(qs.explain('{"model": "th.account", "where": {"email__startswith": "c"}}')) AS plan_only;
ROLLBACK;
-- through a view with security_invoker the tables under it count
CREATE VIEW th.account_v WITH (security_invoker = true) AS SELECT id, tenant, email FROM th.account;
GRANT SELECT ON th.account_v TO th_app;
BEGIN;
SET LOCAL ROLE th_app;
SELECT qs.explain('{"model": "th.account_v"}', true);
ROLLBACK;
-- a superuser (bypasses row-level security) may analyze
SELECT qs.explain('{"model": "th.account", "where": {"id": 1}}', true) -> 0 -> 'Plan' ? 'Actual Rows' AS superuser_analyzed;
-- and the audit names the indexes that would let hand-written EXPLAIN ANALYZE count other tenants' rows
SELECT severity, object FROM qs.tenant_audit() WHERE finding LIKE 'index does not start%' AND object LIKE 'th.%' ORDER BY 2;

-- 5. oracles: exclusion constraints, INCLUDE columns, foreign keys from
-- tables that are not scoped
SET ROLE th_owner;
CREATE TABLE th.booking (id int PRIMARY KEY, tenant varchar(10) NOT NULL, room int NOT NULL, during tsrange NOT NULL,
                         EXCLUDE USING gist (during WITH &&));
CREATE TABLE th.login (tenant varchar(10) NOT NULL, login text NOT NULL, UNIQUE (login) INCLUDE (tenant),
                       UNIQUE (tenant, login));
CREATE TABLE th.note_ref (id int PRIMARY KEY, account_id int REFERENCES th.account (id));
-- partial and deferrable unique keys without the tenant column are oracles too
CREATE UNIQUE INDEX login_active ON th.login (lower(login)) WHERE login <> '';
ALTER TABLE th.login ADD CONSTRAINT login_deferred UNIQUE (login) DEFERRABLE INITIALLY DEFERRED;
CREATE UNIQUE INDEX login_tenant_partial ON th.login (tenant, lower(login)) WHERE login <> '';
SELECT qs.enable_tenant_scoping('th.booking', 'tenant');
SELECT qs.enable_tenant_scoping('th.login', 'tenant');
RESET ROLE;
SELECT severity, object, finding FROM qs.tenant_audit()
WHERE (object LIKE 'th.%' OR object LIKE 'th\_%') AND finding NOT LIKE 'index does not start%' ORDER BY 1, 2, 3;

-- 8. qs.tenant_scope is written by the extension's functions only
SET ROLE th_app;
INSERT INTO qs.tenant_scope VALUES ('th.account', 'tenant', NULL, '{public}', true, false, NULL, false, false);
DELETE FROM qs.tenant_scope;
CREATE TEMP TABLE th_tmp (id int, tenant_id int);
SELECT qs.enable_tenant_scoping('pg_temp.th_tmp');
SELECT qs._tenant_scope_record('pg_temp.th_tmp', 'tenant_id', NULL, '{public}', true, false, NULL, false, false);
-- another role's table
SELECT qs.disable_tenant_scoping('th.account');
SELECT qs._tenant_scope_forget('th.account');
SELECT qs._tenant_scope_record('th.note_ref', 'id', NULL, '{public}', true, false, NULL, false, false);
RESET ROLE;
-- the owner, for a table without the policy: refused too
SET ROLE th_owner;
SELECT qs._tenant_scope_record('th.note_ref', 'id', NULL, '{public}', true, false, NULL, false, false);
RESET ROLE;
SELECT model, tenant_column FROM qs.tenant_scope WHERE model::text LIKE 'th.%' ORDER BY 1;
SELECT grantee, privilege_type FROM information_schema.role_table_grants
WHERE table_schema = 'qs' AND table_name = 'tenant_scope' ORDER BY 1, 2;

-- 9. the unsafe "pooler's session role" pattern: a role that may choose
-- tenants and then runs application SQL after SET ROLE gives that SQL the
-- power to choose: RESET ROLE undoes SET ROLE (docs/tenancy.md shows the
-- safe patterns only)
BEGIN;
SET LOCAL SESSION AUTHORIZATION th_pooler;
SELECT qs.set_tenant('a');
SET LOCAL ROLE th_app;
-- application SQL from here on
RESET ROLE;
SELECT current_user AS now_running_as, qs.set_tenant('b') AS chose_tenant;
SELECT count(*) AS rows_of_b FROM th.account;
ROLLBACK;

-- the audit reports settings that expose tokens
SET log_parameter_max_length_on_error = 64;
SET pg_queryset.allow_literal_token = on;
SET pg_queryset.tenant_token_max_age = 0;
SELECT severity, object, finding FROM qs.tenant_audit() WHERE object IN ('server log', 'pg_queryset.allow_literal_token', 'pg_queryset.tenant_token_max_age') ORDER BY 1, 2, 3;
RESET log_parameter_max_length_on_error;
RESET pg_queryset.allow_literal_token;
RESET pg_queryset.tenant_token_max_age;
SELECT count(*) AS token_findings_after_reset FROM qs.tenant_audit() WHERE object IN ('server log', 'pg_queryset.allow_literal_token', 'pg_queryset.tenant_token_max_age');

-- a token stored in the catalogs is refused (ALTER ROLE ... SET, a function's SET clause)
ALTER ROLE th_app SET pg_queryset.tenant_token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA';
CREATE FUNCTION th.f() RETURNS int LANGUAGE sql SET pg_queryset.tenant_token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA' AS 'SELECT 1';
-- and so is one written into the statement (set_config, SET, qs.set_tenant_token)
SELECT set_config('pg_queryset.tenant_token', 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA', true);
SET pg_queryset.tenant_token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA';
SELECT qs.set_tenant_token('eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA');
-- the same value read from a table is not in the statement: it passes the
-- literal check (and then fails verification: no secret is set here)
CREATE TABLE th.tok AS SELECT 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOjF9.AAAAAAAAAAAAAAAAAAAA'::text AS t;
SELECT qs.set_tenant_token(t) FROM th.tok;

DROP SCHEMA th CASCADE;
DROP SCHEMA th_open CASCADE;
DROP OWNED BY th_app, th_owner, th_pooler;
DROP ROLE th_app, th_owner, th_pooler;
