-- Aggregation (DESIGN.md §3 "Aggregates over relations never inflate",
-- "values and annotate"): per-row aggregates over relations, values() +
-- annotate grouping with HAVING, qs.aggregate, windows.  Every result is
-- compared with hand-written SQL.  Runs after relations.sql (relation
-- names items, tags, children, products).
SET TimeZone = 'UTC';
SET pg_queryset.shape_cache_check = on;
-- Django's related names for the relations used below
SELECT count(qs.name_relation(m, r.name, n)) >= 0 AS named
FROM (VALUES ('shop_order'::regclass, 'shop_orderitem'::regclass, 'items'),
             ('catalog_product', 'catalog_tag', 'tags')) AS v(m, t, n)
JOIN LATERAL qs.relations(v.m) r ON r.target = v.t AND r.name <> v.n;

-- Two to-many aggregates on one queryset.  Django joins both relations and
-- multiplies the rows (its docs: "combining multiple aggregations with
-- annotate() will yield the wrong results"); here each is its own
-- correlated subquery.
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [13, 400]}, "order_by": ["id"], "only": ["id"],
  "annotate": [{"n_reviews": {"Count": "catalog_review"}}, {"n_tags": {"Count": "tags"}}, {"n_sold": {"Sum": "shop_orderitem__quantity"}}]}');
SELECT p.id,
       (SELECT count(*) FROM catalog_review r WHERE r.product_id = p.id) AS n_reviews,
       (SELECT count(*) FROM catalog_product_tags t WHERE t.product_id = p.id) AS n_tags,
       (SELECT sum(quantity) FROM shop_orderitem i WHERE i.product_id = p.id) AS n_sold
FROM catalog_product p WHERE p.id IN (13, 400) ORDER BY p.id;
-- what Django's SQL (LEFT JOIN both, GROUP BY) returns without distinct
SELECT p.id, count(r.id) AS n_reviews_inflated, count(t.id) AS n_tags_inflated
FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id
LEFT JOIN catalog_product_tags t ON t.product_id = p.id
WHERE p.id IN (13, 400) GROUP BY p.id ORDER BY p.id;
SELECT qs.sql('{"model": "catalog_product", "only": ["id"], "annotate": {"n_reviews": {"Count": "catalog_review"}, "n_tags": {"Count": "tags"}}}');

-- per-row aggregates: filter (paths through the relation or of the row),
-- distinct, default, deeper paths, m2m, and filtering / ordering on them
SELECT qs.json('{"model": "shop_order", "where": {"id__in": [2, 5, 7]}, "order_by": ["id"], "only": ["id"],
  "annotate": [{"big": {"Count": "items", "filter": {"items__quantity__gte": 2}}},
               {"qty": {"Sum": "items__quantity"}},
               {"value": {"Sum": {"*": ["items__quantity", "items__unit_price"]}}},
               {"cats": {"Count": "items__product__category", "distinct": true}},
               {"laptop_qty": {"Sum": "items__quantity", "filter": {"items__product__category__slug": "laptops"}, "default": 0}},
               {"tag_links": {"Count": "items__product__tags"}}]}');
SELECT o.id,
  (SELECT count(*) FROM shop_orderitem i WHERE i.order_id = o.id AND i.quantity >= 2) AS big,
  (SELECT sum(quantity) FROM shop_orderitem i WHERE i.order_id = o.id) AS qty,
  (SELECT sum(quantity * unit_price) FROM shop_orderitem i WHERE i.order_id = o.id) AS value,
  (SELECT count(DISTINCT p.category_id) FROM shop_orderitem i JOIN catalog_product p ON p.id = i.product_id WHERE i.order_id = o.id) AS cats,
  (SELECT coalesce(sum(quantity), 0) FROM shop_orderitem i JOIN catalog_product p ON p.id = i.product_id
     JOIN catalog_category c ON c.id = p.category_id WHERE i.order_id = o.id AND c.slug = 'laptops') AS laptop_qty,
  (SELECT count(pt.id) FROM shop_orderitem i JOIN catalog_product_tags pt ON pt.product_id = i.product_id WHERE i.order_id = o.id) AS tag_links
FROM shop_order o WHERE o.id IN (2, 5, 7) ORDER BY o.id;
-- a filter on a field of the row itself
SELECT qs.json('{"model": "auth_user", "where": {"id__lte": 3}, "order_by": ["id"], "only": ["id"],
  "annotate": {"n": {"Count": "shop_order", "filter": {"is_active": true, "shop_order__status": "delivered"}}}}');
SELECT u.id, (SELECT count(o.id) FILTER (WHERE u.is_active) FROM shop_order o WHERE o.user_id = u.id AND o.status = 'delivered') AS n
FROM auth_user u WHERE u.id <= 3 ORDER BY u.id;
-- filter and order by a per-row aggregate
SELECT qs.json('{"model": "auth_user", "alias": {"n": {"Count": "shop_order"}}, "annotate": {"spent": {"Sum": "shop_order__total"}},
  "where": {"n__gte": 40}, "order_by": ["-n", "id"], "only": ["username"]}');
SELECT u.id, u.username, sum(o.total) AS spent FROM auth_user u JOIN shop_order o ON o.user_id = u.id
GROUP BY u.id HAVING count(o.id) >= 40 ORDER BY count(o.id) DESC, u.id;
-- an aggregate of the row's own field: the row alone (Django groups by the pk)
SELECT qs.json('{"model": "catalog_tag", "where": {"id__lte": 2}, "order_by": ["id"], "values": ["id"],
  "annotate": {"c": {"Count": "id"}, "s": {"Sum": "id"}, "star": {"Count": "*", "filter": {"name": "sale"}}}}');

-- values() + aggregates: one row per group
SELECT qs.json('{"model": "shop_order", "values": ["status"], "annotate": {"n": {"Count": "id"}, "revenue": {"Sum": "total"}}, "order_by": ["status"]}');
SELECT status, count(id) AS n, sum(total) AS revenue FROM shop_order GROUP BY status ORDER BY status;
SELECT qs.sql('{"model": "shop_order", "values": ["status"], "annotate": {"n": {"Count": "id"}}, "order_by": ["status"]}');
-- group keys through relations; aggregate annotations filtered in HAVING,
-- plain lookups in WHERE; ordering by an aggregate
SELECT qs.json('{"model": "catalog_product", "where": {"status": "active", "n__gte": 40}, "values": ["category__parent__name", "category__name"],
  "annotate": {"n": {"Count": "id"}, "avg_price": {"Avg": "price"}}, "order_by": ["-n", "category__name"], "limit": 3}');
SELECT c.name, count(p.id) AS n, avg(p.price) AS avg_price FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
WHERE p.status = 'active' GROUP BY c.parent_id, c.name HAVING count(p.id) >= 40 ORDER BY n DESC, c.name LIMIT 3;
SELECT qs.sql('{"model": "catalog_product", "where": {"status": "active", "n__gte": 40}, "values": ["category__name"],
  "annotate": {"n": {"Count": "id"}}}');
-- count() and exists() of a grouped queryset count its groups
SELECT qs.count('{"model": "catalog_product", "values": ["category"], "annotate": {"n": {"Count": "id"}}, "where": {"n__gt": 50}}') AS groups,
       (SELECT count(*) FROM (SELECT category_id FROM catalog_product GROUP BY 1 HAVING count(*) > 50) g) AS hand,
       qs.exists('{"model": "catalog_product", "values": ["category"], "annotate": {"n": {"Count": "id"}}, "where": {"n__gt": 100000}}') AS any_huge;
-- grouped to-many aggregates combine per-row partials: no inflation across
-- the two relations, results equal to joining each relation alone
SELECT qs.json('{"model": "shop_order", "values": ["status"], "order_by": ["status"],
  "annotate": [{"orders": {"Count": "id"}}, {"n_items": {"Count": "items"}}, {"units": {"Sum": "items__quantity"}},
               {"avg_units": {"Avg": "items__quantity"}}, {"max_units": {"Max": "items__quantity"}}, {"revenue": {"Sum": "total"}}]}');
SELECT o.status, count(*) AS orders,
  (SELECT count(*) FROM shop_orderitem i JOIN shop_order o2 ON o2.id = i.order_id WHERE o2.status = o.status) AS items,
  (SELECT sum(quantity) FROM shop_orderitem i JOIN shop_order o2 ON o2.id = i.order_id WHERE o2.status = o.status) AS units,
  (SELECT avg(quantity) FROM shop_orderitem i JOIN shop_order o2 ON o2.id = i.order_id WHERE o2.status = o.status) AS avg_units,
  (SELECT max(quantity) FROM shop_orderitem i JOIN shop_order o2 ON o2.id = i.order_id WHERE o2.status = o.status) AS max_units,
  sum(total) AS revenue
FROM shop_order o GROUP BY o.status ORDER BY o.status;
-- group by a non-aggregate annotation (the monthly trend), Trunc in the
-- session time zone
SELECT qs.json('{"model": "shop_order", "where": {"created_at__gte": "2025-01-01", "created_at__lt": "2025-04-01"},
  "annotate": [{"month": {"TruncMonth": "created_at"}}, {"revenue": {"Sum": "total"}}, {"n": {"Count": "id"}}, {"aov": {"Avg": "total"}}],
  "values": ["month"], "order_by": ["month"]}');
SELECT date_trunc('month', created_at) AS month, sum(total), count(id), avg(total) FROM shop_order
WHERE created_at >= '2025-01-01' AND created_at < '2025-04-01' GROUP BY 1 ORDER BY 1;
SET TimeZone = 'America/Los_Angeles';
SELECT qs.json('{"model": "shop_order", "where": {"created_at__gte": "2025-01-01", "created_at__lt": "2025-03-01"},
  "annotate": [{"month": {"TruncMonth": "created_at"}}, {"n": {"Count": "id"}}], "values": ["month"], "order_by": ["month"]}');
SELECT date_trunc('month', created_at) AS month, count(id) FROM shop_order
WHERE created_at >= '2025-01-01' AND created_at < '2025-03-01' GROUP BY 1 ORDER BY 1;
SET TimeZone = 'UTC';
-- conditional aggregates and Case inside aggregates
SELECT qs.json('{"model": "shop_order", "values": ["user"], "where": {"user__lte": 3}, "order_by": ["user"],
  "annotate": {"delivered": {"Count": "id", "filter": {"status": "delivered"}},
               "cancelled_value": {"Sum": "total", "filter": {"status": "cancelled"}, "default": 0},
               "big": {"Sum": {"Case": [{"When": {"total__gte": 1000}, "then": 1}], "default": 0}}}}');
SELECT user_id, count(id) FILTER (WHERE status = 'delivered'), coalesce(sum(total) FILTER (WHERE status = 'cancelled'), 0),
       sum(CASE WHEN total >= 1000 THEN 1 ELSE 0 END)
FROM shop_order WHERE user_id <= 3 GROUP BY user_id ORDER BY user_id;

-- qs.aggregate: the whole queryset, one statement
SELECT qs.aggregate('{"model": "shop_order", "where": {"status": "delivered"}}',
  '{"n": {"Count": "id"}, "total": {"Sum": "total"}, "avg": {"Avg": "total"}, "min": {"Min": "created_at"},
    "max": {"Max": "total"}, "users": {"Count": "user", "distinct": true}}');
SELECT count(id), sum(total), avg(total), min(created_at), max(total), count(DISTINCT user_id) FROM shop_order WHERE status = 'delivered';
-- empty set: Count 0, the others null, or the default
SELECT qs.aggregate('{"model": "shop_order", "where": {"id": -1}}',
  '{"n": {"Count": "id"}, "s": {"Sum": "total"}, "d": {"Sum": "total", "default": 0}, "a": {"Avg": "total"}, "items": {"Count": "items"}, "arr": {"ArrayAgg": "id"}}');
-- numeric exactness: Sum of numeric is exact, Avg of integers is numeric
SELECT qs.aggregate('{"model": "shop_orderitem"}', '{"sum": {"Sum": "unit_price"}, "avg_qty": {"Avg": "quantity"}, "sum_qty": {"Sum": "quantity"}}');
SELECT sum(unit_price), avg(quantity), sum(quantity) FROM shop_orderitem;
-- through to-many relations: no inflation
SELECT qs.aggregate('{"model": "shop_order", "where": {"user": 7}}',
  '{"orders": {"Count": "id"}, "revenue": {"Sum": "total"}, "items": {"Count": "items"}, "units": {"Sum": "items__quantity"},
    "avg_unit_price": {"Avg": "items__unit_price"}}');
SELECT (SELECT count(*) FROM shop_order WHERE user_id = 7), (SELECT sum(total) FROM shop_order WHERE user_id = 7),
       count(i.id), sum(i.quantity), avg(i.unit_price)
FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id WHERE o.user_id = 7;
-- aggregating a per-row aggregate annotation
SELECT qs.aggregate('{"model": "shop_order", "where": {"user": 7}, "annotate": {"n": {"Count": "items"}}}', '{"avg_items": {"Avg": "n"}, "max_items": {"Max": "n"}}');
SELECT avg(n), max(n) FROM (SELECT (SELECT count(*) FROM shop_orderitem i WHERE i.order_id = o.id) AS n FROM shop_order o WHERE user_id = 7) s;
-- StdDev and Variance (population unless sample), ArrayAgg / StringAgg /
-- JSONBAgg with ordering and distinct, BoolAnd / BoolOr
SELECT qs.aggregate('{"model": "catalog_category", "where": {"parent__isnull": true}}',
  '{"names": {"StringAgg": "name", "delimiter": ", ", "ordering": ["name"]}, "ids": {"ArrayAgg": "id", "ordering": ["-id"]},
    "slugs": {"JSONBAgg": "slug", "ordering": ["slug"]}, "all_active": {"BoolAnd": "is_active"}, "any_active": {"BoolOr": "is_active"}}');
SELECT string_agg(name, ', ' ORDER BY name), array_agg(id ORDER BY id DESC), jsonb_agg(slug ORDER BY slug), bool_and(is_active), bool_or(is_active)
FROM catalog_category WHERE parent_id IS NULL;
SELECT qs.aggregate('{"model": "catalog_review"}', '{"sd": {"StdDev": "rating"}, "sds": {"StdDev": "rating", "sample": true},
  "var": {"Variance": "rating"}, "vars": {"Variance": "rating", "sample": true}, "ratings": {"ArrayAgg": "rating", "distinct": true, "ordering": ["rating"]}}');
SELECT stddev_pop(rating), stddev_samp(rating), var_pop(rating), var_samp(rating), array_agg(DISTINCT rating ORDER BY rating) FROM catalog_review;

-- windows
SELECT qs.json('{"model": "catalog_product", "where": {"category": 5}, "order_by": ["id"], "limit": 6, "only": ["price"],
  "annotate": [{"rn": {"Window": {"RowNumber": []}, "order_by": ["-price", "id"]}},
               {"rank": {"Window": {"Rank": []}, "order_by": ["-price"]}},
               {"dense": {"Window": {"DenseRank": []}, "partition_by": ["status"], "order_by": ["-price"]}},
               {"prev": {"Window": {"Lag": "price", "offset": 1, "default": 0}, "order_by": ["id"]}},
               {"next": {"Window": {"Lead": "price"}, "order_by": ["id"]}},
               {"first": {"Window": {"FirstValue": "price"}, "order_by": ["id"]}},
               {"nth": {"Window": {"NthValue": "price", "nth": 2}, "order_by": ["id"]}},
               {"tile": {"Window": {"Ntile": 3}, "order_by": ["id"]}},
               {"running": {"Window": {"Sum": "price"}, "order_by": ["id"]}},
               {"share": {"Window": {"CumeDist": []}, "order_by": ["price"]}}]}');
SELECT id, price, row_number() OVER (ORDER BY price DESC, id), rank() OVER (ORDER BY price DESC),
       dense_rank() OVER (PARTITION BY status ORDER BY price DESC), lag(price, 1, 0) OVER (ORDER BY id),
       lead(price) OVER (ORDER BY id), first_value(price) OVER (ORDER BY id), nth_value(price, 2) OVER (ORDER BY id),
       ntile(3) OVER (ORDER BY id), sum(price) OVER (ORDER BY id), cume_dist() OVER (ORDER BY price)
FROM catalog_product WHERE category_id = 5 ORDER BY id LIMIT 6;
-- a window over grouped rows: rank categories by product count
SELECT qs.json('{"model": "catalog_product", "values": ["category"], "order_by": ["-n", "category"], "limit": 3,
  "annotate": [{"n": {"Count": "id"}}, {"pos": {"Window": {"Rank": []}, "order_by": ["-n"]}}]}');
SELECT category_id, count(id) AS n, rank() OVER (ORDER BY count(id) DESC) FROM catalog_product GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3;

-- the article's dashboard: the four queries against hand-written SQL
-- (1) revenue by category
SELECT qs.json('{"model": "shop_orderitem", "where": {"order__created_at__range": ["2024-01-01", "2025-06-30"]},
  "values": ["product__category__name"],
  "annotate": [{"revenue": {"Sum": {"ExpressionWrapper": {"*": ["quantity", "unit_price"]}, "output_field": "numeric(12,2)"}}},
               {"units_sold": {"Sum": "quantity"}}], "order_by": ["-revenue"], "limit": 5}')::jsonb
 = (SELECT jsonb_agg(jsonb_build_object('product__category__name', name, 'revenue', revenue, 'units_sold', units) ORDER BY revenue DESC)
    FROM (SELECT c.name, sum(i.quantity * i.unit_price) AS revenue, sum(i.quantity) AS units
          FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id JOIN catalog_product p ON p.id = i.product_id
          JOIN catalog_category c ON c.id = p.category_id
          WHERE o.created_at BETWEEN '2024-01-01' AND '2025-06-30' GROUP BY c.name ORDER BY revenue DESC LIMIT 5) s) AS revenue_by_category;
-- (2) monthly trend
SELECT qs.json('{"model": "shop_order", "where": {"created_at__range": ["2024-01-01", "2025-06-30"]},
  "annotate": [{"month": {"TruncMonth": "created_at"}}, {"revenue": {"Sum": "total"}}, {"order_count": {"Count": "id"}},
               {"avg_order_value": {"Avg": "total"}}], "values": ["month"], "order_by": ["month"]}')::jsonb
 = (SELECT jsonb_agg(jsonb_build_object('month', m, 'revenue', r, 'order_count', n, 'avg_order_value', a) ORDER BY m)
    FROM (SELECT date_trunc('month', created_at) AS m, sum(total) AS r, count(id) AS n, avg(total) AS a FROM shop_order
          WHERE created_at BETWEEN '2024-01-01' AND '2025-06-30' GROUP BY 1) s) AS monthly_trend;
-- (3) top products by revenue
SELECT qs.json('{"model": "shop_orderitem", "where": {"order__created_at__range": ["2024-01-01", "2025-06-30"]},
  "values": ["product__name", "product__id"],
  "annotate": [{"total_revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"total_units": {"Sum": "quantity"}}],
  "order_by": ["-total_revenue", "product__id"], "limit": 20}')::jsonb
 = (SELECT jsonb_agg(jsonb_build_object('product__name', name, 'product__id', id, 'total_revenue', r, 'total_units', u) ORDER BY r DESC, id)
    FROM (SELECT p.name, p.id, sum(i.quantity * i.unit_price) AS r, sum(i.quantity) AS u
          FROM shop_orderitem i JOIN shop_order o ON o.id = i.order_id JOIN catalog_product p ON p.id = i.product_id
          WHERE o.created_at BETWEEN '2024-01-01' AND '2025-06-30' GROUP BY p.name, p.id ORDER BY r DESC, p.id LIMIT 20) s) AS top_products;
-- (4) low-stock alerts
SELECT qs.json('{"model": "catalog_product", "where": {"status": "active", "stock__lte": 10},
  "values": ["id", "name", "stock", "category__name"], "order_by": ["stock", "id"]}')::jsonb
 = (SELECT jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name, 'stock', p.stock, 'category__name', c.name) ORDER BY p.stock, p.id)
    FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id WHERE p.status = 'active' AND p.stock <= 10) AS low_stock;

-- errors
SELECT qs.aggregate('{"model": "shop_order"}', '{"x": {"F": "total"}}');
SELECT qs.aggregate('{"model": "shop_order", "limit": 5}', '{"n": {"Count": "id"}}');
SELECT qs.aggregate('{"model": "shop_order"}', NULL);
SELECT qs.aggregate('{"model": "shop_order"}', '[1]');
SELECT qs.json('{"model": "shop_order", "aggregate": {"n": {"Count": "id"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Sum": "status"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"BoolAnd": "total"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Sum": {"Count": "items"}}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Sum": {"+": ["items__quantity", "user__catalog_review__rating"]}}}}');
SELECT qs.json('{"model": "shop_order", "values": ["status"], "annotate": {"x": {"Count": "items", "distinct": true}}}');
SELECT qs.json('{"model": "shop_order", "values": ["status"], "annotate": {"x": {"StringAgg": "items__product__name", "delimiter": ","}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"StringAgg": "status"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Count": "id", "distinct": "yes"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Window": {"Sum": "items__quantity"}}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Window": {"Upper": "status"}}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Window": {"NthValue": "total"}}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Count": ["id", "user"]}}}');
