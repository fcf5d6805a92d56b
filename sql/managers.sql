-- Managers and methods (DESIGN.md §6): named base querysets, parametrised
-- refinements, validated when defined, composed like Django's chained
-- QuerySet methods.  Runs after the relations tests (names items, tags).
\set VERBOSITY terse
-- a soft-delete default manager, and one without the scope
SELECT qs.define_manager('catalog_product', 'objects', '{"where": {"$not": {"status": "archived"}}}', true);
SELECT qs.define_manager('catalog_product', 'all_objects', '{}');
-- the article's ProductQuerySet: active(), by_category(slug), in_price_range(lo, hi)
SELECT qs.define_method('catalog_product', 'active', '{"where": {"status": "active"}}');
SELECT qs.define_method('catalog_product', 'by_category', '{"where": {"category__slug": {"$param": "slug"}}}');
SELECT qs.define_method('catalog_product', 'in_price_range', '{"where": {"price__range": [{"$param": "lo"}, {"$param": "hi"}]}, "order_by": ["price", "id"]}');
-- methods hold annotations and relation paths, and use other methods
SELECT qs.define_method('catalog_product', 'with_rating', '{"annotate": {"avg_rating": {"Avg": "catalog_review__rating"}, "reviews": {"Count": "catalog_review"}}}');
SELECT qs.define_method('catalog_product', 'well_rated', '{"use": ["with_rating"], "where": {"avg_rating__gte": {"$param": "min"}}}');
SELECT kind, name, is_default, params FROM qs.managers('catalog_product');

-- qs.objects: the default manager; qs.all stays the whole table
SELECT qs.count(qs.objects('catalog_product')) AS objects, qs.count(qs.objects('catalog_product', 'all_objects')) AS all_objects,
       qs.count(qs.all('catalog_product')) AS "all", (SELECT count(*) FROM catalog_product WHERE status <> 'archived') AS hand;
-- Product.objects.active().by_category("laptops").in_price_range(50, 500)
SELECT qs.use(qs.use(qs.use(qs.objects('catalog_product'), 'active'), 'by_category', '{"slug": "laptops"}'), 'in_price_range', '{"lo": 50, "hi": 500}');
SELECT qs.json(qs.only(qs.use(qs.use(qs.use(qs.objects('catalog_product'), 'active'), 'by_category', '{"slug": "laptops"}'),
               'in_price_range', '{"lo": 50, "hi": 500}'), 'price'));
SELECT p.id, p.price FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
 WHERE p.status = 'active' AND c.slug = 'laptops' AND p.price BETWEEN 50 AND 500 ORDER BY p.price, p.id;
-- the same chain as keys of a spec, from any client
SELECT qs.count('{"model": "catalog_product", "manager": "objects", "use": ["active", {"by_category": {"slug": "laptops"}}, {"in_price_range": {"lo": 50, "hi": 500}}]}');
-- a spec's methods chain before its projection and slice: objects.active().by_category(...).values(...)[:3]
SELECT qs.json('{"model": "catalog_product", "manager": "objects", "use": ["active", {"by_category": {"slug": "laptops"}}], "values": ["id", "price"], "order_by": ["price", "id"], "limit": 3, "offset": 1}');
SELECT qs.json(qs.slice(qs.values(qs.order_by(qs.use(qs.use(qs.objects('catalog_product'), 'active'), 'by_category', '{"slug": "laptops"}'), 'price', 'id'), 'id', 'price'), 1, 4));
-- composition with annotations: filter on a method's aggregate annotation
SELECT qs.json(qs.order_by(qs.only(qs.use(qs.filter(qs.objects('catalog_product'), '{"id__lte": 60}'), 'well_rated', '{"min": 4.5}'), 'name'), 'id'));
SELECT p.id, p.name, avg(r.rating), count(r.id) FROM catalog_product p JOIN catalog_review r ON r.product_id = p.id
 WHERE p.status <> 'archived' AND p.id <= 60 GROUP BY p.id HAVING avg(r.rating) >= 4.5 ORDER BY p.id;
-- arguments are typed by the column they meet
SELECT qs.count(qs.use(qs.all('catalog_product'), 'in_price_range', '{"lo": "abc", "hi": 5}'));
-- redefining replaces; dropping removes
SELECT qs.define_method('catalog_product', 'active', '{"where": {"status": "active", "stock__gt": 0}}');
SELECT qs.count(qs.use(qs.all('catalog_product'), 'active')) AS active_in_stock,
       (SELECT count(*) FROM catalog_product WHERE status = 'active' AND stock > 0) AS hand;
SELECT qs.drop_method('catalog_product', 'active'), qs.drop_method('catalog_product', 'active');

-- errors: validated when defined, not at first use
SELECT qs.define_manager('catalog_product', 'broken', '{"where": {"nope": 1}}');
SELECT qs.define_method('catalog_product', 'broken', '{"where": {"nope": {"$param": "x"}}}');
SELECT qs.define_method('catalog_product', 'broken', '{"values": ["id"]}');
SELECT qs.define_manager('catalog_product', 'broken', '{"where": {"slug": {"$param": "x"}}}');
SELECT qs.define_manager('catalog_product', 'bad name', '{}');
SELECT qs.define_method('catalog_product', 'broken', '{"where": {"slug": {"$param": "bad name"}}}');
SELECT qs.use(qs.all('catalog_product'), 'by_category', '{}');
SELECT qs.use(qs.all('catalog_product'), 'by_category', '{"slug": "x", "extra": 1}');
SELECT qs.use(qs.all('catalog_product'), 'by_category', '[1]');
SELECT qs.use(qs.all('catalog_product'), 'nope');
SELECT qs.objects('catalog_product', 'nope');
SELECT qs.count('{"model": "catalog_product", "use": "nope"}');
-- a method that ends up using itself
SELECT qs.define_method('catalog_product', 'ping', '{"where": {"id__gt": 0}}');
SELECT qs.define_method('catalog_product', 'pong', '{"use": ["ping"]}');
SELECT qs.define_method('catalog_product', 'ping', '{"use": ["pong"]}');
SELECT qs.count(qs.use(qs.all('catalog_product'), 'ping'));

-- who may define them is decided by GRANTs on the config tables
CREATE ROLE qs_mgr_reader;
GRANT USAGE ON SCHEMA qs TO qs_mgr_reader;
GRANT SELECT ON catalog_product, catalog_category TO qs_mgr_reader;
SET ROLE qs_mgr_reader;
SELECT qs.count(qs.use(qs.objects('catalog_product'), 'by_category', '{"slug": "laptops"}')) AS readers_can_use;
SELECT qs.define_method('catalog_product', 'mine', '{"where": {"id": 1}}');
RESET ROLE;
DROP OWNED BY qs_mgr_reader;
DROP ROLE qs_mgr_reader;

-- clean up (the other tests use qs.all)
SELECT qs.drop_manager('catalog_product', 'objects'), qs.drop_manager('catalog_product', 'all_objects');
SELECT count(*) FROM (SELECT qs.drop_method('catalog_product', name) FROM qs.managers('catalog_product') WHERE kind = 'method') d;
SELECT count(*) AS left_over FROM qs.managers('catalog_product');
