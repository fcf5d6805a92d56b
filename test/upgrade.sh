#!/usr/bin/env bash
# The upgrade path (issue 14): install pg_queryset 0.1.0 from its frozen
# install script (test/upgrade/pg_queryset--0.1.0.sql, byte for byte the
# script 0.1.0 shipped), create data, managers, relation names and tenant
# scoping (one table scoped while a planted = was first in search_path,
# as 0.1.0 allowed), run ALTER EXTENSION pg_queryset UPDATE, and check
# that everything still works, that the planted operator left the
# policies, that the updated catalog equals a fresh install (extension
# members, function definitions, config tables' grants, RLS and policies,
# \dx+), and that the config tables survive pg_dump/restore after the
# upgrade.  Runs against the cluster of PGHOST/PGPORT with the
# installation of PG_CONFIG (default: pg_config on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
PGC="${PG_CONFIG:-pg_config}"
EXT="$("$PGC" --sharedir)/extension"
OLD="$EXT/pg_queryset--0.1.0.sql"
CUR="$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" pg_queryset.control)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
n=0; failures=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failures=$((failures + 1)); fi; }
die() { echo "not ok - upgrade: $*"; echo "# upgrade: FAILED"; exit 1; }

[ -f "$EXT/pg_queryset--$CUR.sql" ] || die "pg_queryset $CUR is not installed in $EXT"
[ -f "$EXT/pg_queryset--0.1.0--$CUR.sql" ] || [ "$CUR" = 0.1.0 ] || die "no upgrade script 0.1.0--$CUR in $EXT"
cp test/upgrade/pg_queryset--0.1.0.sql "$OLD" || die "cannot install the 0.1.0 script into $EXT"
trap 'rm -f "$OLD"' EXIT
for db in qs_up_old qs_up_new qs_up_dump; do dropdb --if-exists "$db" >/dev/null 2>&1 || true; done
createdb qs_up_old || die "createdb failed"
createdb qs_up_new || die "createdb failed"

# 0.1.0, with everything a user of it would have
"${PSQL[@]}" -d qs_up_old >/dev/null <<'SQL' || die "setting up 0.1.0 failed"
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset VERSION '0.1.0';
\i test/fixtures/demo_schema.sql
\set scale 1
\i test/fixtures/demo_data.sql
SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}, "order_by": ["-price"]}');
DROP ROLE IF EXISTS qs_up_app;
CREATE ROLE qs_up_app;
GRANT USAGE ON SCHEMA qs TO qs_up_app;
CREATE TABLE up_doc (id serial PRIMARY KEY, tenant varchar(8) NOT NULL, title text NOT NULL);
INSERT INTO up_doc (tenant, title) VALUES ('a', 'a1'), ('a', 'a2'), ('b', 'b1');
GRANT SELECT, INSERT, UPDATE ON up_doc TO qs_up_app;
GRANT USAGE ON SEQUENCE up_doc_id_seq TO qs_up_app;
-- a planted = for varchar, first in search_path while the table is scoped
CREATE SCHEMA up_plant;
CREATE FUNCTION up_plant.always(varchar, varchar) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR up_plant.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = up_plant.always);
SET search_path = up_plant, public;
SELECT qs.enable_tenant_scoping('up_doc', 'tenant', '{"default": true}');
RESET search_path;
SELECT qs.enable_tenant_scoping('shop_order', 'user_id');
SQL
planted() { psql -X -tA -d qs_up_old -c "SELECT count(*) FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
  JOIN pg_operator o ON d.refclassid = 'pg_operator'::regclass AND o.oid = d.refobjid
  WHERE p.polrelid = 'up_doc'::regclass AND o.oprnamespace = 'up_plant'::regnamespace"; }
tenant_a_rows() {  # db: the rows of up_doc tenant a sees as the application role
  psql -X -q -tA -d "${1:-qs_up_old}" <<'SQL' | tail -1
BEGIN;
SELECT qs.set_tenant('a') \g /dev/null
SET LOCAL ROLE qs_up_app;
SELECT count(*) FROM up_doc;
COMMIT;
SQL
}
ok "$([ "$(planted)" -gt 0 ] && echo 0 || echo 1)" "under 0.1.0 the planted operator entered the policies (the vulnerability the upgrade repairs)"
ok "$([ "$(tenant_a_rows)" = 3 ] && echo 0 || echo 1)" "under 0.1.0 tenant a sees tenant b's row through it"

"${PSQL[@]}" -d qs_up_old -c "ALTER EXTENSION pg_queryset UPDATE" || die "ALTER EXTENSION pg_queryset UPDATE failed"
v="$(psql -X -tA -d qs_up_old -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_queryset'")"
ok "$([ "$v" = "$CUR" ] && echo 0 || echo 1)" "ALTER EXTENSION UPDATE reaches $CUR (got $v)"
ok "$([ "$(planted)" = 0 ] && echo 0 || echo 1)" "after the update no policy uses the planted operator"
ok "$([ "$(tenant_a_rows)" = 2 ] && echo 0 || echo 1)" "after the update tenant a sees its 2 rows only"

# everything still works
got="$(psql -X -q -tA -d qs_up_old -v ON_ERROR_STOP=1 <<'SQL'
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"status": "active", "stock__gt": 0}')) > 0;
SELECT string_agg(name, ',' ORDER BY name) FROM qs.relations('shop_order') WHERE name = 'items';
SELECT jsonb_array_length(qs.json(qs.slice(qs.use(qs.objects('catalog_product'), 'by_category', '{"slug": "laptops"}'), 0, 2))::jsonb);
BEGIN;
SELECT qs.set_tenant('b') \g /dev/null
SET LOCAL ROLE qs_up_app;
INSERT INTO up_doc (title) VALUES ('b2') RETURNING tenant;
ROLLBACK;
SELECT count(*) FROM qs.tenant_audit();
SELECT qs.disable_tenant_scoping('shop_order');
SELECT qs.enable_tenant_scoping('shop_order', 'user_id');
SQL
)" || true
want="t
items
2
b
$(psql -X -tA -d qs_up_old -c "SELECT count(*) FROM qs.tenant_audit()")
t
t"
ok "$([ "$got" = "$want" ] && echo 0 || echo 1)" "after the update: queries, relation names, managers, the tenant default, the audit, disable and enable work"
[ "$got" = "$want" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; echo "# want:"; echo "$want" | sed 's/^/#   /'; }

# the updated catalog equals a fresh install
"${PSQL[@]}" -d qs_up_new -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_queryset" >/dev/null || die "a fresh install failed"
catalog() {
  psql -X -tA -d "$1" -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
WHERE e.extname = 'pg_queryset' AND d.deptype = 'e' ORDER BY 1;
SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '-')
FROM pg_proc p WHERE p.pronamespace = 'qs'::regnamespace AND p.prokind = 'f' ORDER BY 1;
SELECT 'table ' || c.relname || ' acl=' || coalesce(c.relacl::text, '-') || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
FROM pg_class c WHERE c.relnamespace = 'qs'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'qs'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
FROM pg_policies WHERE schemaname = 'qs' ORDER BY 1;
SELECT 'config ' || c::regclass::text FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'pg_queryset' ORDER BY 1;
SELECT 'type ' || t.typname || ' ' || coalesce(pg_get_constraintdef(k.oid), '')
FROM pg_type t LEFT JOIN pg_constraint k ON k.contypid = t.oid WHERE t.typnamespace = 'qs'::regnamespace AND t.typtype = 'd' ORDER BY 1;
SQL
}
catalog qs_up_old > /tmp/qs_up_old.catalog || die "reading the updated catalog failed"
catalog qs_up_new > /tmp/qs_up_new.catalog || die "reading the fresh catalog failed"
members="$(grep -c '^member ' /tmp/qs_up_new.catalog)"
if diff -u /tmp/qs_up_new.catalog /tmp/qs_up_old.catalog > /tmp/qs_up.diff; then
  ok 0 "the updated catalog equals a fresh $CUR install ($members members, function definitions, config tables' grants, RLS, policies, columns)"
else
  ok 1 "the updated catalog equals a fresh $CUR install"; head -40 /tmp/qs_up.diff | sed 's/^/# /'
fi
dx() { psql -X -d "$1" -c '\dx+ pg_queryset' | sed 's/^Objects in extension.*//'; }
if [ "$(dx qs_up_old)" = "$(dx qs_up_new)" ]; then ok 0 "\\dx+ pg_queryset lists the same objects"; else ok 1 "\\dx+ pg_queryset lists the same objects"; fi

# the config tables survive pg_dump/restore after the upgrade
createdb qs_up_dump
if pg_dump -Fc qs_up_old | pg_restore -d qs_up_dump >/dev/null 2>&1; then
  got="$(psql -X -tA -d qs_up_dump -c "SELECT (SELECT count(*) FROM qs.tenant_scope) || ' ' || (SELECT count(*) FROM qs.manager) || ' ' ||
    (SELECT count(*) FROM qs.method) || ' ' || (SELECT count(*) FROM qs.relation_name) || ' ' ||
    (SELECT extversion FROM pg_extension WHERE extname = 'pg_queryset')")"
  want="$(psql -X -tA -d qs_up_old -c "SELECT (SELECT count(*) FROM qs.tenant_scope) || ' ' || (SELECT count(*) FROM qs.manager) || ' ' ||
    (SELECT count(*) FROM qs.method) || ' ' || (SELECT count(*) FROM qs.relation_name) || ' ' ||
    (SELECT extversion FROM pg_extension WHERE extname = 'pg_queryset')")"
  ok "$([ "$got" = "$want" ] && [ -n "$got" ] && echo 0 || echo 1)" "config tables survive pg_dump/restore after the upgrade ($got)"
  rows="$(tenant_a_rows qs_up_dump)"
  ok "$([ "$rows" = 2 ] && echo 0 || echo 1)" "the restored copy is still scoped (tenant a sees $rows rows)"
else
  ok 1 "pg_dump | pg_restore of the upgraded database"
fi

for db in qs_up_old qs_up_new qs_up_dump; do dropdb --if-exists "$db" >/dev/null 2>&1 || true; done
psql -X -q -d postgres -c "DROP ROLE IF EXISTS qs_up_app" >/dev/null 2>&1 || true
echo "1..$n"
if [ "$failures" = 0 ]; then echo "# upgrade: all $n tests passed"; else echo "# upgrade: $failures of $n tests FAILED"; exit 1; fi
