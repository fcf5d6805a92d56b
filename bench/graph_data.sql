-- Benchmark users for bench/graph.sh, added on top of the demo data
-- (test/fixtures/demo_data.sql, scale 20: 20,000 products).  Deterministic:
-- no random(), no now().
--
--   bench_g10 .. bench_g10000   10, 100, 1000, 7800 and 10000 orders,
--                               24 items each (7800 x 24 = 187,200 items)
--
-- Every item references a product; products are spread over the catalog
-- (index (ord * 1009 + item * 7919) mod n), so the product rows are read
-- from all over the table, as in a real shop.  Order notes hold quotes,
-- backslashes, control characters and non-ASCII text, so both JSON
-- builders must escape the same way for the outputs to compare equal.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL client_encoding = 'UTF8';   -- this file is UTF-8

CREATE TEMP TABLE g_user ON COMMIT DROP AS
SELECT v.n_orders, 'bench_g' || v.n_orders AS username, v.ord
FROM (VALUES (10, 11), (100, 12), (1000, 13), (7800, 14), (10000, 15)) AS v(n_orders, ord);

INSERT INTO auth_user (username, email, first_name, last_name, is_active, is_staff,
                       date_joined, last_login)
SELECT g.username, g.username || '@bench.test', 'Graph', 'Bench', true, false,
       timestamptz '2024-02-01 09:00:00+00' + g.ord * interval '1 hour',
       timestamptz '2025-12-01 12:00:00+00'
FROM g_user AS g
ORDER BY g.ord;

CREATE TEMP TABLE g_prod ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY p.id) - 1 AS idx, p.id, p.price
FROM catalog_product AS p;
CREATE UNIQUE INDEX ON g_prod (idx);

INSERT INTO shop_order (public_id, user_id, status, shipping_address_id, total, notes,
                        created_at, updated_at)
SELECT ('c0000000-0000-4000-8000-' || lpad(to_hex(g.ord * 100000 + k), 12, '0'))::uuid,
       u.id,
       (ARRAY['pending','processing','shipped','delivered','cancelled'])[1 + k % 5],
       NULL,
       k * 1.25,
       CASE k % 4 WHEN 0 THEN 'Leave at the door'
                  WHEN 1 THEN NULL
                  WHEN 2 THEN E'Say "hi" \\ ring twice\nthen wait ✓'
                  ELSE '' END,
       timestamptz '2024-03-01 00:00:00+00' + (g.ord * 100000 + k) * interval '1 minute',
       timestamptz '2024-03-01 00:00:00+00' + (g.ord * 100000 + k) * interval '1 minute'
FROM g_user AS g
JOIN auth_user AS u ON u.username = g.username
CROSS JOIN LATERAL generate_series(1, g.n_orders) AS k
ORDER BY g.ord, k;

INSERT INTO shop_orderitem (order_id, product_id, quantity, unit_price)
SELECT so.id, p.id, 1 + (k + j) % 3, p.price
FROM g_user AS g
JOIN auth_user AS u ON u.username = g.username
CROSS JOIN LATERAL generate_series(1, g.n_orders) AS k
JOIN shop_order AS so
  ON so.public_id = ('c0000000-0000-4000-8000-' || lpad(to_hex(g.ord * 100000 + k), 12, '0'))::uuid
CROSS JOIN generate_series(0, 23) AS j
CROSS JOIN (SELECT count(*) AS n FROM g_prod) AS c
JOIN g_prod AS p ON p.idx = (g.ord * 1009 + (24 * (k - 1) + j) * 7919) % c.n
ORDER BY so.id, j;

COMMIT;

ANALYZE auth_user, shop_order, shop_orderitem;
