"""Django models over the demo schema (test/fixtures/demo_schema.sql), for
bench/nested.sh.  managed = False: the tables exist; Django only reads them.
Field names follow the tables, so a model instance and a qs.json object have
the same keys (attname, e.g. category_id)."""
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=150)
    slug = models.CharField(max_length=150)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE)
    is_active = models.BooleanField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "catalog_category"


class Product(models.Model):
    name = models.CharField(max_length=255)
    slug = models.CharField(max_length=255)
    description = models.TextField()
    category = models.ForeignKey(Category, on_delete=models.RESTRICT)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField()
    status = models.CharField(max_length=20)
    metadata = models.JSONField()
    keywords = ArrayField(models.TextField())
    release_date = models.DateField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "catalog_product"


class Address(models.Model):
    user_id = models.BigIntegerField()
    line1 = models.CharField(max_length=255)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    is_default = models.BooleanField()

    class Meta:
        managed = False
        db_table = "shop_address"


class Order(models.Model):
    public_id = models.UUIDField()
    user_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    shipping_address = models.ForeignKey(Address, null=True, on_delete=models.SET_NULL)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    notes = models.TextField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "shop_order"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.RESTRICT)
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        managed = False
        db_table = "shop_orderitem"
