-- Expressions (DESIGN.md §3 "Expressions"): F, Value, arithmetic, Django's
-- functions, Case/When, Exists/Subquery/OuterRef, in annotate, alias,
-- filters, order_by and values.  Runs after relations.sql, which names the
-- relations items, tags, children and products.
SET TimeZone = 'UTC';
-- every shape-cache hit is recompiled and compared (plancache.c)
SET pg_queryset.shape_cache_check = on;

-- per-row annotations follow the model's columns; literals are parameters
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [1, 2, 3]}, "order_by": ["id"],
  "only": ["name", "price", "stock"],
  "annotate": [{"stock_value": {"*": ["price", "stock"]}}, {"discounted": {"*": ["price", 0.9]}},
               {"next_stock": {"+": ["stock", 1]}}, {"label": {"Concat": ["name", {"Value": " ("}, "status", {"Value": ")"}]}}]}');
SELECT qs.params('{"model": "catalog_product", "annotate": {"d": {"*": ["price", 0.9]}, "n": {"+": ["stock", 1]}}}');
SELECT qs.sql('{"model": "catalog_product", "only": ["price"], "annotate": {"d": {"*": ["price", 0.9]}, "n": {"+": ["stock", 1]}}}');

-- result types follow PostgreSQL: int + bigint literal is bigint, numeric
-- * numeric literal numeric, int / int integer division (as Django)
SELECT r->'n' AS n, r->'half' AS half, r->'ratio' AS ratio, jsonb_typeof(r->'ratio') AS ratio_type
FROM qs.rows('{"model": "catalog_product", "where": {"id": 1}, "values": ["stock"],
  "annotate": {"n": {"+": ["stock", 1]}, "half": {"/": ["stock", 2]}, "ratio": {"/": ["price", {"Value": 3, "output_field": "numeric"}]}}}') r;

-- Coalesce, Greatest, Least take the common type; a literal adopts it
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [1, 2]}, "order_by": ["id"], "only": ["id"],
  "annotate": [{"rd": {"Coalesce": ["release_date", {"Value": "2000-01-01"}]}},
               {"hi": {"Greatest": ["stock", 50]}}, {"lo": {"Least": ["price", 10]}}]}');
SELECT id, release_date, stock, price FROM catalog_product WHERE id IN (1, 2) ORDER BY id;

-- text functions, Abs, Round (places: numeric), Length of a number as text
SELECT qs.json('{"model": "catalog_category", "where": {"id__lte": 2}, "order_by": ["id"], "only": ["name"],
  "annotate": [{"up": {"Upper": "name"}}, {"low": {"Lower": "slug"}}, {"len": {"Length": "name"}},
               {"neg": {"Abs": {"-": [0, "id"]}}}, {"third": {"Round": {"/": [{"Cast": "id", "output_field": "numeric"}, 3]}, "places": 2}}]}');

-- Cast with a type modifier; ExpressionWrapper only names the type
SELECT qs.json('{"model": "catalog_product", "where": {"id": 2}, "values": ["id"],
  "annotate": {"p": {"Cast": {"*": ["price", 1.005]}, "output_field": "numeric(10,1)"},
               "w": {"ExpressionWrapper": {"*": ["price", 1.005]}, "output_field": "numeric(12,2)"},
               "s": {"Cast": "stock", "output_field": "text"}}}');

-- Trunc and Extract: in the session time zone, as Django's current time zone
SELECT qs.json('{"model": "shop_order", "where": {"id": 1}, "values": ["created_at"],
  "annotate": [{"day": {"TruncDay": "created_at"}}, {"month": {"TruncMonth": "created_at"}},
               {"week": {"Trunc": "created_at", "kind": "week"}}, {"date": {"TruncDate": "created_at"}},
               {"hour": {"ExtractHour": "created_at"}}, {"year": {"Extract": "created_at", "lookup_name": "year"}},
               {"q": {"ExtractQuarter": "created_at"}}]}');
SET TimeZone = 'Pacific/Auckland';
SELECT qs.json('{"model": "shop_order", "where": {"id": 1}, "values": ["created_at"],
  "annotate": [{"day": {"TruncDay": "created_at"}}, {"date": {"TruncDate": "created_at"}}, {"hour": {"ExtractHour": "created_at"}},
               {"utc_day": {"TruncDay": "created_at", "tzinfo": "UTC"}}]}');
SET TimeZone = 'UTC';
-- a date column truncates to a date
SELECT qs.json('{"model": "catalog_product", "where": {"release_date__isnull": false}, "order_by": ["id"], "limit": 2,
  "values": ["release_date"], "annotate": {"m": {"TruncMonth": "release_date"}, "y": {"TruncYear": "release_date"}}}');

-- Now() is the transaction's timestamp
SELECT (r->>'t')::timestamptz = now() AS is_now FROM qs.rows('{"model": "catalog_tag", "limit": 1, "values": ["id"], "annotate": {"t": {"Now": []}}}') r;

-- Case / When: Q objects (any lookups, relation paths), then-values, default
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [1, 2, 3, 4]}, "order_by": ["id"], "only": ["price"],
  "annotate": {"tier": {"Case": [{"When": {"price__gte": 100}, "then": {"Value": "premium"}},
                                 {"When": {"$or": [{"stock": 0}, {"category__slug": "phones"}]}, "then": {"Value": "watch"}}],
                        "default": {"Value": "standard"}},
               "score": {"Case": [{"When": {"stock__lt": 20}, "then": 1}], "default": 0}}}');
SELECT id, price, stock, CASE WHEN price >= 100 THEN 'premium' WHEN stock = 0 THEN 'watch' ELSE 'standard' END
FROM catalog_product WHERE id IN (1, 2, 3, 4) ORDER BY id;
-- no default: NULL
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [1, 2]}, "order_by": ["id"], "values": ["id"],
  "annotate": {"big": {"Case": [{"When": {"price__gte": 100}, "then": "price"}]}}}');

-- annotations in filters, ordering, values and F; alias is not in the output
SELECT qs.json('{"model": "catalog_product", "where": {"value__gte": 100000, "status": "active"},
  "alias": {"value": {"*": ["price", "stock"]}}, "order_by": ["-value", "id"], "limit": 3, "values": ["id", "value"]}');
SELECT id, price * stock AS value FROM catalog_product WHERE price * stock >= 100000 AND status = 'active'
ORDER BY value DESC, id LIMIT 3;
SELECT qs.json('{"model": "catalog_product", "where": {"id__lte": 3}, "order_by": ["id"], "only": ["id"],
  "alias": {"v": {"*": ["price", "stock"]}}, "annotate": {"double_v": {"*": ["v", 2]}, "same": {"F": "v"}}}');
-- an annotation compared with an F expression and an expression value
SELECT qs.count('{"model": "catalog_product", "alias": {"v": {"*": ["price", "stock"]}}, "where": {"v__gt": {"F": "price"}}}') AS qs,
       (SELECT count(*) FROM catalog_product WHERE price * stock > price) AS hand;
SELECT qs.count('{"model": "catalog_product", "where": {"price__gt": {"*": [{"F": "stock"}, 10]}}}') AS qs,
       (SELECT count(*) FROM catalog_product WHERE price > stock * 10) AS hand;
-- exclude over an expression value keeps Django's NULL handling
SELECT qs.count(qs.exclude(qs.all('catalog_product'), '{"release_date__gt": {"F": "created_at__date"}}')) AS qs,
       (SELECT count(*) FROM catalog_product WHERE NOT (release_date > created_at::date) OR release_date IS NULL) AS hand;
-- transforms apply to annotations
SELECT qs.json('{"model": "shop_order", "where": {"id": 1}, "values": ["id"],
  "annotate": {"d": {"TruncMonth": "created_at"}}, "alias": {"x": {"TruncDay": "created_at"}}}');
SELECT qs.count('{"model": "shop_order", "alias": {"m": {"TruncMonth": "created_at"}}, "where": {"m__year": 2025}}') AS qs,
       (SELECT count(*) FROM shop_order WHERE extract(year FROM date_trunc('month', created_at)) = 2025) AS hand;

-- Exists, Subquery and $exists with OuterRef
SELECT qs.json('{"model": "catalog_product", "where": {"id__in": [1, 13, 400]}, "order_by": ["id"], "only": ["id"],
  "annotate": {"has_good_review": {"Exists": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}, "rating__gte": 5}}},
               "latest_title": {"Subquery": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}},
                                             "order_by": ["-created_at", "-id"], "values": ["title"], "limit": 1}}}}');
SELECT p.id, EXISTS (SELECT 1 FROM catalog_review r WHERE r.product_id = p.id AND r.rating >= 5),
       (SELECT title FROM catalog_review r WHERE r.product_id = p.id ORDER BY created_at DESC, id DESC LIMIT 1)
FROM catalog_product p WHERE p.id IN (1, 13, 400) ORDER BY p.id;
SELECT qs.count('{"model": "catalog_product", "where": {"$exists": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}, "rating": 1}}}}') AS with_1star,
       qs.count('{"model": "catalog_product", "where": {"$not": {"$exists": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}, "rating": 1}}}}}') AS without,
       (SELECT count(*) FROM catalog_product) AS total;
-- OuterRef through relations, and filtering on a Subquery annotation
SELECT qs.count('{"model": "shop_order", "alias": {"first_qty": {"Subquery": {"model": "shop_orderitem", "where": {"order": {"OuterRef": "pk"}},
  "order_by": ["id"], "values": ["quantity"], "limit": 1}}}, "where": {"first_qty__gte": 3}}') AS qs,
  (SELECT count(*) FROM shop_order o WHERE (SELECT quantity FROM shop_orderitem i WHERE i.order_id = o.id ORDER BY id LIMIT 1) >= 3) AS hand;
SELECT qs.count('{"model": "shop_order", "where": {"$exists": {"model": "catalog_review",
  "where": {"user": {"OuterRef": "user"}, "product__category__slug": "laptops"}}}}') AS qs,
  (SELECT count(*) FROM shop_order o WHERE EXISTS (SELECT 1 FROM catalog_review r JOIN catalog_product p ON p.id = r.product_id
     JOIN catalog_category c ON c.id = p.category_id WHERE r.user_id = o.user_id AND c.slug = 'laptops')) AS hand;

-- the same shape with other values reuses the statement
SELECT qs.plan_cache_reset();
SELECT qs.count('{"model": "catalog_product", "alias": {"v": {"*": ["price", 2]}}, "where": {"v__gt": 100}}');
SELECT qs.count('{"model": "catalog_product", "alias": {"v": {"*": ["price", 3]}}, "where": {"v__gt": 100}}');
SELECT (SELECT count(*) FROM catalog_product WHERE price * 3 > 100) AS hand;
SELECT hits, misses, shape_hits, shape_misses FROM qs.plan_cache_stats();
-- a number with a fraction is another shape; next to a numeric column
-- both literals are numeric, so it is the same statement (a plan hit)
SELECT qs.count('{"model": "catalog_product", "alias": {"v": {"*": ["price", 2.5]}}, "where": {"v__gt": 100}}');
SELECT hits, misses, shape_hits, shape_misses FROM qs.plan_cache_stats();

-- order_by an expression (Django's order_by(Length("name").desc())), also
-- in subqueries and Prefetch querysets; last() reverses it
SELECT qs.json('{"model": "catalog_tag", "order_by": [{"expression": {"Length": "name"}, "desc": true}, "id"], "limit": 3, "values": ["name"]}');
SELECT name FROM catalog_tag ORDER BY length(name) DESC, id LIMIT 3;
SELECT qs.last('{"model": "catalog_tag", "order_by": [{"expression": {"Length": "name"}}, "id"]}');
SELECT qs.json('{"model": "catalog_product", "where": {"id": 400}, "only": ["id"],
  "prefetch_related": [{"path": "catalog_review", "queryset": {"order_by": [{"expression": {"*": ["rating", -1]}}], "only": ["rating"]}}]}');
SELECT qs.json('{"model": "catalog_product", "where": {"id": 400}, "only": ["id"], "annotate": {"worst": {"Subquery": {"model": "catalog_review",
  "where": {"product": {"OuterRef": "pk"}}, "order_by": [{"expression": {"*": ["rating", -1]}, "desc": true}], "values": ["title"], "limit": 1}}}}');
SELECT title, rating FROM catalog_review WHERE product_id = 400 ORDER BY rating;
-- qs.fetch fills a column of the row type from the annotation of that name
CREATE TEMP TABLE tag_len (id bigint, name text, n int);
SELECT * FROM qs.fetch('{"model": "catalog_tag", "where": {"id__lte": 2}, "order_by": ["id"], "annotate": {"n": {"Length": "name"}}}', NULL::tag_len);

-- builders: annotate and alias accumulate in call order
SELECT qs.annotate(qs.annotate(qs.all('catalog_tag'), '{"b": {"Upper": "name"}}'), '{"a": {"Lower": "name"}}');
SELECT qs.json(qs.slice(qs.order_by(qs.annotate(qs.annotate(qs.all('catalog_tag'), '{"b": {"Upper": "name"}}'), '{"a": {"Length": "slug"}}'), 'id'), 0, 2));
SELECT qs.alias(qs.all('catalog_tag'), '{"n": {"Length": "name"}}');

-- errors
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Frobnicate": "name"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Upper": "name", "colour": 1}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Coalesce": ["name"]}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Upper": ["name", "slug"]}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": ["name"]}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Cast": "name"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Cast": "name", "output_field": "no_such_type"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"Cast": "name", "output_field": "int; DROP TABLE catalog_tag"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"+": ["name", 1]}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"name": {"Upper": "slug"}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"category": {"Upper": "slug"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"a": {"F": "b"}, "b": {"F": "a"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"a__b": {"F": "name"}}}');
SELECT qs.json('{"model": "catalog_tag", "annotate": [{"a": {"F": "name"}}, {"a": {"F": "slug"}}]}');
SELECT qs.json('{"model": "catalog_tag", "annotate": {"x": {"OuterRef": "id"}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Subquery": {"model": "catalog_review", "where": {"product": {"OuterRef": "pk"}}}}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Exists": {"model": "catalog_review", "annotate": {}}}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Rank": []}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Trunc": "created_at", "kind": "fortnight"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"TruncMonth": "status"}}}');
SELECT qs.json('{"model": "shop_order", "annotate": {"x": {"Extract": "status", "lookup_name": "year"}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Round": "price", "places": "two"}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Coalesce": ["stock", {"Value": "many"}]}}}');
SELECT qs.json('{"model": "catalog_product", "annotate": {"x": {"Upper": "items__product"}}}');
SELECT qs.annotate(qs.all('catalog_tag'), '"x"');
SELECT qs.annotate(qs.all('catalog_tag'), NULL);
SELECT qs.json('{"model": "catalog_tag", "order_by": [{"F": "id", "expression": {"Length": "name"}}]}');
