-- The guards a DBA pins on the application role (docs/guards.md, issue 18)
-- over the demo shop: pg_queryset.max_rows (error and truncate, compared
-- with the hand-written SQL), pg_queryset.max_affected (the failed write
-- changes nothing), pg_queryset.max_cost (refused before it runs, the
-- estimate in the error), and a role that cannot lift them.
BEGIN;
SELECT plan(45);

-- The SQLSTATE, message and detail of a statement's error ('' when it runs).
CREATE FUNCTION pg_temp.failure(stmt text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  state := ''; message := ''; detail := ''; hint := '';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                          hint = PG_EXCEPTION_HINT;
END $$;

-- ---------------------------------------------------------------------
-- the settings: superuser-only, off by default
-- ---------------------------------------------------------------------
SELECT is((SELECT array_agg(context ORDER BY name COLLATE "C") FROM pg_settings
           WHERE name IN ('pg_queryset.max_rows', 'pg_queryset.max_rows_action', 'pg_queryset.max_affected', 'pg_queryset.max_cost')),
          ARRAY['superuser', 'superuser', 'superuser', 'superuser'], 'the four settings are superuser-only (PGC_SUSET)');
SELECT is((SELECT array_agg(setting ORDER BY name COLLATE "C") FROM pg_settings
           WHERE name IN ('pg_queryset.max_rows', 'pg_queryset.max_rows_action', 'pg_queryset.max_affected', 'pg_queryset.max_cost')),
          ARRAY['0', '0', '0', 'error'], 'off by default; max_rows_action defaults to error');

-- ---------------------------------------------------------------------
-- max_rows, error
-- ---------------------------------------------------------------------
SET LOCAL pg_queryset.max_rows = 50;
SELECT throws_ok($$ SELECT qs.json(qs.filter(qs.all('catalog_product'), '{"status": "active"}')) $$, '54000',
                 'qs.json() would return more than 50 rows, the limit of pg_queryset.max_rows',
                 'max_rows: qs.json over the active products fails');
SELECT throws_ok($$ SELECT count(*) FROM qs.rows(qs.all('shop_order')) $$, '54000',
                 'qs.rows() would return more than 50 rows, the limit of pg_queryset.max_rows', 'max_rows: qs.rows');
SELECT throws_ok($$ SELECT count(*) FROM qs.fetch(qs.all('shop_order'), NULL::shop_order) $$, '54000', NULL, 'max_rows: qs.fetch');
SELECT throws_ok($$ SELECT qs.in_bulk(qs.all('auth_user')) $$, '54000', NULL, 'max_rows: qs.in_bulk');
SELECT throws_ok($$ SELECT qs.json(qs.values(qs.all('shop_orderitem'), 'product_id')) $$, '54000', NULL,
                 'max_rows: a values() read');
SELECT is((pg_temp.failure($$ SELECT qs.json(qs.all('auth_user')) $$)).hint,
          'Filter or slice the queryset to at most 50 rows. Only a superuser can raise the limit '
          '(ALTER ROLE name SET pg_queryset.max_rows = ...; 0 turns it off).', 'the hint names the setting and who raises it');
-- within the limit: the same as the hand-written SQL
SELECT is(qs.json(qs.filter(qs.order_by(qs.all('catalog_product'), 'id'), '{"category": 11, "status": "active"}'))::jsonb,
          (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.id), '[]') FROM catalog_product p WHERE p.category_id = 11 AND p.status = 'active'),
          'max_rows: a read within the limit is unchanged');
SELECT is(qs.count(qs.all('shop_orderitem')), (SELECT count(*) FROM shop_orderitem),
          'max_rows: count is one value, never limited');
SELECT is(qs.get(qs.all('shop_order'), '{"id": 7}')->>'id', '7', 'max_rows: get is one row');
SELECT is(qs.first(qs.all('shop_order'))->>'id', '1', 'max_rows: first is one row');
-- the rows of a graph are its top-level rows: 20 orders with all their items
SELECT is((SELECT sum(jsonb_array_length(o->'shop_orderitem'))::int FROM jsonb_array_elements(
             qs.json(qs.prefetch_related(qs.slice(qs.order_by(qs.all('shop_order'), 'id'), 0, 20), 'shop_orderitem'))::jsonb) o),
          (SELECT count(*)::int FROM shop_orderitem WHERE order_id IN (SELECT id FROM shop_order ORDER BY id LIMIT 20)),
          'max_rows: 20 orders pass with every prefetched item, whatever their number');
SELECT cmp_ok((SELECT count(*) FROM shop_orderitem WHERE order_id IN (SELECT id FROM shop_order ORDER BY id LIMIT 20)), '>', 50::bigint,
              '... and those items are more than max_rows');
-- a qs read nested in a view is guarded too
CREATE TEMP VIEW big_orders AS SELECT r FROM qs.rows(qs.filter(qs.all('shop_order'), '{"total__gte": 0}')) r;
SELECT throws_ok($$ SELECT count(*) FROM big_orders $$, '54000', NULL, 'max_rows: a read inside a view');
-- a cursor: 50 rows come, the 51st fails
SELECT is(qs.cursor(qs.order_by(qs.all('shop_order'), 'id'), 'guard_c')::text, 'guard_c', 'qs.cursor opens under max_rows');
SELECT is((SELECT count(*)::int FROM pg_cursors WHERE name = 'guard_c'), 1, 'the cursor is open');
MOVE 50 IN guard_c;
SELECT throws_ok($$ FETCH 1 FROM guard_c $$, '54000', NULL, 'max_rows: fetching row 51 of a cursor fails');

-- ---------------------------------------------------------------------
-- max_rows, truncate: the first max_rows rows, as LIMIT would give them
-- ---------------------------------------------------------------------
SET LOCAL pg_queryset.max_rows_action = truncate;
SET LOCAL client_min_messages = error;	-- the WARNINGs are checked below
SELECT results_eq($$ SELECT (r->>'id')::bigint FROM qs.rows(qs.order_by(qs.all('shop_order'), '-total', 'id')) r $$,
                  $$ SELECT id FROM shop_order ORDER BY total DESC, id LIMIT 50 $$,
                  'truncate: qs.rows gives the first 50 rows of the ordering');
SELECT is(qs.json(qs.order_by(qs.values(qs.all('catalog_product'), 'id', 'price'), '-price', 'id'))::jsonb,
          (SELECT jsonb_agg(jsonb_build_object('id', id, 'price', price) ORDER BY price DESC, id)
           FROM (SELECT id, price FROM catalog_product ORDER BY price DESC, id LIMIT 50) p),
          'truncate: qs.json gives the first 50 rows');
SELECT results_eq($$ SELECT id, status FROM qs.fetch(qs.order_by(qs.all('shop_order'), 'id'), NULL::shop_order) $$,
                  $$ SELECT id, status FROM shop_order ORDER BY id LIMIT 50 $$, 'truncate: qs.fetch');
SELECT is((SELECT count(*)::int FROM jsonb_object_keys(qs.in_bulk(qs.all('shop_order')))), 50, 'truncate: qs.in_bulk has 50 keys');
SELECT results_eq($$ SELECT (r->>'id')::bigint FROM qs.rows(qs.slice(qs.order_by(qs.all('shop_order'), 'id'), 100)) r $$,
                  $$ SELECT id FROM shop_order ORDER BY id OFFSET 100 LIMIT 50 $$,
                  'truncate: an offset keeps its place');
SELECT is((SELECT count(*)::int FROM qs.rows(qs.all('shop_order'))), 50, 'truncate: 2000 orders come back as 50');
SET LOCAL client_min_messages = warning;
SET LOCAL pg_queryset.max_rows_action = error;
RESET pg_queryset.max_rows;

-- ---------------------------------------------------------------------
-- max_affected: the write fails and changes nothing
-- ---------------------------------------------------------------------
SET LOCAL pg_queryset.max_affected = 20;
CREATE TEMP TABLE stock_before AS SELECT id, stock FROM catalog_product;
SELECT throws_ok($$ SELECT qs.update(qs.filter(qs.all('catalog_product'), '{"category": 16}'), '{"stock": 0}') $$, '54000',
                 'qs.update() would change more than 20 rows, the limit of pg_queryset.max_affected',
                 'max_affected: an update of 68 products fails');
SELECT is((SELECT count(*)::int FROM catalog_product p JOIN stock_before b USING (id) WHERE p.stock <> b.stock), 0,
          '... and changed nothing');
SELECT is((pg_temp.failure($$ SELECT qs.update(qs.filter(qs.all('catalog_product'), '{"category": 16}'), '{"stock": 0}') $$)).detail,
          'It reached 68 rows; the error rolls back every change of the call.', 'the detail has the number of rows');
SELECT is(qs.update(qs.filter(qs.all('catalog_product'), '{"id__lte": 20}'), '{"stock": {"+": [{"F": "stock"}, 1]}}'), 20::bigint,
          'max_affected: exactly 20 rows is allowed');
SELECT throws_ok($$ SELECT qs.delete(qs.filter(qs.all('shop_orderitem'), '{"order__user": 7}')) $$, '54000', NULL,
                 'max_affected: a delete');
SELECT is((SELECT count(*)::int FROM shop_orderitem), 6326, '... and every item is still there');
SELECT throws_ok($$ SELECT qs.bulk_create('catalog_tag', (SELECT jsonb_agg(jsonb_build_object('name', 'guard-tag-' || i, 'slug', 'guard-tag-' || i))
                                                          FROM generate_series(1, 21) i)) $$, '54000', NULL,
                 'max_affected: bulk_create of 21 rows');
SELECT throws_ok($$ SELECT qs.bulk_update('catalog_product', (SELECT jsonb_agg(jsonb_build_object('id', i, 'stock', 1))
                                                              FROM generate_series(1, 25) i), '{stock}', '{"batch_size": 10}') $$,
                 '54000', NULL, 'max_affected: bulk_update of 25 rows in batches of 10');
SELECT is((SELECT count(*)::int FROM catalog_tag WHERE name LIKE 'guard-tag-%'), 0, '... no tag was created');
SELECT throws_ok($$ SELECT qs.create('shop_order', jsonb_build_object('public_id', gen_random_uuid(), 'user', 7,
                      'shop_orderitem', (SELECT jsonb_agg(jsonb_build_object('product', i, 'quantity', 1, 'unit_price', 1))
                                         FROM generate_series(1, 20) i))) $$, '54000', NULL,
                 'max_affected: an order with 20 items is 21 rows');
SELECT is((SELECT count(*)::int FROM shop_order), 2000, '... and no order was created');
RESET pg_queryset.max_affected;

-- ---------------------------------------------------------------------
-- max_cost: refused before it runs, the estimate in the error
-- ---------------------------------------------------------------------
SET LOCAL pg_queryset.max_cost = 50;
CREATE TEMP TABLE quantity_before AS SELECT sum(quantity) AS q, count(*) FILTER (WHERE quantity = 1) AS ones FROM shop_orderitem;
SELECT is((pg_temp.failure($$ SELECT qs.json(qs.prefetch_related(qs.all('shop_order'), 'shop_orderitem')) $$)).state, '54000',
          'max_cost: the whole order graph is refused');
SELECT matches((pg_temp.failure($$ SELECT qs.json(qs.prefetch_related(qs.all('shop_order'), 'shop_orderitem')) $$)).detail,
               '^The planner estimates a total cost of [0-9]+\.[0-9]{2} for the statement; the limit is 50\. It did not run\.',
               'the detail has the estimate and the limit');
SELECT matches((pg_temp.failure($$ SELECT qs.count(qs.all('shop_orderitem')) $$)).hint,
               'pg_queryset\.max_cost', 'the hint names pg_queryset.max_cost');
SELECT is(qs.get(qs.all('shop_order'), '{"id": 7}')->>'id', '7', 'max_cost: a primary-key lookup is cheap');
SELECT is((SELECT count(*)::int FROM shop_orderitem a JOIN shop_orderitem b USING (order_id)) > 0, true,
          'max_cost: the user''s own SQL is not checked');
SELECT throws_ok($$ SELECT qs.update(qs.all('shop_orderitem'), '{"quantity": 1}') $$, '54000', NULL, 'max_cost: a write');
SELECT is((SELECT count(*) FILTER (WHERE quantity = 1) FROM shop_orderitem), (SELECT ones FROM quantity_before),
          '... that did not run');
RESET pg_queryset.max_cost;

-- ---------------------------------------------------------------------
-- an application role cannot lift them
-- ---------------------------------------------------------------------
CREATE ROLE qs_guard_tap_app;
GRANT USAGE ON SCHEMA qs TO qs_guard_tap_app;
SET LOCAL ROLE qs_guard_tap_app;
SELECT throws_ok($$ SET pg_queryset.max_rows = 0 $$, '42501', NULL, 'SET is refused to the role');
SELECT throws_ok($$ SELECT set_config('pg_queryset.max_affected', '0', true) $$, '42501', NULL, 'set_config() is refused');
SELECT throws_ok($$ ALTER ROLE qs_guard_tap_app SET pg_queryset.max_cost = 0 $$, '42501', NULL, 'ALTER ROLE on itself is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
