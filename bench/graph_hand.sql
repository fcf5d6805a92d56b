-- bench/graph.sh: the orders of one user, each with its items and each
-- item's product, as ONE statement written by an expert: a LEFT JOIN
-- LATERAL json_agg per order.  The same text as qs.json of
-- {"model": "shop_order", "where": {"user": $1}, "order_by": ["id"],
--  "prefetch_related": ["items__product"]}.  $1 = user id.
SELECT coalesce(json_agg(json_build_object(
         'id', o.id, 'public_id', o.public_id, 'user_id', o.user_id, 'status', o.status,
         'shipping_address_id', o.shipping_address_id, 'total', o.total, 'notes', o.notes,
         'created_at', o.created_at, 'updated_at', o.updated_at,
         'items', it.items) ORDER BY o.id), '[]'::json)
FROM shop_order o
LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object(
             'id', i.id, 'order_id', i.order_id, 'product_id', i.product_id,
             'quantity', i.quantity, 'unit_price', i.unit_price,
             'product', json_build_object(
                 'id', p.id, 'name', p.name, 'slug', p.slug, 'description', p.description,
                 'category_id', p.category_id, 'price', p.price, 'stock', p.stock,
                 'status', p.status, 'metadata', p.metadata, 'keywords', p.keywords,
                 'release_date', p.release_date, 'created_at', p.created_at,
                 'updated_at', p.updated_at)) ORDER BY i.id), '[]'::json) AS items
    FROM shop_orderitem i
    JOIN catalog_product p ON p.id = i.product_id
    WHERE i.order_id = o.id
) it ON true
WHERE o.user_id = $1
