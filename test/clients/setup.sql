-- The database every client program of clients/ runs against
-- (test/clients.sh, bench/clients.sh).  Run as a superuser on a database
-- holding the demo shop (test/fixtures/demo_schema.sql + demo_data.sql at
-- scale 1).  Clients connect as qs_client, an ordinary login role with a
-- password, through PgBouncer.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_queryset;

-- Django's related names, once, for every client
SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');
SELECT qs.name_relation('catalog_product', 'catalog_tag', 'tags');

-- ProductQuerySet.as_manager(): the default manager hides archived
-- products; its methods chain like the article's
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_method('catalog_product', 'active', '{"where": {"status": "active"}}');
SELECT qs.define_method('catalog_product', 'in_stock', '{"where": {"stock__gt": 0}}');
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}}');
SELECT qs.define_method('catalog_product', 'in_price_range',
  '{"where": {"price__gte": {"$param": "min_price"}, "price__lte": {"$param": "max_price"}}}');

-- the product the stock workload sells out: 5 units, sold 2 at a time
UPDATE catalog_product SET stock = 5 WHERE id = 13;

-- tenants: the demo's 5 plus 55 more, so 50 concurrent clients each own one
INSERT INTO tenancy_tenant (id, name, slug, created_at)
SELECT i, 'Tenant ' || i, 'tenant-' || i, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 day'
FROM generate_series(6, 60) AS i;
SELECT setval(pg_get_serial_sequence('tenancy_tenant', 'id'), 60);
-- two projects per new tenant, so every tenant starts with known rows
INSERT INTO tenancy_project (tenant_id, name, status, budget, created_at)
SELECT t, 'Project ' || t || '-' || k, 'active', 1000 * k, timestamptz '2024-06-01 00:00:00+00' + (t * 2 + k) * interval '1 hour'
FROM generate_series(6, 60) AS t, generate_series(1, 2) AS k;
SELECT qs.enable_tenant_scoping('tenancy_project', 'tenant_id', '{"default": true}');

-- the application login: an ordinary role, no BYPASSRLS, not the owner
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'qs_client') THEN
    CREATE ROLE qs_client LOGIN PASSWORD 'qs-client-pw';
  END IF;
END $$;
-- timestamps in the expected output are UTC, whatever the machine's zone
-- (JDBC sends the JVM's zone at connect: test/clients.sh runs clients with TZ=UTC)
ALTER ROLE qs_client SET TimeZone = 'UTC';
GRANT USAGE ON SCHEMA public, qs TO qs_client;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO qs_client;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO qs_client;
