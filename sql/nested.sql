-- Nested fetch: select_related embeds forward relations as objects,
-- prefetch_related embeds to-many relations as arrays (ordered by the
-- related primary key); the whole graph is ONE statement.
SET timezone = 'UTC';
SELECT qs.name_relation('shop_order', 'shop_orderitem.shop_orderitem_order_id_fkey', 'items');

-- builders accumulate paths; no paths clears them
SELECT qs.select_related(qs.select_related(qs.all('shop_order'), 'user'), 'shipping_address', 'user');
SELECT qs.prefetch_related(qs.prefetch_related(qs.all('shop_order'), 'items__product'), 'items__product__category');
SELECT qs.select_related(qs.select_related(qs.all('shop_order'), 'user'));

-- a forward embed; a NULL foreign key gives null
SELECT qs.json(qs.select_related(qs.only(qs.filter(qs.all('shop_order'), '{"id": 1}'), 'status'), 'shipping_address'));
SELECT qs.json(qs.slice(qs.select_related(qs.only(qs.order_by(qs.filter(qs.all('shop_order'), '{"shipping_address__isnull": true}'), 'id'), 'status'), 'shipping_address'), 0, 1));

-- forward hops at any depth
SELECT jsonb_pretty(qs.first(qs.select_related(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name'), 'category__parent')));

-- to-many arrays, nested with forward hops inside (items[].product.category)
SELECT jsonb_pretty(qs.get(qs.prefetch_related(qs.only(qs.all('shop_order'), 'status'), 'items__product__category'), '{"id": 3}'));
-- many-to-many, and an empty array for no children
SELECT qs.json(qs.prefetch_related(qs.only(qs.filter(qs.all('catalog_product'), '{"id__in": [1, 13]}'), 'name'), 'catalog_tag'));
SELECT qs.json(qs.prefetch_related(qs.only(qs.filter(qs.all('catalog_product'), '{"status": "draft"}'), 'name'), 'catalog_review'))::text LIKE '%"catalog_review" : []%' AS drafts_have_no_reviews;

-- one statement: forward embeds are LEFT JOINs on the target's key, to-many
-- embeds correlated subqueries with json aggregation
SELECT qs.sql(qs.prefetch_related(qs.select_related(qs.only(qs.filter(qs.all('shop_order'), '{"user": 7}'), 'status'), 'shipping_address'), 'items__product'));

-- the graph equals what a hand-written statement builds
SELECT qs.json(qs.prefetch_related(qs.select_related(qs.order_by(qs.filter(qs.all('shop_order'), '{"user": 7}'), 'id'), 'shipping_address'), 'items__product'))::jsonb
     = (SELECT jsonb_agg(to_jsonb(o)
                || jsonb_build_object('shipping_address', (SELECT to_jsonb(a) FROM shop_address a WHERE a.id = o.shipping_address_id),
                                      'items', (SELECT coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('product',
                                                  (SELECT to_jsonb(p) FROM catalog_product p WHERE p.id = i.product_id)) ORDER BY i.id), '[]')
                                                FROM shop_orderitem i WHERE i.order_id = o.id)) ORDER BY o.id)
          FROM shop_order o WHERE o.user_id = 7) AS same_graph;

-- only() and defer() at every level: fetch exactly the columns needed
SELECT qs.json(qs.only(qs.prefetch_related(qs.select_related(qs.filter(qs.all('shop_order'), '{"id": 3}'), 'shipping_address'),
                                           'items__product__category'),
                       'status', 'shipping_address__city', 'items__quantity', 'items__product__name', 'items__product__category__name'));
SELECT qs.json(qs.defer(qs.prefetch_related(qs.only(qs.filter(qs.all('catalog_product'), '{"id": 13}'), 'name'), 'catalog_review'),
                        'catalog_review__body', 'catalog_review__title', 'catalog_review__created_at'));
SELECT qs.only(qs.all('shop_order'), 'items__quantity');
SELECT qs.only(qs.prefetch_related(qs.all('shop_order'), 'items'), 'items__nope');

-- Prefetch objects: an inner queryset (where, order_by, only, limit per
-- parent) and to_attr, next to the plain relation
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [13, 1, 400]}, "order_by": ["id"], "only": ["name"],
  "prefetch_related": [
    {"path": "catalog_review", "to_attr": "top_reviews",
     "queryset": {"where": {"is_approved": true, "rating__gte": 4}, "order_by": ["-rating", "-created_at"],
                  "only": ["rating"], "limit": 2}},
    {"path": "catalog_review", "queryset": {"only": ["rating", "is_approved"]}}]}');
SELECT qs.params('{"model": "catalog_product", "where": {"id__in": [13, 1, 400]}, "only": ["name"],
  "prefetch_related": [{"path": "catalog_review", "to_attr": "top_reviews",
     "queryset": {"where": {"is_approved": true, "rating__gte": 4}, "order_by": ["-rating"], "limit": 2}}]}');
-- the same shape with other values reuses the cached statement: the
-- inner values are parameters too
SELECT qs.count('{"model": "catalog_product"}') AS warm;
SELECT jsonb_array_length(r->'top') AS n FROM qs.rows('{"model": "catalog_product", "where": {"id": 400}, "only": ["name"],
  "prefetch_related": [{"path": "catalog_review", "to_attr": "top", "queryset": {"where": {"rating__gte": 1}, "limit": 1}}]}') r;
SELECT jsonb_array_length(r->'top') AS n FROM qs.rows('{"model": "catalog_product", "where": {"id": 400}, "only": ["name"],
  "prefetch_related": [{"path": "catalog_review", "to_attr": "top", "queryset": {"where": {"rating__gte": 1}, "limit": 3}}]}') r;
SELECT (SELECT count(*) FROM catalog_review WHERE product_id = 400) AS reviews_of_400;
-- to-many filters inside the inner queryset work as everywhere
SELECT qs.json('{"model": "auth_user", "where": {"id": 7}, "only": ["username"],
  "prefetch_related": [{"path": "shop_order", "to_attr": "orders_with_laptops",
     "queryset": {"where": {"items__product__category__slug": "laptops"}, "only": ["status"]}}]}');

-- a Prefetch queryset with forward relations below it: joined inside the
-- prefetch's own subquery, the same graph as by hand
SELECT qs.json('{"model": "shop_order", "where": {"id__in": [3, 4]}, "order_by": ["id"], "only": ["status"],
  "prefetch_related": [{"path": "items", "queryset": {"where": {"quantity__gte": 2}, "order_by": ["-quantity"], "only": ["quantity"]}},
                       "items__product__category"],
  "defer": ["items__product__description", "items__product__metadata", "items__product__keywords",
            "items__product__created_at", "items__product__updated_at", "items__product__release_date",
            "items__product__category__created_at", "items__product__category__updated_at"]}')::jsonb
 = (SELECT jsonb_agg(jsonb_build_object('id', o.id, 'status', o.status, 'items',
      (SELECT coalesce(jsonb_agg(jsonb_build_object('id', i.id, 'quantity', i.quantity, 'product',
          jsonb_build_object('id', p.id, 'name', p.name, 'slug', p.slug, 'category_id', p.category_id,
                             'price', p.price, 'stock', p.stock, 'status', p.status, 'category',
                             jsonb_build_object('id', c.id, 'name', c.name, 'slug', c.slug,
                                                'parent_id', c.parent_id, 'is_active', c.is_active)))
          ORDER BY i.quantity DESC, i.id), '[]')
       FROM shop_orderitem i JOIN catalog_product p ON p.id = i.product_id
       JOIN catalog_category c ON c.id = p.category_id
       WHERE i.order_id = o.id AND i.quantity >= 2))
     ORDER BY o.id) FROM shop_order o WHERE o.id IN (3, 4)) AS same_as_hand_written;

-- a related row the caller cannot see (row-level security) embeds as
-- null; the parent row is neither lost nor duplicated
CREATE TABLE nest_owner (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE nest_pet (id int PRIMARY KEY, name text NOT NULL, owner_id int NOT NULL REFERENCES nest_owner);
INSERT INTO nest_owner VALUES (1, 'visible'), (2, 'hidden');
INSERT INTO nest_pet VALUES (10, 'rex', 1), (11, 'tom', 2), (12, 'kit', 1);
ALTER TABLE nest_owner ENABLE ROW LEVEL SECURITY;
CREATE POLICY nest_owner_some ON nest_owner USING (id <> 2);
CREATE ROLE qs_nest_reader;
GRANT USAGE ON SCHEMA qs TO qs_nest_reader;
GRANT SELECT ON nest_owner, nest_pet TO qs_nest_reader;
SET ROLE qs_nest_reader;
SELECT qs.json('{"model": "nest_pet", "order_by": ["id"], "select_related": ["owner"]}');
SELECT qs.json('{"model": "nest_owner", "prefetch_related": ["nest_pet__owner"]}');
RESET ROLE;
DROP TABLE nest_pet, nest_owner;
DROP OWNED BY qs_nest_reader;
DROP ROLE qs_nest_reader;

-- errors
SELECT qs.json(qs.select_related(qs.all('shop_order'), 'items'));
SELECT qs.json(qs.select_related(qs.all('shop_order'), 'nope'));
SELECT qs.json(qs.select_related(qs.all('shop_order'), 'user__nope'));
SELECT qs.json(qs.distinct(qs.select_related(qs.all('shop_order'), 'user')));
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"queryset": {}}]}');
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"path": "items", "using": 1}]}');
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"path": "items", "queryset": {"values": ["id"]}}]}');
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"path": "items", "queryset": {"model": "auth_user"}}]}');
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"path": "items", "queryset": {"where": {"nope": 1}}}]}');
SELECT qs.json('{"model": "shop_order", "prefetch_related": [{"path": "items", "queryset": {}}, {"path": "items", "queryset": {}}]}');
-- values() ignores select_related, as in Django
SELECT qs.json(qs.values(qs.select_related(qs.filter(qs.all('shop_order'), '{"id": 1}'), 'user'), 'id'));
-- leave no names behind for the next test file
WITH d AS (DELETE FROM qs.relation_name RETURNING model_schema, model_table),
     m AS (SELECT DISTINCT to_regclass(pg_catalog.format('%I.%I', model_schema, model_table)) AS model FROM d)
SELECT count(qs._invalidate_model(model)) > 0 AS names_removed FROM m WHERE model IS NOT NULL;
