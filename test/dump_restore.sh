#!/usr/bin/env bash
# pg_dump / restore keeps pg_queryset's configuration: the relation names
# in qs.relation_name and the managers and methods in qs.manager and
# qs.method (extension config tables) come back in a new database, and
# the restored relations, managers and methods work.  Runs against the
# cluster described by PGHOST/PGPORT (scripts/test.sh starts it).  A step
# that fails (no connection, a failed pg_dump or pg_restore - pipefail -
# or setup) is "not ok" with the command that failed, never a silent exit.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'rc=$?; echo "not ok - dump/restore: a step failed (exit $rc, line $LINENO): $BASH_COMMAND"; exit 1' ERR
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 \
  || { echo "not ok - dump/restore: pg_dump or pg_restore is not installed (postgresql-client-15)"; exit 1; }
src=qs_dump_src
dst=qs_dump_dst
dropdb --if-exists "$src" >/dev/null 2>&1 || true
dropdb --if-exists "$dst" >/dev/null 2>&1 || true
createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');
SELECT qs.name_relation('catalog_product', 'catalog_tag', 'tags');
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}, "order_by": ["-price"]}');
SQL
createdb "$dst"
pg_dump -Fc "$src" | pg_restore -d "$dst"
got=$(psql -X -tA -v ON_ERROR_STOP=1 -d "$dst" -c \
  "SELECT string_agg(name || '=' || default_name, ',' ORDER BY name)
     FROM (SELECT * FROM qs.relations('shop_order') UNION ALL
           SELECT * FROM qs.relations('catalog_product')) r
    WHERE name <> default_name")
want="items=shop_orderitem,tags=catalog_tag"
dropdb "$src"; dropdb "$dst"
if [ "$got" != "$want" ]; then
  echo "not ok - dump/restore lost relation names: got '$got', want '$want'"
  exit 1
fi
echo "ok - relation names survive pg_dump and pg_restore ($got)"

# managers and methods: defined in the source, used in the restored copy
createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
INSERT INTO catalog_category (id, name, slug) VALUES (1, 'Laptops', 'laptops'), (2, 'Books', 'books');
INSERT INTO catalog_product (name, slug, category_id, price, status)
VALUES ('a', 'a', 1, 10, 'active'), ('b', 'b', 1, 20, 'archived'), ('c', 'c', 1, 30, 'active'), ('d', 'd', 2, 5, 'active');
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}, "order_by": ["-price"]}');
SQL
createdb "$dst"
pg_dump -Fc "$src" | pg_restore -d "$dst"
got=$(psql -X -tA -v ON_ERROR_STOP=1 -d "$dst" -c \
  "SELECT string_agg(kind || ':' || name, ',' ORDER BY kind, name) || ' ' ||
          (SELECT string_agg(r->>'slug', ',') FROM qs.rows(qs.use(qs.objects('catalog_product'), 'by_category', '{\"slug\": \"laptops\"}')) r)
     FROM qs.managers('catalog_product')")
want="manager:objects,method:by_category c,a"
dropdb "$src"; dropdb "$dst"
if [ "$got" != "$want" ]; then
  echo "not ok - dump/restore lost managers or methods: got '$got', want '$want'"
  exit 1
fi
echo "ok - managers and methods survive pg_dump and pg_restore and work ($got)"

# tenant scoping: policies, forced RLS, the tenant default and the scope
# records come back, and the restored table is still scoped and works
createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
DROP ROLE IF EXISTS qs_dump_owner;
CREATE ROLE qs_dump_owner;
CREATE TABLE dr_doc (id serial PRIMARY KEY, tenant_id int NOT NULL, title text NOT NULL);
ALTER TABLE dr_doc OWNER TO qs_dump_owner;
GRANT USAGE ON SCHEMA qs TO qs_dump_owner;
INSERT INTO dr_doc (tenant_id, title) VALUES (1, 'a'), (2, 'b'), (2, 'c');
SELECT qs.enable_tenant_scoping('dr_doc', options => '{"default": true}');
SQL
createdb "$dst"
pg_dump -Fc "$src" | pg_restore -d "$dst"
got=$(psql -X -tA -v ON_ERROR_STOP=1 -d "$dst" <<'SQL'
SET ROLE qs_dump_owner;
SELECT (SELECT string_agg(model || '/' || tenant_column || '/' || rls_forced || '/' || array_length(policies, 1), ',') FROM qs.tenant_scoped_models())
       || ' ' || (SELECT count(*) FROM dr_doc);
BEGIN;
RESET ROLE;
SELECT qs.set_tenant('2');
SET LOCAL ROLE qs_dump_owner;
INSERT INTO dr_doc (title) VALUES ('d');
SELECT 'tenant2:' || count(*) FROM dr_doc;
COMMIT;
RESET ROLE;
SELECT qs.disable_tenant_scoping('dr_doc');
SQL
)
want="dr_doc/tenant_id/true/4 0
2
tenant2:3
t"
dropdb "$src"; dropdb "$dst"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS qs_dump_owner"
if [ "$(echo "$got" | grep -v '^$' | grep -v '^BEGIN\|^COMMIT\|^SET\|^RESET\|^INSERT' || true)" != "$(echo "$want")" ]; then
  echo "not ok - dump/restore lost tenant scoping: got '$got'"
  exit 1
fi
echo "ok - tenant scoping survives pg_dump and pg_restore"
