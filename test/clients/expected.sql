-- The oracle of clients/expected.out: every workload of
-- clients/PROTOCOL.md computed with psql as a superuser, on a fresh copy
-- of the clients' template database.  Regenerate with
--   psql -X -At -F '	' -v ON_ERROR_STOP=1 -d COPY -f test/clients/expected.sql > clients/expected.out
-- Prints label<TAB>json lines in the protocol's order; the writes run in
-- the same order as the clients run them.
\set QUIET on
\set W '["2025-01-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00"]'
SELECT 'order_graph', qs.json('{"model":"shop_order","where":{"id":42},"select_related":["user","shipping_address"],"prefetch_related":["items__product__category"],"only":["status","total","created_at","user__username","shipping_address__city","items__quantity","items__unit_price","items__product__name","items__product__category__name"]}');
SELECT 'dashboard.revenue_by_category', qs.json(jsonb_build_object('model', 'shop_orderitem', 'where', jsonb_build_object('order__created_at__range', :'W'::jsonb)) || '{"values":["product__category__name"],"annotate":[{"revenue":{"Sum":{"*":["quantity","unit_price"]}}},{"units_sold":{"Sum":"quantity"}}],"order_by":["-revenue"],"limit":10}');
SELECT 'dashboard.monthly', qs.json(jsonb_build_object('model', 'shop_order', 'where', jsonb_build_object('created_at__range', :'W'::jsonb)) || '{"values":["month"],"annotate":[{"month":{"TruncMonth":"created_at"}},{"revenue":{"Sum":"total"}},{"order_count":{"Count":"id"}},{"avg_order_value":{"Avg":"total"}}],"order_by":["month"]}');
SELECT 'dashboard.top_products', qs.json(jsonb_build_object('model', 'shop_orderitem', 'where', jsonb_build_object('order__created_at__range', :'W'::jsonb)) || '{"values":["product__name","product__id"],"annotate":[{"total_revenue":{"Sum":{"*":["quantity","unit_price"]}}},{"total_units":{"Sum":"quantity"}}],"order_by":["-total_revenue","product__id"],"limit":5}');
SELECT 'dashboard.low_stock', qs.json('{"model":"catalog_product","where":{"status":"active","stock__lte":2},"values":["id","name","stock","category__name"],"order_by":["stock","id"],"limit":10}');
SELECT 'products.chain', qs.json('{"model":"catalog_product","manager":"objects","use":[{"active":{}},{"in_stock":{}},{"by_category":{"slug":"laptops"}},{"in_price_range":{"min_price":50,"max_price":2000}}],"values":["id","name","price","stock","category__name"],"order_by":["price","id"],"limit":5}');
SELECT 'products.chain_count', qs.count('{"model":"catalog_product","manager":"objects","use":[{"active":{}},{"in_stock":{}},{"by_category":{"slug":"laptops"}},{"in_price_range":{"min_price":50,"max_price":2000}}]}');
SELECT 'products.get', qs.get('{"model":"catalog_product","only":["name","price"]}', '{"id":21}');

-- errors: each case run, its SQLSTATE caught
CREATE TEMP TABLE err (k text, v text);
DO $$
DECLARE st text;
BEGIN
  BEGIN PERFORM qs.get('{"model":"catalog_product"}', '{"id":999999}'); EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE; INSERT INTO err VALUES ('does_not_exist', st); END;
  BEGIN PERFORM qs.get('{"model":"catalog_product"}', '{"status":"active"}'); EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE; INSERT INTO err VALUES ('multiple', st); END;
  BEGIN PERFORM qs.count('{"model":"catalog_product","where":{"colour":"red"}}'); EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE; INSERT INTO err VALUES ('field_error', st); END;
  BEGIN PERFORM qs.count('{"model":"catalog_product","limit":-1}'); EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE; INSERT INTO err VALUES ('invalid', st); END;
  -- assembled, so that neither the token nor its signature is in the statement's text (which is refused, 42501, as it would be for a client)
  BEGIN PERFORM qs.set_tenant_token(concat_ws('.', 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'eyJ0ZW5hbnRfaWQiOiIyIiwiYXVkIjoicXMtY2xpZW50cyJ9', 'c2lnbmVkLXdp' || 'dGgtd3Jvbmctc2VjcmV0'));  EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE; INSERT INTO err VALUES ('forged_token', st); END;
END $$;
BEGIN;
SET LOCAL pg_queryset.query_budget = 2;
SELECT qs.count('{"model":"catalog_product"}') \g /dev/null
SELECT qs.count('{"model":"catalog_product"}') \g /dev/null
\set ON_ERROR_STOP off
SELECT qs.count('{"model":"catalog_product"}') \g /dev/null
\set ON_ERROR_STOP on
ROLLBACK;
-- the statement above failed with 54000 (psql printed it on stderr)
INSERT INTO err VALUES ('budget', '54000');
SELECT 'errors', jsonb_object_agg(k, CASE v WHEN 'P0002' THEN 'DoesNotExist' WHEN 'P0003' THEN 'MultipleObjectsReturned'
         WHEN '42703' THEN 'FieldError' WHEN '22023' THEN 'InvalidQuery' WHEN '28000' THEN 'InvalidToken'
         WHEN '54000' THEN 'LimitExceeded' ELSE 'DatabaseError' END || '/' || v) FROM err;

-- stock.decrement: sell 2 at a time until the update reports none
CREATE TEMP TABLE sold (n int);
DO $$
BEGIN
  LOOP
    EXIT WHEN qs.update('{"model":"catalog_product","where":{"id":13,"stock__gte":2}}', '{"stock":{"-":[{"F":"stock"},2]}}') = 0;
    INSERT INTO sold VALUES (2);
  END LOOP;
END $$;
SELECT 'stock.decrement', jsonb_build_object('product', 13, 'sold', (SELECT jsonb_agg(n) FROM sold), 'out_of_stock', true,
       'stock_left', (qs.get('{"model":"catalog_product","only":["stock"]}', '{"id":13}') -> 'stock'));

-- each write its own statement, as the clients send them (a statement does not see its own function's writes)
CREATE TEMP TABLE bu AS SELECT qs.bulk_update('catalog_product', '[{"id":21,"price":"12.50"},{"id":22,"price":"99.00"},{"id":23,"price":"7.25"}]', '{price}') AS updated;
SELECT 'prices.bulk_update', jsonb_build_object('updated', updated,
       'rows', qs.json('{"model":"catalog_product","where":{"id__in":[21,22,23]},"values":["id","price"],"order_by":["id"]}')::jsonb) FROM bu;
CREATE TEMP TABLE pr AS SELECT qs.update('{"model":"catalog_product","where":{"category__slug":"laptops","status":"active"}}', '{"price":{"*":[{"F":"price"},1.1]}}') AS updated;
SELECT 'prices.raise', jsonb_build_object('updated', updated,
       'total', qs.aggregate('{"model":"catalog_product","where":{"category__slug":"laptops","status":"active"}}', '{"total":{"Sum":"price"}}') -> 'total') FROM pr;

-- export.csv: the file the clients write, hashed
WITH r AS (SELECT row_number() OVER () AS n, x FROM qs.rows('{"model":"shop_order","where":{"status":"delivered"},"annotate":[{"total_text":{"Cast":"total","output_field":"text"}}],"values_list":["id","total_text","created_at__date"],"order_by":["id"]}') AS x),
     l AS (SELECT n, (x->>0) || ',' || (x->>1) || ',' || (x->>2) AS line FROM r)
SELECT 'export.csv', jsonb_build_object('rows', count(*), 'batches', ceil(count(*) / 100.0)::int,
       'sha256', encode(sha256(convert_to('id,total,date' || chr(10) || string_agg(line || chr(10), '' ORDER BY n), 'UTF8')), 'hex'),
       'first', min(line) FILTER (WHERE n = 1)) FROM l;

-- tenant.request for tenant 2 (the superuser sets the tenant; clients send a token)
BEGIN;
SELECT qs.set_tenant('2') \g /dev/null
CREATE TEMP TABLE t AS SELECT qs.current_tenant() AS tenant, qs.count('{"model":"tenancy_project"}') AS visible,
       qs.count('{"model":"tenancy_project","where":{"tenant_id":3}}') AS other;
CREATE TEMP TABLE c AS SELECT (qs.create('tenancy_project', '{"name": "client project", "status": "active"}') ->> 'tenant_id')::int AS created;
CREATE TEMP TABLE a AS SELECT qs.count('{"model":"tenancy_project"}') AS after_create;
COMMIT;
SELECT 'tenant.request', jsonb_build_object('tenant', tenant, 'visible', visible, 'other_tenant_visible', other,
       'created_tenant_id', created, 'after_create', after_create, 'without_token', qs.count('{"model":"tenancy_project"}'))
FROM t, c, a;
