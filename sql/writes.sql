-- Writes (DESIGN.md §4 "Write"): qs.update, qs.delete, qs.create (nested),
-- qs.bulk_create, qs.bulk_update, qs.get_or_create, qs.update_or_create,
-- select_for_update.  Each block runs in a transaction rolled back at its
-- end, so the demo data stays as the other tests expect it.
SET TimeZone = 'UTC';
SET pg_queryset.shape_cache_check = on;
-- Django's related name for the order items (already set when the whole
-- suite runs)
SELECT count(qs.name_relation('shop_order', r.name, 'items')) >= 0 AS named
FROM qs.relations('shop_order') r WHERE r.target = 'shop_orderitem'::regclass AND r.name <> 'items';

-- update: literals (a string is a literal), expressions, relation filters
BEGIN;
SELECT qs.update('{"model": "catalog_product", "where": {"id": 1}}', '{"name": "Renamed", "stock": {"-": [{"F": "stock"}, 2]}}') AS updated;
SELECT id, name, stock FROM catalog_product WHERE id = 1;
-- the article's discount over a category: a semi-join, one statement
SELECT qs.update('{"model": "catalog_product", "where": {"category__slug": "laptops", "status": "active"}}',
                 '{"price": {"*": ["price", 0.9]}}') AS discounted,
       (SELECT count(*) FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
         WHERE c.slug = 'laptops' AND p.status = 'active') AS expected;
-- through a to-many relation (EXISTS), with Case/When
SELECT qs.update('{"model": "catalog_product", "where": {"catalog_review__rating": 1}}',
  '{"status": {"Case": [{"When": {"stock": 0}, "then": {"Value": "archived"}}], "default": "status"}}') AS flagged,
  (SELECT count(*) FROM catalog_product p WHERE EXISTS (SELECT 1 FROM catalog_review r WHERE r.product_id = p.id AND r.rating = 1)) AS expected;
-- the article's reactivation: archived -> active, updated_at = Now()
SELECT qs.update('{"model": "catalog_product", "where": {"status": "archived"}}', '{"status": "active", "updated_at": {"Now": []}}') AS reactivated;
SELECT count(*) FILTER (WHERE status = 'archived') AS archived, count(*) FILTER (WHERE updated_at = now()) AS touched FROM catalog_product;
-- the conditional decrement: updates only while stock suffices
SELECT qs.update('{"model": "catalog_product", "where": {"id": 2, "stock__gte": 60}}', '{"stock": {"-": [{"F": "stock"}, 60]}}') AS first_take,
       qs.update('{"model": "catalog_product", "where": {"id": 2, "stock__gte": 60}}', '{"stock": {"-": [{"F": "stock"}, 60]}}') AS second_take;
SELECT stock FROM catalog_product WHERE id = 2;
-- a forward relation name sets its FK; jsonb and arrays take JSON values; NULL
SELECT qs.update('{"model": "catalog_product", "where": {"id": 3}}',
  '{"category": 2, "metadata": {"color": "red", "sizes": [1, 2]}, "keywords": ["a", "b''c"], "release_date": null}') AS set_many;
SELECT category_id, metadata, keywords, release_date FROM catalog_product WHERE id = 3;
-- slices and select_for_update: the job-queue claim, a semi-join on the pk
SELECT qs.update(qs.slice(qs.order_by('{"model": "catalog_product", "where": {"status": "draft"}, "select_for_update": {"skip_locked": true}}', 'id'), 0, 3),
                 '{"status": "active"}') AS claimed;
SELECT count(*) AS drafts_left FROM catalog_product WHERE status = 'draft';
ROLLBACK;

-- update: the shape cache replays values, so the second call reuses the statement
BEGIN;
SELECT qs.plan_cache_reset();
SELECT qs.update('{"model": "catalog_tag", "where": {"id": 1}}', '{"name": "one"}');
SELECT qs.update('{"model": "catalog_tag", "where": {"id": 2}}', '{"name": "two"}');
SELECT id, name FROM catalog_tag WHERE id <= 2 ORDER BY id;
SELECT hits, misses FROM qs.plan_cache_stats();
ROLLBACK;

-- update errors
SELECT qs.update('{"model": "catalog_product"}', '{"nope": 1}');
SELECT qs.update('{"model": "catalog_product"}', '{"stock": "many"}');
SELECT qs.update('{"model": "catalog_product"}', '{}');
SELECT qs.update('{"model": "catalog_product"}', '{"name": {"F": "category__name"}}');
SELECT qs.update('{"model": "catalog_product"}', '{"stock": 1, "price": 2}', '{stock}');
SELECT qs.update('{"model": "catalog_product", "values": ["category"], "annotate": {"n": {"Count": "id"}}}', '{"stock": 1}');
SELECT qs.update('{"model": "catalog_product", "$update": {}}', '{"stock": 1}');
SELECT qs.update('{"model": "catalog_product"}', NULL);
SELECT qs.json('{"model": "catalog_product", "$update": {"stock": 1}}');

-- delete
BEGIN;
SELECT qs.delete('{"model": "catalog_review", "where": {"rating": 1, "product__category__slug": "laptops"}}') AS deleted;
SELECT count(*) AS left_over FROM catalog_review r JOIN catalog_product p ON p.id = r.product_id
  JOIN catalog_category c ON c.id = p.category_id WHERE r.rating = 1 AND c.slug = 'laptops';
SELECT qs.delete(qs.slice(qs.order_by('{"model": "catalog_review"}', 'id'), 0, 5)) AS first_five;
SELECT min(id) FROM catalog_review;
ROLLBACK;
-- a restricting foreign key names the blocking table (PostgreSQL's own
-- error: from 18 on an ON DELETE RESTRICT key raises 23001
-- restrict_violation with other words, before it 23503: shown by its parts)
DO $$
DECLARE
  msg text; detail text; con text;
BEGIN
  PERFORM qs.delete('{"model": "catalog_product", "where": {"id": 13}}');
EXCEPTION WHEN foreign_key_violation OR restrict_violation THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, con = CONSTRAINT_NAME;
  RAISE NOTICE 'refused (class %): constraint %, names the blocking table: %, the key: %', left(SQLSTATE, 2), con,
    msg LIKE '%on table "shop_orderitem"%', detail LIKE 'Key (id)=(13) %';
END $$;

-- create: defaults apply, the stored row comes back
BEGIN;
SELECT qs.create('catalog_tag', '{"name": "fresh", "slug": "fresh"}') - 'id' AS created;
SELECT (r - 'id' - 'created_at' - 'updated_at') AS created, (r->>'created_at')::timestamptz = now() AS default_now
FROM qs.create('catalog_product', '{"name": "Kettle", "slug": "kettle-x", "category": 4, "price": "19.90"}') AS r;
-- nested create: an order with its items, FKs filled in, one atomic call
SELECT r->>'status' AS status, r->>'total' AS total, jsonb_array_length(r->'items') AS n_items,
       (SELECT bool_and((i->>'order_id')::bigint = (r->>'id')::bigint) FROM jsonb_array_elements(r->'items') i) AS fk_filled,
       r->>'id' AS new_order
FROM qs.create('shop_order', '{"public_id": "7f1c2a3e-0000-4000-8000-000000000001", "user": 7, "status": "pending", "total": "29.97",
  "items": [{"product": 13, "quantity": 2, "unit_price": "9.99"}, {"product": 14, "quantity": 1, "unit_price": "9.99"}]}') AS r \gset
SELECT :'status' AS status, :'n_items' AS n_items, :'fk_filled' AS fk_filled,
       (SELECT count(*) FROM shop_orderitem WHERE order_id = :'new_order'::bigint) AS stored_items;
ROLLBACK;
-- atomic: a bad child leaves no order behind
SELECT qs.create('shop_order', '{"public_id": "7f1c2a3e-0000-4000-8000-000000000002", "user": 7, "status": "pending",
  "items": [{"product": 13, "quantity": 2, "unit_price": "9.99"}, {"product": 14, "quantity": 0, "unit_price": "9.99"}]}');
SELECT count(*) AS orders_left FROM shop_order WHERE public_id = '7f1c2a3e-0000-4000-8000-000000000002';
-- create errors
SELECT qs.create('catalog_tag', '{"name": "x", "slug": "x", "colour": "red"}');
SELECT qs.create('catalog_tag', '{"name": "x", "slug": "sale"}');
SELECT qs.create('catalog_product', '{"name": "x", "slug": "x", "category": 4, "price": "abc"}');
SELECT qs.create('auth_user', '{"username": "mallory", "email": "m@x", "is_staff": true}', '{username,email}');
SELECT qs.create('catalog_product', '{"name": "x", "slug": "x", "category": 4, "price": 1, "catalog_tag": [{"name": "t"}]}');
SELECT qs.create('catalog_tag', '{"name": {"Upper": "slug"}, "slug": "y"}');

-- bulk_create: set-based, primary keys in input order, defaults for omitted columns
BEGIN;
SELECT jsonb_array_length(qs.bulk_create('catalog_tag', '[{"name": "b1", "slug": "b1"}, {"name": "b2", "slug": "b2"}, {"slug": "b3", "name": "b3"}]')) AS returned;
SELECT name FROM catalog_tag WHERE slug LIKE 'b_' ORDER BY id;
SELECT qs.bulk_create('catalog_product',
  '[{"name": "P1", "slug": "p-1", "category": 4, "price": "1.00"}, {"name": "P2", "slug": "p-2", "category": 4, "price": "2.00", "stock": 9},
    {"name": "P3", "slug": "p-3", "category": 4, "price": "3.00"}]', '{"returning": ["slug", "stock", "status"]}');
-- conflicts: ignore, or update the named fields
SELECT qs.bulk_create('catalog_tag', '[{"name": "again", "slug": "sale"}, {"name": "b9", "slug": "b9"}]', '{"ignore_conflicts": true, "returning": ["slug"]}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "SALE!", "slug": "sale"}, {"name": "b10", "slug": "b10"}]',
  '{"update_conflicts": true, "unique_fields": ["slug"], "update_fields": ["name"], "returning": ["slug", "name"]}');
-- batches: one statement per batch; an empty list is a no-op
SELECT jsonb_array_length(qs.bulk_create('catalog_tag', (SELECT jsonb_agg(jsonb_build_object('name', 'g' || g, 'slug', 'gen-' || g)) FROM generate_series(1, 25) g),
  '{"batch_size": 10}')) AS inserted;
SELECT count(*) AS stored FROM catalog_tag WHERE slug LIKE 'gen-%';
SELECT qs.bulk_create('catalog_tag', '[]');
ROLLBACK;
-- atomic: one bad row, nothing inserted
SELECT qs.bulk_create('catalog_tag', '[{"name": "ok1", "slug": "ok1"}, {"name": "dup", "slug": "sale"}]');
SELECT count(*) AS inserted FROM catalog_tag WHERE slug = 'ok1';
-- bulk_create errors
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x", "nope": 1}]');
SELECT qs.bulk_create('catalog_tag', '[1]');
SELECT qs.bulk_create('catalog_tag', '{"name": "x"}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": 0}');
-- numeric options are range-checked before anything runs, never narrowed
-- (security review, finding 2: 2^32 truncated to 0 and looped forever)
SET statement_timeout = '10s';
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": 4294967296}');
SELECT qs.bulk_update('catalog_tag', '[{"id": 1, "name": "x"}]', '{name}', '{"batch_size": 4294967296}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": 2147483648}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": -1}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": 1e308}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"batch_size": "x"}');
SELECT qs.bulk_update('catalog_tag', '[{"id": 1, "name": "x"}]', '{name}', '{"max_affected": 9223372036854775808}');
SELECT qs.bulk_update('catalog_tag', '[{"id": 1, "name": "x"}]', '{name}', '{"max_affected": 0}');
-- the largest values are accepted: one batch, no limit in practice
BEGIN;
SELECT jsonb_array_length(qs.bulk_create('catalog_tag', '[{"name": "bx1", "slug": "bx1"}, {"name": "bx2", "slug": "bx2"}]',
       '{"batch_size": 2147483647}')) AS created_max_batch;
SELECT qs.bulk_update('catalog_tag', '[{"id": 1, "name": "renamed"}]', '{name}',
       '{"batch_size": 2147483647, "max_affected": 9223372036854775807}') AS updated_max;
SELECT qs.bulk_create('catalog_tag', '[{"name": "bx3", "slug": "bx3"}]', '{"batch_size": null}') IS NOT NULL AS null_is_default;
ROLLBACK;
RESET statement_timeout;
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"update_conflicts": true}');
SELECT qs.bulk_create('catalog_tag', '[{"name": "x", "slug": "x"}]', '{"colour": 1}');
SELECT qs.bulk_create('auth_user', '[{"username": "u", "email": "e", "is_staff": true}]', '{"fields": ["username", "email"]}');

-- bulk_update: one UPDATE ... FROM a typed record set; values or per-row expressions
BEGIN;
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 5, "price": "1.50"}, {"id": 2, "stock": {"+": [{"F": "stock"}, 3]}, "price": 2},
                                           {"id": 3, "stock": {"+": [{"F": "stock"}, 4]}, "price": 3}, {"id": 999999, "stock": 1, "price": 1}]',
                      '{stock,price}') AS updated;
SELECT id, stock, price FROM catalog_product WHERE id <= 3 ORDER BY id;
SELECT qs.bulk_update('catalog_product', (SELECT jsonb_agg(jsonb_build_object('id', id, 'stock', stock + 1000)) FROM catalog_product WHERE id <= 25),
                      '{stock}', '{"batch_size": 10}') AS batched;
SELECT count(*) FILTER (WHERE stock >= 1000) AS bumped FROM catalog_product WHERE id <= 25;
ROLLBACK;
-- max_affected guards, and nothing is changed
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 0}, {"id": 2, "stock": 0}]', '{stock}', '{"max_affected": 1}');
SELECT count(*) AS zeroed FROM catalog_product WHERE id IN (1, 2) AND stock = 0;
-- bulk_update errors
SELECT qs.bulk_update('catalog_product', '[{"stock": 1}]', '{stock}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 1}, {"id": 1, "stock": 2}]', '{stock}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 1, "price": 2}]', '{stock}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1}]', '{stock}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 1}]', '{id}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": 1}]', '{}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "stock": "x"}]', '{stock}');
SELECT qs.bulk_update('catalog_product', '[{"id": 1, "name": {"F": "category__name"}}]', '{name}');

-- get_or_create and update_or_create
BEGIN;
SELECT object - 'id' AS object, created FROM qs.get_or_create('catalog_tag', '{"slug": "sale"}', '{"name": "ignored"}');
SELECT object - 'id' AS object, created FROM qs.get_or_create('catalog_tag', '{"slug": "brand-new"}', '{"name": "Brand New"}');
SELECT object - 'id' AS object, created FROM qs.get_or_create('catalog_tag', '{"slug": "brand-new"}', '{"name": "Other"}');
SELECT object - 'id' AS object, created FROM qs.update_or_create('catalog_tag', '{"slug": "brand-new"}', '{"name": "Renamed"}');
SELECT object - 'id' AS object, created FROM qs.update_or_create('catalog_tag', '{"slug": "newer"}', '{"name": "D"}', '{"name": "Created"}');
SELECT object - 'id' AS object, created FROM qs.update_or_create('catalog_tag', '{"slug": "newer"}', '{"name": "Updated"}', '{"name": "Created"}');
-- a lookup with "__" is not a create value (Django)
SELECT object->>'name' AS name, object->>'slug' AS slug, created
FROM qs.get_or_create('catalog_tag', '{"slug": "x-y", "name__iexact": "XY"}', '{"name": "xy"}');
ROLLBACK;
-- more than one match
SELECT * FROM qs.get_or_create('catalog_product', '{"status": "active"}');
-- a unique conflict on another field than the lookups
SELECT * FROM qs.get_or_create('catalog_tag', '{"name": "no such name"}', '{"slug": "sale"}');

-- select_for_update on reads
SELECT count(*) FROM qs.rows('{"model": "catalog_product", "where": {"status": "active"}, "order_by": ["id"], "limit": 3,
  "select_for_update": {"skip_locked": true, "of": ["self"]}}');
SELECT jsonb_array_length(qs.json('{"model": "catalog_product", "where": {"id__lte": 2}, "select_related": ["category"],
  "select_for_update": {"nowait": true, "of": ["self", "category"]}}')::jsonb);
SELECT qs.count('{"model": "catalog_product", "select_for_update": {"nowait": true, "skip_locked": true}}');
SELECT qs.rows('{"model": "catalog_product", "select_for_update": {"of": ["nope"]}}');

-- read-only targets: PostgreSQL's own error names the view and the fix
CREATE VIEW w_tag_counts AS SELECT count(*) AS n FROM catalog_tag;
SELECT qs.update('{"model": "w_tag_counts"}', '{"n": 1}');
SELECT qs.create('w_tag_counts', '{"n": 1}');
SELECT qs.delete('{"model": "w_tag_counts"}');
-- an automatically updatable view works like its table
CREATE VIEW w_active_tags AS SELECT id, name, slug FROM catalog_tag WHERE slug <> 'sale';
BEGIN;
SELECT qs.update('{"model": "w_active_tags", "where": {"slug": "new"}}', '{"name": "NEW"}') AS updated;
SELECT name FROM catalog_tag WHERE slug = 'new';
ROLLBACK;
DROP VIEW w_tag_counts, w_active_tags;

-- large results are built outside SPI's memory (5,000 returned rows,
-- 300 nested children), and the rows are all there
BEGIN;
SELECT jsonb_array_length(qs.bulk_create('catalog_tag', (SELECT jsonb_agg(jsonb_build_object('name', 'big' || g, 'slug', 'big-' || g))
  FROM generate_series(1, 5000) g))) AS returned;
SELECT count(*) AS stored FROM catalog_tag WHERE slug LIKE 'big-%';
SELECT jsonb_array_length(qs.create('shop_order', jsonb_build_object('public_id', '7f1c2a3e-0000-4000-8000-000000000003', 'user', 7,
  'status', 'pending', 'items', (SELECT jsonb_agg(jsonb_build_object('product', g, 'quantity', 1, 'unit_price', 1)) FROM generate_series(1, 300) g)))->'items') AS children;
SELECT object->>'slug' AS slug, created FROM qs.get_or_create('catalog_tag', '{"slug": "big-4999"}');
ROLLBACK;
