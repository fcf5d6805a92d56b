-- dashboard (2) monthly trend, through the extension: orders of a 180-day
-- window grouped by month.
-- Django: Order.objects.filter(created_at__range=(d1, d2))
--   .annotate(month=TruncMonth("created_at")).values("month")
--   .annotate(revenue=Sum("total"), order_count=Count("id"), avg_order_value=Avg("total"))
--   .order_by("month")
-- The window's bounds come from the \gset line (one extra round trip, the
-- same in the hand-written script) as timestamptz text, which is what an
-- application sends; the spec's shape is a constant.
\set off random(0, 550)
SELECT timestamptz '2024-01-01 00:00:00+00' + :off * interval '1 day' AS d1, timestamptz '2024-01-01 00:00:00+00' + (:off + 180) * interval '1 day' AS d2 \gset
SELECT qs.json('{"model": "shop_order", "values": ["month"], "annotate": [{"month": {"TruncMonth": "created_at"}}, {"revenue": {"Sum": "total"}}, {"order_count": {"Count": "id"}}, {"avg_order_value": {"Avg": "total"}}], "order_by": ["month"]}'::jsonb || jsonb_build_object('where', jsonb_build_object('created_at__range', jsonb_build_array(:d1::text, :d2::text))));
