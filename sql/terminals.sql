-- Terminals: evaluation of a queryset, with Django's semantics.
SET timezone = 'UTC';

-- rows: one jsonb object per row, all columns by default
SELECT r FROM qs.rows(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}')) r ORDER BY r->>'id';
-- json: one array, in the queryset's order
SELECT qs.json(qs.order_by(qs.filter(qs.all('catalog_tag'), '{"id__lte": 3}'), '-id'));
SELECT qs.json(qs.filter(qs.all('catalog_tag'), '{"id": -1}'));  -- empty: []

-- only / defer (the primary key is always loaded)
SELECT qs.json(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name', 'price'));
SELECT qs.json(qs.defer(qs.filter(qs.all('catalog_category'), '{"id": 7}'), 'created_at', 'updated_at'));

-- values / values_list / flat / named
SELECT qs.json(qs.values(qs.order_by(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21, 303]}'), 'id'), 'id', 'name', 'price'));
SELECT qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21, 303]}'), 'id'), '{id,name}'));
SELECT qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21, 303]}'), 'id'), '{name}', flat => true));
SELECT qs.json(qs.values_list(qs.order_by(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21]}'), 'id'), '{id,slug}', named => true));
-- values with transforms, as Django allows
SELECT qs.json(qs.values(qs.order_by(qs.filter(qs.all('shop_order'), '{"id__lte": 3}'), 'id'), 'id', 'created_at__year', 'created_at__month'));

-- fetch: typed rows of the table's row type
SELECT id, name, price, stock FROM qs.fetch(qs.order_by(qs.filter(qs.all('catalog_product'), '{"id__in": [13, 21, 77]}'), '-id'), NULL::catalog_product);
-- only() leaves the other columns NULL in typed rows
SELECT id, name, price IS NULL AS price_deferred FROM qs.fetch(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name'), NULL::catalog_product);
-- a row type of our own: columns matched by name
CREATE TYPE product_card AS (id bigint, name text, price numeric, nope int);
SELECT * FROM qs.fetch(qs.filter(qs.all('catalog_product'), '{"id": 21}'), NULL::product_card);
DROP TYPE product_card;

-- count / exists; count() on a sliced queryset counts the slice
SELECT qs.count(qs.all('catalog_product')) AS all_products,
       qs.count(qs.filter(qs.all('catalog_product'), '{"status": "active"}')) AS active,
       qs.count(qs.slice(qs.all('catalog_product'), 990, 1200)) AS tail_slice,
       qs.count(qs.slice(qs.all('catalog_product'), 0, 25)) AS head_slice,
       qs.count(qs.slice(qs.all('catalog_product'), 2000)) AS past_end;
SELECT qs.exists(qs.filter(qs.all('catalog_product'), '{"name__contains": "%"}')) AS has_percent,
       qs.exists(qs.filter(qs.all('catalog_product'), '{"name": "no such thing"}')) AS nothing,
       qs.exists(qs.slice(qs.all('catalog_product'), 999)) AS has_1000th,
       qs.exists(qs.slice(qs.all('catalog_product'), 1000)) AS has_1001st;
-- count with distinct counts distinct rows of the selection
SELECT qs.count(qs.distinct(qs.values(qs.all('catalog_product'), 'status'))) AS statuses,
       qs.count(qs.distinct(qs.values(qs.all('catalog_product'), 'category_id'))) AS categories,
       (SELECT count(DISTINCT category_id) FROM catalog_product) AS expected;

-- distinct / distinct on
SELECT qs.json(qs.order_by(qs.distinct(qs.values(qs.all('catalog_product'), 'status')), 'status'));
SELECT qs.json(qs.values(qs.distinct(qs.order_by(qs.filter(qs.all('catalog_product'), '{"category_id__in": [2, 3]}'), 'category_id', '-price'), 'category_id'), 'category_id', 'id', 'price'));

-- ordering: -field, nulls first/last, random
SELECT qs.json(qs.values_list(qs.slice(qs.order_by(qs.all('catalog_product'), '-price', 'id'), 0, 3), '{id,price}'));
SELECT qs.json(qs.values_list(qs.slice(qs.order_by(qs.all('catalog_product'), '{"F": "release_date", "nulls_first": true}', 'id'), 0, 3), '{id,release_date}'));
SELECT qs.json(qs.values_list(qs.slice(qs.order_by(qs.all('catalog_product'), '{"F": "release_date", "desc": true, "nulls_last": true}', 'id'), 0, 2), '{id,release_date}'));
SELECT qs.count(qs.slice(qs.order_by(qs.all('catalog_product'), '?'), 0, 10)) AS random_ten;

-- slicing maps to OFFSET / LIMIT
SELECT qs.json(qs.values_list(qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 3, 6), '{id}', flat => true));
SELECT qs.json(qs.values_list(qs.slice(qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 3, 20), 2, 4), '{id}', flat => true));
SELECT qs.sql(qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 3, 6));

-- get: exactly one (P0002 DoesNotExist / P0003 MultipleObjectsReturned)
SELECT qs.get(qs.all('catalog_tag'), '{"id": 1}');
SELECT qs.get(qs.filter(qs.all('catalog_tag'), '{"id": 2}'));
SELECT qs.get(qs.all('catalog_tag'), '{"id": -1}');
SELECT qs.get(qs.all('catalog_tag'), '{"id__lte": 2}');
SELECT qs.get(qs.all('catalog_tag'));   -- more than 20: capped count
SELECT qs.get(qs.all('catalog_product'), '{"slug": "no-such-slug"}');

-- first / last: by pk when unordered; last reverses the ordering
SELECT qs.first(qs.all('catalog_tag'))->>'id' AS first_id, qs.last(qs.all('catalog_tag'))->>'id' AS last_id;
SELECT qs.first(qs.order_by(qs.all('catalog_product'), '-price', 'id'))->>'id' AS most_expensive,
       qs.last(qs.order_by(qs.all('catalog_product'), '-price', 'id'))->>'id' AS cheapest,
       (SELECT id FROM catalog_product ORDER BY price, id DESC LIMIT 1) AS expected_cheapest;
-- last() flips NULLS FIRST/LAST as well
SELECT qs.last(qs.order_by(qs.all('catalog_product'), '{"F": "release_date", "nulls_first": true}', 'id'))->>'id' AS last_by_release,
       (SELECT id FROM catalog_product ORDER BY release_date DESC NULLS LAST, id DESC LIMIT 1) AS expected;
SELECT qs.first(qs.filter(qs.all('catalog_tag'), '{"id": -1}')) IS NULL AS empty_first;
SELECT qs.first(qs.slice(qs.order_by(qs.all('catalog_tag'), 'id'), 5, 10))->>'id' AS first_of_slice;

-- earliest / latest
SELECT qs.earliest(qs.all('shop_order'), 'created_at')->>'id' AS earliest_order,
       (SELECT id FROM shop_order ORDER BY created_at LIMIT 1) AS expected;
SELECT qs.latest(qs.filter(qs.all('shop_order'), '{"status": "pending"}'), 'created_at', 'id')->>'id' AS latest_pending,
       (SELECT id FROM shop_order WHERE status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 1) AS expected;
SELECT qs.earliest(qs.filter(qs.all('shop_order'), '{"id": -1}'), 'created_at');

-- in_bulk: object keyed by pk (or another unique field)
SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'slug'), '[1, 2, 999]');
SELECT qs.in_bulk(qs.only(qs.all('catalog_tag'), 'name'), '["sale", "new"]', 'slug');
SELECT qs.in_bulk(qs.all('catalog_tag'), '[]');
SELECT (SELECT count(*) FROM jsonb_object_keys(qs.in_bulk(qs.all('catalog_tag')))) AS all_tags;
SELECT qs.in_bulk(qs.all('catalog_product'), '[1]', 'status');

-- sql / params / explain
SELECT qs.sql(qs.only(qs.filter(qs.all('catalog_product'), '{"status": "active", "price__lt": 100}'), 'name'));
SELECT qs.params(qs.only(qs.filter(qs.all('catalog_product'), '{"status": "active", "price__lt": 100}'), 'name'));
SELECT qs.explain(qs.filter(qs.all('catalog_product'), '{"id": 5}'))->0->'Plan'->>'Node Type' AS node,
       qs.explain(qs.filter(qs.all('catalog_product'), '{"id": 5}'))->0->'Plan'->>'Index Name' AS index;
SELECT (qs.explain(qs.filter(qs.all('catalog_product'), '{"id": 5}'), true)->0->'Plan'->>'Actual Rows')::numeric::int AS actual_rows;


-- generated SQL cannot be captured through the search_path: operators on
-- built-in types are OPERATOR(pg_catalog.x), functions pg_catalog.f()
CREATE SCHEMA trap;
CREATE FUNCTION trap.always(varchar, varchar) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR trap.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = trap.always);
CREATE FUNCTION trap.upper(text) RETURNS text LANGUAGE sql AS 'SELECT ''CAPTURED''';
SET search_path = trap, public, pg_catalog;
SELECT count(*) AS hand_written_is_captured FROM catalog_product WHERE slug = 'x';
SELECT qs.count(qs.filter(qs.all('catalog_product'), '{"slug": "x"}')) AS qs_is_not,
       qs.count(qs.filter(qs.all('catalog_product'), '{"name__iexact": "USB_C CABLE"}')) AS iexact;
RESET search_path;
DROP SCHEMA trap CASCADE;
