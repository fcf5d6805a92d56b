-- (5) two to-many aggregates per row, through the extension: the products
-- of one category, each with its number of reviews and of tags.  qs computes
-- each count in its own correlated subquery, so neither inflates the other.
-- Django: Product.objects.filter(category=c).only("id", "name")
--   .annotate(n_reviews=Count("reviews"), n_tags=Count("tags")).order_by("id")
\set cat random(1, 24)
SELECT qs.json('{"model": "catalog_product", "only": ["id", "name"], "annotate": [{"n_reviews": {"Count": "catalog_review"}}, {"n_tags": {"Count": "catalog_tag"}}], "order_by": ["id"]}'::jsonb || jsonb_build_object('where', jsonb_build_object('category', :cat::int)));
