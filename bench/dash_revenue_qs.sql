-- dashboard (1) revenue by category, through the extension: order items of
-- a 180-day window of orders, grouped by category name, top 10 by revenue.
-- Django: OrderItem.objects.filter(order__created_at__range=(d1, d2))
--   .values("product__category__name")
--   .annotate(revenue=Sum(F("quantity") * F("unit_price")), units_sold=Sum("quantity"))
--   .order_by("-revenue")[:10]
-- The window's bounds come from the \gset line (one extra round trip, the
-- same in the hand-written script) as timestamptz text, which is what an
-- application sends; the spec's shape is a constant.
\set off random(0, 550)
SELECT timestamptz '2024-01-01 00:00:00+00' + :off * interval '1 day' AS d1, timestamptz '2024-01-01 00:00:00+00' + (:off + 180) * interval '1 day' AS d2 \gset
SELECT qs.json('{"model": "shop_orderitem", "values": ["product__category__name"], "annotate": [{"revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"units_sold": {"Sum": "quantity"}}], "order_by": ["-revenue"], "limit": 10}'::jsonb || jsonb_build_object('where', jsonb_build_object('order__created_at__range', jsonb_build_array(:d1::text, :d2::text))));
