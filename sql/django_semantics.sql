-- Django patterns across relations (issue 19, parts 1 and 2): every
-- count is compared with hand-written SQL that encodes Django's meaning,
-- with every shape-cache hit recompiled and compared.
SET pg_queryset.shape_cache_check = on;
SELECT qs.name_relation('catalog_category', 'catalog_category', 'children');
SELECT qs.name_relation('catalog_product', 'catalog_review', 'reviews');
SELECT qs.name_relation('catalog_product', 'shop_orderitem', 'order_items');
SELECT qs.name_relation('catalog_product', 'catalog_tag', 'tags');
SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items');

-- 1. relation__isnull on reverse and many-to-many relations: Django joins
-- them outer for isnull=True (rows without related rows match) and the
-- answer never holds a row twice: NOT EXISTS / EXISTS
SELECT qs.count('{"model": "catalog_category", "where": {"children__isnull": true}}') AS leaves,
       (SELECT count(*) FROM catalog_category c
         WHERE NOT EXISTS (SELECT 1 FROM catalog_category k WHERE k.parent_id = c.id)) AS hand_leaves,
       qs.count('{"model": "catalog_category", "where": {"children__isnull": false}}') AS parents,
       (SELECT count(*) FROM catalog_category c
         WHERE EXISTS (SELECT 1 FROM catalog_category k WHERE k.parent_id = c.id)) AS hand_parents;
SELECT qs.count('{"model": "catalog_product", "where": {"tags__isnull": true}}') AS untagged,
       (SELECT count(*) FROM catalog_product p
         WHERE NOT EXISTS (SELECT 1 FROM catalog_product_tags t WHERE t.product_id = p.id)) AS hand_untagged,
       qs.count('{"model": "catalog_product", "where": {"tags__isnull": false}}') AS tagged,
       (SELECT count(*) FROM catalog_product p
         WHERE EXISTS (SELECT 1 FROM catalog_product_tags t WHERE t.product_id = p.id)) AS hand_tagged;
SELECT qs.count('{"model": "catalog_product", "where": {"order_items__isnull": true}}') AS never_ordered,
       (SELECT count(*) FROM catalog_product p
         WHERE NOT EXISTS (SELECT 1 FROM shop_orderitem i WHERE i.product_id = p.id)) AS hand_never_ordered;
-- no duplicate rows: every tagged product once
SELECT count(*) AS rows, count(DISTINCT r->>'id') AS distinct_rows
FROM qs.rows('{"model": "catalog_product", "where": {"tags__isnull": false}, "only": ["id"]}') r;
-- the SQL is the expert's
SELECT qs.sql('{"model": "catalog_category", "where": {"children__isnull": true}, "only": ["id"]}');
-- a field after the to-many hop: with true, no related row, or a related
-- row whose field is null (Django's LEFT JOIN ... IS NULL); with false,
-- some related row has it
SELECT qs.count('{"model": "shop_order", "where": {"items__product__isnull": true}}') AS items_without_product,
       (SELECT count(*) FROM shop_order o
         WHERE NOT EXISTS (SELECT 1 FROM shop_orderitem i WHERE i.order_id = o.id)
            OR EXISTS (SELECT 1 FROM shop_orderitem i WHERE i.order_id = o.id AND i.product_id IS NULL)) AS hand;
SELECT qs.count('{"model": "catalog_product", "where": {"reviews__body__isnull": false}}') AS reviewed_with_body,
       (SELECT count(*) FROM catalog_product p
         WHERE EXISTS (SELECT 1 FROM catalog_review r WHERE r.product_id = p.id AND r.body IS NOT NULL)) AS hand;
-- deeper: categories with a child that has no children of its own, or with none
SELECT qs.count('{"model": "catalog_category", "where": {"children__children__isnull": true}}') AS two_levels,
       (SELECT count(*) FROM catalog_category c
         WHERE NOT EXISTS (SELECT 1 FROM catalog_category k WHERE k.parent_id = c.id)
            OR EXISTS (SELECT 1 FROM catalog_category k WHERE k.parent_id = c.id
                        AND NOT EXISTS (SELECT 1 FROM catalog_category g WHERE g.parent_id = k.id))) AS hand;
-- inside $not, $or, and chained calls
SELECT qs.count('{"model": "catalog_category", "where": {"$not": {"children__isnull": true}}}') AS not_leaf,
       qs.count(qs.exclude(qs.all('catalog_category'), '{"children__isnull": true}')) AS excluded,
       qs.count('{"model": "catalog_category", "where": {"$or": [{"children__isnull": true}, {"parent__isnull": true}]}}') AS leaf_or_root,
       (SELECT count(*) FROM catalog_category c
         WHERE NOT EXISTS (SELECT 1 FROM catalog_category k WHERE k.parent_id = c.id) OR c.parent_id IS NULL) AS hand_leaf_or_root,
       qs.count(qs.filter(qs.filter(qs.all('catalog_product'), '{"tags__isnull": false}'), '{"order_items__isnull": true}')) AS tagged_never_ordered,
       (SELECT count(*) FROM catalog_product p
         WHERE EXISTS (SELECT 1 FROM catalog_product_tags t WHERE t.product_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM shop_orderitem i WHERE i.product_id = p.id)) AS hand_tagged_never_ordered;
-- a wrong value is reported as for any isnull
SELECT qs.count('{"model": "catalog_category", "where": {"children__isnull": "yes"}}');

-- 2. field__in with a queryset: Product.objects.filter(id__in=
-- Review.objects.filter(rating=1).values("product_id")), as a semi-join
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "where": {"rating": 1}, "values": ["product_id"]}}}') AS given_directly,
       qs.count('{"model": "catalog_product", "where": {"id__in": {"Subquery": {"model": "catalog_review", "where": {"rating": 1}, "values": ["product_id"]}}}}') AS as_subquery,
       (SELECT count(*) FROM catalog_product p WHERE p.id IN (SELECT r.product_id FROM catalog_review r WHERE r.rating = 1)) AS hand;
SELECT qs.sql('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "where": {"rating": 1}, "values": ["product_id"]}}, "only": ["id"]}');
-- without values the inner queryset gives its primary key (Django's id__in=queryset)
SELECT qs.count('{"model": "shop_orderitem", "where": {"product__in": {"model": "catalog_product", "where": {"status": "archived"}}}}') AS items_of_archived,
       (SELECT count(*) FROM shop_orderitem i WHERE i.product_id IN (SELECT id FROM catalog_product WHERE status = 'archived')) AS hand;
-- values in the inner queryset are parameters, the shape is cached: other values, same statement
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": 10, "id__in": {"model": "catalog_review", "where": {"rating__in": [1, 2]}, "values": ["product_id"]}, "stock__lt": 5}}') AS a,
       (SELECT count(*) FROM catalog_product p WHERE price > 10 AND stock < 5 AND id IN (SELECT product_id FROM catalog_review WHERE rating IN (1, 2))) AS hand_a,
       qs.count('{"model": "catalog_product", "where": {"price__gt": 20, "id__in": {"model": "catalog_review", "where": {"rating__in": [3]}, "values": ["product_id"]}, "stock__lt": 50}}') AS b,
       (SELECT count(*) FROM catalog_product p WHERE price > 20 AND stock < 50 AND id IN (SELECT product_id FROM catalog_review WHERE rating IN (3))) AS hand_b;
SELECT qs.params('{"model": "catalog_product", "where": {"price__gt": 10, "id__in": {"model": "catalog_review", "where": {"rating__in": [1, 2]}, "values": ["product_id"]}}}');
-- negated: products never reviewed (NULL-safe: a NULL in the inner column cannot hide rows)
SELECT qs.count('{"model": "catalog_product", "where": {"$not": {"id__in": {"model": "catalog_review", "values": ["product_id"]}}}}') AS never_reviewed,
       (SELECT count(*) FROM catalog_product p WHERE NOT EXISTS (SELECT 1 FROM catalog_review r WHERE r.product_id = p.id)) AS hand;
-- a relation path inside the inner queryset, and the inner queryset sliced
SELECT qs.count('{"model": "shop_order", "where": {"id__in": {"model": "shop_orderitem", "where": {"product__category__slug": "laptops"}, "values": ["order_id"]}}}') AS orders_with_laptops,
       (SELECT count(*) FROM shop_order o WHERE o.id IN (SELECT i.order_id FROM shop_orderitem i
          JOIN catalog_product p ON p.id = i.product_id JOIN catalog_category c ON c.id = p.category_id WHERE c.slug = 'laptops')) AS hand;
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "order_by": ["-rating", "id"], "values": ["product_id"], "limit": 5}}}') AS top_five_reviews;
-- refused clearly: more than one column, a bad inner key, a bad inner field
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "values": ["product_id", "rating"]}}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "select_related": ["product"]}}}');
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": {"model": "catalog_review", "values": ["colour"]}}}');
-- a list is still a list
SELECT qs.count('{"model": "catalog_product", "where": {"id__in": [1, 2, 3]}}') AS three;
RESET pg_queryset.shape_cache_check;
