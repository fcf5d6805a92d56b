-- dashboard (4) low stock, through the extension: active products with at
-- most N units in stock, with their category.
-- Django: Product.objects.filter(status="active", stock__lte=n)
--   .values("id", "name", "stock", "category__name").order_by("stock", "id")
\set n random(0, 10)
SELECT qs.json('{"model": "catalog_product", "values": ["id", "name", "stock", "category__name"], "order_by": ["stock", "id"]}'::jsonb || jsonb_build_object('where', jsonb_build_object('status', 'active', 'stock__lte', :n::int)));
