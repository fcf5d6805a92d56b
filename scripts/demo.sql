-- pg_queryset demo: a Django shop's everyday queries, as SQL calls.
\pset pager off
\pset null '(null)'
SET timezone = 'UTC';
\echo
\echo '# 1. A QuerySet is a JSON document, built lazily (no table is read yet)'
SELECT qs.order_by(
         qs.filter(qs.all('catalog_product'),
                   '{"status": "active", "stock__gt": 0, "price__range": [50, 500]}'),
         '-created_at') AS queryset;

\echo '# 2. ...and evaluated by a terminal: the active, in-stock products between 50 and 500'
SELECT qs.json(
         qs.slice(
           qs.values(
             qs.order_by(
               qs.filter(qs.all('catalog_product'),
                         '{"status": "active", "stock__gt": 0, "price__range": [50, 500]}'),
               '-created_at'),
             'id', 'name', 'price', 'stock'),
           0, 5)) AS newest_five;

\echo '# 3. The SQL it runs: values are parameters, identifiers come from the catalog'
SELECT qs.sql(qs.filter(qs.all('catalog_product'),
                        '{"status": "active", "stock__gt": 0, "price__range": [50, 500]}')) AS sql,
       qs.params(qs.filter(qs.all('catalog_product'),
                           '{"status": "active", "stock__gt": 0, "price__range": [50, 500]}')) AS params;

\echo '# 4. Q objects: OR, NOT, LIKE with escaped wildcards, JSONB keys, arrays, dates'
SELECT qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'),
         '{"$or": [{"name__icontains": "100%"}, {"name__contains": "_C"}],
           "$not": {"status": "archived"}}'), 'id'), '{id,name}')) AS escaped_wildcards;
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__color": "red"}')) AS red,
       qs.count(qs.filter(qs.all('catalog_product'), '{"metadata__has_key": "dimensions"}')) AS with_dimensions,
       qs.count(qs.filter(qs.all('catalog_product'), '{"keywords__overlap": ["wireless", "eco"]}')) AS wireless_or_eco,
       qs.count(qs.filter(qs.all('shop_order'), '{"created_at__year": 2025, "created_at__quarter": 1}')) AS orders_2025_q1;

\echo '# 5. Django semantics: get() raises, first()/last() order by pk, count() of a slice'
SELECT qs.get(qs.only(qs.all('auth_user'), 'username', 'email'), '{"username": "user0007"}') AS get;
SELECT qs.first(qs.only(qs.all('shop_order'), 'status'))->>'id' AS first_order,
       qs.last(qs.only(qs.all('shop_order'), 'status'))->>'id' AS last_order,
       qs.count(qs.slice(qs.all('shop_order'), 10, 30)) AS slice_count;
\set ON_ERROR_STOP 0
SELECT qs.get(qs.all('auth_user'), '{"username": "nobody"}');
SELECT qs.filter(qs.all('catalog_product'), '{"colour": "red"}');
\set ON_ERROR_STOP 1

\echo '# 6. in_bulk, typed rows, and an open cursor for streaming exports'
SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'name'), '["sale", "eco"]', 'slug') AS in_bulk;
SELECT id, username, email FROM qs.fetch(qs.slice(qs.order_by(qs.all('auth_user'), '-date_joined'), 0, 3), NULL::auth_user);
BEGIN;
SELECT qs.cursor(qs.values_list(qs.order_by(qs.filter(qs.all('shop_order'), '{"status": "delivered"}'), 'id'),
                                '{id,total,created_at__date}'), 'export') AS cursor;
FETCH 3 FROM export;
COMMIT;

\echo '# 7. Plans are cached per shape: the second call with other values is a hit'
SELECT qs.plan_cache_reset();
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"category_id": 3}')) AS cat3,
       qs.count(qs.filter(qs.all('catalog_product'), '{"category_id": 4}')) AS cat4;
SELECT * FROM qs.plan_cache_stats();

\echo '# 8. Relations come from foreign keys; give them Django names once, for every client'
SELECT name, kind, target, columns FROM qs.relations('shop_order') ORDER BY name COLLATE "C";
SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');
SELECT qs.name_relation('catalog_product', 'catalog_tag', 'tags');
SELECT name, default_name, kind, target FROM qs.relations('catalog_product') ORDER BY name COLLATE "C";

\echo '# 9. The N+1 killer: a user''s orders with address, items, products and categories -- ONE statement'
SELECT jsonb_pretty(qs.first(qs.only(
         qs.prefetch_related(qs.select_related(qs.order_by(qs.filter(qs.all('shop_order'), '{"user": 7}'), '-created_at'),
                                               'shipping_address'), 'items__product__category'),
         'status', 'total', 'shipping_address__city', 'items__quantity', 'items__product__name',
         'items__product__category__name'))) AS latest_order_graph;

\echo '# 10. Filters across relations never duplicate rows (EXISTS), and OR across relations is one predicate'
SELECT qs.count(qs.filter(qs.all('shop_order'),
         '{"$or": [{"items__product__status": "archived"}, {"shipping_address__city": "Oslo"}]}')) AS archived_or_oslo,
       qs.count(qs.filter(qs.all('catalog_product'), '{"tags__name__in": ["sale", "eco"]}')) AS on_sale_or_eco;

\echo '# 11. The dashboard, computed in the database: revenue by category, never inflated'
SELECT qs.json('{"model": "shop_orderitem", "where": {"order__created_at__year": 2025},
  "values": ["product__category__name"],
  "annotate": [{"revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"units_sold": {"Sum": "quantity"}}],
  "order_by": ["-revenue"], "limit": 3}') AS revenue_by_category;
SELECT qs.aggregate('{"model": "shop_order", "where": {"user": 7}}',
  '{"orders": {"Count": "id"}, "items": {"Count": "items"}, "spent": {"Sum": "total"}}') AS user_7;

\echo '# 12. Writes: an order with its items in one atomic call, and a race-free stock decrement'
BEGIN;
SELECT jsonb_array_length(qs.create('shop_order', '{"public_id": "7f1c2a3e-0000-4000-8000-00000000d3d0", "user": 7, "status": "pending",
  "total": "29.97", "items": [{"product": 13, "quantity": 2, "unit_price": "9.99"}, {"product": 14, "quantity": 1, "unit_price": "9.99"}]}')->'items') AS items_created;
SELECT qs.update('{"model": "catalog_product", "where": {"id": 13, "stock__gte": 2}}', '{"stock": {"-": [{"F": "stock"}, 2]}}') AS decremented;
ROLLBACK;

\echo '# 13. Managers and methods: Product.objects.active().by_category("laptops"), for every client'
BEGIN;
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}}');
SELECT qs.count('{"model": "catalog_product", "manager": "objects", "use": [{"by_category": {"slug": "laptops"}}]}') AS laptops;
ROLLBACK;

\echo '# 14. A query budget for any client: a naive loop fails it, one qs.json passes'
BEGIN;
SET LOCAL pg_queryset.query_budget = 3;
SELECT jsonb_array_length(qs.json('{"model": "shop_order", "where": {"user": 7}, "prefetch_related": ["items__product"]}')::jsonb) AS orders_in_one_statement;
COMMIT;

\echo '# 15. Tenant scoping: row-level security the application role cannot step around'
BEGIN;
CREATE ROLE demo_app;
GRANT USAGE ON SCHEMA qs TO demo_app;
GRANT SELECT, UPDATE ON shop_order TO demo_app;
SELECT qs.enable_tenant_scoping('shop_order', 'user_id') AS scoped;
SELECT qs.set_tenant('7');
SET LOCAL ROLE demo_app;
SELECT qs.count(qs.all('shop_order')) AS tenant_7_orders, (SELECT count(DISTINCT user_id) FROM shop_order) AS tenants_visible,
       qs.current_tenant() AS tenant;
SELECT qs.update('{"model": "shop_order", "where": {"user": 8}}', '{"status": "cancelled"}') AS other_tenant_rows_updated;
RESET ROLE;
SELECT severity, object, finding FROM qs.tenant_audit() WHERE object LIKE 'shop_order%' ORDER BY 1, 2 LIMIT 3;
ROLLBACK;
