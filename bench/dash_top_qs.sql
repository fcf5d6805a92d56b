-- dashboard (3) top products, through the extension: order items of a
-- 180-day window grouped by product, top 20 by revenue.
-- Django: OrderItem.objects.filter(order__created_at__range=(d1, d2))
--   .values("product__name", "product__id")
--   .annotate(total_revenue=Sum(F("quantity") * F("unit_price")), total_units=Sum("quantity"))
--   .order_by("-total_revenue", "product__id")[:20]
-- The window's bounds come from the \gset line (one extra round trip, the
-- same in the hand-written script) as timestamptz text, which is what an
-- application sends; the spec's shape is a constant.
\set off random(0, 550)
SELECT timestamptz '2024-01-01 00:00:00+00' + :off * interval '1 day' AS d1, timestamptz '2024-01-01 00:00:00+00' + (:off + 180) * interval '1 day' AS d2 \gset
SELECT qs.json('{"model": "shop_orderitem", "values": ["product__name", "product__id"], "annotate": [{"total_revenue": {"Sum": {"*": ["quantity", "unit_price"]}}}, {"total_units": {"Sum": "quantity"}}], "order_by": ["-total_revenue", "product__id"], "limit": 20}'::jsonb || jsonb_build_object('where', jsonb_build_object('order__created_at__range', jsonb_build_array(:d1::text, :d2::text))));
