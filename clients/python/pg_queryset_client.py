"""pg_queryset_client -- Django's QuerySet vocabulary over psycopg 3.

A small, typed client for the ``pg_queryset`` PostgreSQL extension (the
``qs`` schema).  A :class:`QuerySet` is an immutable, lazy value holding a
model name and a JSON spec; builder methods return new QuerySets and
nothing touches the database until a *terminal* method receives a
connection::

    import pg_queryset_client as qs

    with qs.connect() as conn:                      # PG* environment variables
        cheap = (qs.QuerySet("catalog_product")
                   .filter(status="active", price__lt=10)
                   .order_by("-price", "id")
                   .values("id", "name", "price"))[:3]
        rows = cheap.json(conn)                     # -> qs.json(spec), one statement
        n = qs.QuerySet("catalog_product").filter(stock__gt=0).count(conn)
        qs.QuerySet("catalog_product").filter(pk=13).update(conn, stock=qs.F("stock") - 2)

Every value -- spec, lookups, token -- travels as a bind parameter (specs as
``jsonb``); nothing is spliced into SQL text except identifiers that the
caller names (cursor names, quoted with :class:`psycopg.sql.Identifier`).
Behind PgBouncer in transaction mode connect with ``prepare_threshold=None``
(``connect()`` does): PgBouncer 1.18 does not track named prepared
statements.

JSON comes back with exact decimals (``decimal.Decimal``) for fractional
numbers, never ``float``: ``qs.json`` results keep ``numeric`` values exact.

Server errors are raised as the Django-named exceptions of this module,
all subclasses of :class:`DatabaseError` (see :func:`translate`); the
original psycopg exception is chained as ``__cause__``.

Spec building is checked offline by this module's doctests::

    >>> qs = QuerySet("catalog_product").filter(status="active").order_by("-price")[:5]
    >>> qs.to_spec()
    {'model': 'catalog_product', 'where': {'status': 'active'}, 'order_by': ['-price'], 'limit': 5}
    >>> dumps((F("stock") - 2).to_json())
    '{"-": [{"F": "stock"}, 2]}'
"""
from __future__ import annotations

import base64
import datetime as _dt
import decimal
import hashlib
import hmac
import json as _json
import time
import uuid
import weakref
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import (Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union)

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb, set_json_loads

__all__ = [
    "QuerySet", "Q", "F", "Value", "Func", "Expression", "OrderBy",
    "Count", "Sum", "Avg", "Min", "Max", "Cast", "Coalesce", "Lower", "Upper", "Length",
    "TruncDay", "TruncMonth", "TruncYear", "TruncDate", "Now",
    "connect", "configure", "create", "bulk_update", "set_tenant_token", "reset_tenant",
    "current_tenant", "set_query_budget", "plan_cache_stats", "mint_token", "dumps", "loads",
    "translate",
    "DatabaseError", "DoesNotExist", "MultipleObjectsReturned", "FieldError", "InvalidQuery",
    "DataError", "IntegrityError", "PermissionDenied", "InvalidToken", "LimitExceeded",
]

JSON = Any  # a JSON value: None, bool, int, Decimal, float, str, list, dict
Connection = psycopg.Connection


# ---------------------------------------------------------------------------
# Exceptions (clients/PROTOCOL.md, "Errors are mapped from SQLSTATE")
# ---------------------------------------------------------------------------

class DatabaseError(Exception):
    """Base of every error this module raises.

    Attributes mirror PostgreSQL's error fields: ``sqlstate`` (five
    characters, or ``None`` for errors with no server code, such as a lost
    connection), ``message`` (primary text), ``detail`` and ``hint``.
    The psycopg exception is chained as ``__cause__``.
    """

    def __init__(self, message: str, sqlstate: Optional[str] = None,
                 detail: Optional[str] = None, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        s = f"{self.message} [{self.sqlstate}]" if self.sqlstate else self.message
        if self.detail:
            s += f"\nDETAIL:  {self.detail}"
        if self.hint:
            s += f"\nHINT:  {self.hint}"
        return s


class DoesNotExist(DatabaseError):
    """``get`` found no row (P0002)."""


class MultipleObjectsReturned(DatabaseError):
    """``get`` found more than one row (P0003)."""


class FieldError(DatabaseError):
    """An unknown field, relation or lookup (42703)."""


class InvalidQuery(DatabaseError):
    """A malformed spec or argument (22023, 22004, 2202E, 42804)."""


class DataError(DatabaseError):
    """A value that does not fit its type (22P02)."""


class IntegrityError(DatabaseError):
    """A constraint violation (SQLSTATE class 23)."""


class PermissionDenied(DatabaseError):
    """Insufficient privilege (42501), e.g. a token written into SQL text."""


class InvalidToken(PermissionDenied):
    """A tenant token that failed verification (28000)."""


class LimitExceeded(DatabaseError):
    """A program limit such as ``pg_queryset.query_budget`` (54000)."""


_BY_SQLSTATE: Dict[str, type] = {
    "P0002": DoesNotExist,
    "P0003": MultipleObjectsReturned,
    "42703": FieldError,
    "22023": InvalidQuery, "22004": InvalidQuery, "2202E": InvalidQuery, "42804": InvalidQuery,
    "22P02": DataError,
    "28000": InvalidToken,
    "42501": PermissionDenied,
    "54000": LimitExceeded,
}


def translate(error: psycopg.Error) -> DatabaseError:
    """The exception of this module for a psycopg error, by its SQLSTATE.

    >>> class Fake(psycopg.Error): sqlstate = "23505"
    >>> type(translate(Fake("dup"))).__name__
    'IntegrityError'
    """
    state = getattr(error, "sqlstate", None)
    cls = _BY_SQLSTATE.get(state or "")
    if cls is None:
        cls = IntegrityError if state and state.startswith("23") else DatabaseError
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    message = primary or (str(error).splitlines()[0] if str(error) else type(error).__name__)
    return cls(message, state,
               getattr(diag, "message_detail", None) if diag is not None else None,
               getattr(diag, "message_hint", None) if diag is not None else None)


# ---------------------------------------------------------------------------
# JSON with exact decimals
# ---------------------------------------------------------------------------

def loads(text: Union[str, bytes]) -> JSON:
    """Parse JSON, fractional numbers as :class:`decimal.Decimal`."""
    return _json.loads(text, parse_float=decimal.Decimal)


def dumps(value: Any) -> str:
    """Serialise to JSON; ``Decimal`` as an exact number, expressions, Q
    objects and QuerySets as their spec, dates as ISO 8601 strings.

    >>> dumps({"price": decimal.Decimal("12.50"), "ids": (1, 2), "q": Q(stock__lt=F("id"))})
    '{"price": 12.50, "ids": [1, 2], "q": {"stock__lt": {"F": "id"}}}'
    """
    parts: List[str] = []
    _dump(value, parts.append)
    return "".join(parts)


def _dump(v: Any, out) -> None:
    if v is None:
        out("null")
    elif v is True:
        out("true")
    elif v is False:
        out("false")
    elif isinstance(v, str):
        out(_json.dumps(v, ensure_ascii=False))
    elif isinstance(v, int):
        out(int.__repr__(v))
    elif isinstance(v, decimal.Decimal):
        if not v.is_finite():
            raise ValueError(f"{v} is not a JSON number")
        out(str(v))
    elif isinstance(v, float):
        out(_json.dumps(v, allow_nan=False))
    elif isinstance(v, Mapping):
        out("{")
        for i, (k, item) in enumerate(v.items()):
            if i:
                out(", ")
            out(_json.dumps(str(k), ensure_ascii=False))
            out(": ")
            _dump(item, out)
        out("}")
    elif isinstance(v, (list, tuple)):
        out("[")
        for i, item in enumerate(v):
            if i:
                out(", ")
            _dump(item, out)
        out("]")
    elif isinstance(v, (Expression, Q, OrderBy)):
        _dump(v.to_json(), out)
    elif isinstance(v, QuerySet):
        _dump(v.to_spec(), out)
    elif isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        out(_json.dumps(v.isoformat()))
    elif isinstance(v, uuid.UUID):
        out(_json.dumps(str(v)))
    else:
        raise TypeError(f"cannot serialise {type(v).__name__} to JSON")


def _jsonb(value: Any) -> Jsonb:
    """A ``jsonb`` bind parameter."""
    return Jsonb(value, dumps=dumps)


# ---------------------------------------------------------------------------
# Expressions: F("stock") - 2 -> {"-": [{"F": "stock"}, 2]}
# ---------------------------------------------------------------------------

def _expr_json(v: Any) -> JSON:
    if isinstance(v, (Expression, Q, OrderBy)):
        return v.to_json()
    if isinstance(v, QuerySet):
        return v.to_spec()
    if isinstance(v, (list, tuple)):
        return [_expr_json(x) for x in v]
    if isinstance(v, Mapping):
        return {k: _expr_json(x) for k, x in v.items()}
    return v


class Expression:
    """Base of spec expressions; supports ``+ - * /`` with other
    expressions and literals (folded into the spec's operator form)."""

    def to_json(self) -> JSON:  # pragma: no cover - abstract
        raise NotImplementedError

    def _op(self, op: str, other: Any, reverse: bool = False) -> "Expression":
        a, b = (other, self) if reverse else (self, other)
        return _Operator(op, (a, b))

    def __add__(self, o: Any) -> "Expression": return self._op("+", o)
    def __radd__(self, o: Any) -> "Expression": return self._op("+", o, True)
    def __sub__(self, o: Any) -> "Expression": return self._op("-", o)
    def __rsub__(self, o: Any) -> "Expression": return self._op("-", o, True)
    def __mul__(self, o: Any) -> "Expression": return self._op("*", o)
    def __rmul__(self, o: Any) -> "Expression": return self._op("*", o, True)
    def __truediv__(self, o: Any) -> "Expression": return self._op("/", o)
    def __rtruediv__(self, o: Any) -> "Expression": return self._op("/", o, True)

    def desc(self, nulls_first: bool = False, nulls_last: bool = False) -> "OrderBy":
        """Descending ordering by this expression."""
        return OrderBy(self, True, nulls_first, nulls_last)

    def asc(self, nulls_first: bool = False, nulls_last: bool = False) -> "OrderBy":
        """Ascending ordering by this expression."""
        return OrderBy(self, False, nulls_first, nulls_last)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dumps(self.to_json())})"


@dataclass(frozen=True, repr=False)
class _Operator(Expression):
    op: str
    operands: Tuple[Any, ...]

    def to_json(self) -> JSON:
        return {self.op: [_expr_json(x) for x in self.operands]}


@dataclass(frozen=True, repr=False)
class F(Expression):
    """A field reference, Django's ``F("price")``: ``{"F": "price"}``."""
    name: str

    def to_json(self) -> JSON:
        return {"F": self.name}


@dataclass(frozen=True, repr=False)
class Value(Expression):
    """A literal, Django's ``Value("n/a")``; optionally typed."""
    value: Any
    output_field: Optional[str] = None

    def to_json(self) -> JSON:
        d: Dict[str, Any] = {"Value": self.value}
        if self.output_field:
            d["output_field"] = self.output_field
        return d


class Func(Expression):
    """A spec function ``{"Name": argument, option: value, ...}``.

    With one argument the argument is given as is (a bare string is a
    field path), with several as a list, with none as ``[]``::

        >>> Func("Coalesce", "release_date", Value("2000-01-01")).to_json()
        {'Coalesce': ['release_date', {'Value': '2000-01-01'}]}
        >>> Sum(F("quantity") * F("unit_price")).to_json()
        {'Sum': {'*': [{'F': 'quantity'}, {'F': 'unit_price'}]}}
    """
    function: str = ""
    _many = False  # functions that always take a list (Coalesce, Greatest, ...)

    def __init__(self, *args: Any, function: Optional[str] = None, **options: Any) -> None:
        if function is None and type(self) is Func:
            if not args:
                raise TypeError("Func needs a function name")
            function, args = args[0], args[1:]
        self.name = function or self.function or type(self).__name__
        self.args = args
        self.options = options

    def to_json(self) -> JSON:
        if len(self.args) == 1 and not self._many:
            arg = _expr_json(self.args[0])
        else:
            arg = [_expr_json(a) for a in self.args]
        d: Dict[str, Any] = {self.name: arg}
        d.update({k: _expr_json(v) for k, v in self.options.items()})
        return d


def _function(name: str, many: bool = False, doc: str = "") -> type:
    return type(name, (Func,), {"function": name, "_many": many,
                                "__doc__": doc or f"The spec function ``{name}``."})


Count = _function("Count", doc="``Count(expr, distinct=..., filter=Q(...))``")
Sum = _function("Sum")
Avg = _function("Avg")
Min = _function("Min")
Max = _function("Max")
Cast = _function("Cast", doc='``Cast("total", output_field="text")``')
Coalesce = _function("Coalesce", many=True)
Lower = _function("Lower")
Upper = _function("Upper")
Length = _function("Length")
TruncDay = _function("TruncDay")
TruncMonth = _function("TruncMonth")
TruncYear = _function("TruncYear")
TruncDate = _function("TruncDate")
Now = _function("Now", many=True)


@dataclass(frozen=True)
class OrderBy:
    """An ordering item: ``F("release_date").desc(nulls_last=True)``."""
    expression: Any
    descending: bool = False
    nulls_first: bool = False
    nulls_last: bool = False

    def to_json(self) -> JSON:
        if isinstance(self.expression, F):
            d: Dict[str, Any] = {"F": self.expression.name}
        else:
            d = {"expression": _expr_json(self.expression)}
        if self.descending:
            d["desc"] = True
        if self.nulls_first:
            d["nulls_first"] = True
        if self.nulls_last:
            d["nulls_last"] = True
        return d


class Q:
    """A Q tree, Django's ``Q``: ``Q(stock=0) | Q(price__lt=5)``, ``~Q(...)``.

    >>> (Q(stock=0) | ~Q(status="archived")).to_json()
    {'$or': [{'stock': 0}, {'$not': {'status': 'archived'}}]}
    """

    def __init__(self, *children: Union["Q", Mapping[str, Any]], **lookups: Any) -> None:
        self.connector = "$and"
        self.negated = False
        self.children: List[Any] = list(children)
        if lookups:
            self.children.append(dict(lookups))

    @classmethod
    def _node(cls, connector: str, children: List[Any], negated: bool = False) -> "Q":
        q = cls()
        q.connector, q.children, q.negated = connector, children, negated
        return q

    def __and__(self, other: "Q") -> "Q":
        return Q._node("$and", [self, other])

    def __or__(self, other: "Q") -> "Q":
        return Q._node("$or", [self, other])

    def __invert__(self) -> "Q":
        return Q._node(self.connector, self.children, not self.negated)

    def to_json(self) -> JSON:
        kids = [_expr_json(c) for c in self.children]
        if self.connector == "$and" and len(kids) == 1:
            tree: JSON = kids[0]
        elif self.connector == "$and" and all(isinstance(k, dict) and not any(
                key.startswith("$") for key in k) for k in kids) and \
                len({key for k in kids for key in k}) == sum(len(k) for k in kids):
            tree = {key: val for k in kids for key, val in k.items()}   # disjoint lookups: merge
        else:
            tree = {self.connector: kids}
        return {"$not": tree} if self.negated else tree

    def __repr__(self) -> str:
        return f"Q({dumps(self.to_json())})"


# ---------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------

_configured: "weakref.WeakSet[Connection]" = weakref.WeakSet()


def configure(conn: Connection) -> Connection:
    """Make ``conn`` parse ``json``/``jsonb`` with exact decimals (idempotent).

    Terminals call it; :func:`connect` already did.
    """
    if conn not in _configured:
        set_json_loads(loads, conn)
        _configured.add(conn)
    return conn


def connect(conninfo: str = "", *, autocommit: bool = True, **kwargs: Any) -> Connection:
    """Open a psycopg connection fit for PgBouncer in transaction mode.

    Connection parameters come from ``conninfo``/``kwargs`` and libpq's
    ``PG*`` environment variables.  ``prepare_threshold=None``: no named
    server-side prepared statements.  ``autocommit=True`` by default: use
    ``with conn.transaction():`` for a transaction (what tenant tokens,
    budgets and cursors need).
    """
    kwargs.setdefault("prepare_threshold", None)
    conn = psycopg.connect(conninfo, autocommit=autocommit, **kwargs)
    return configure(conn)


def _execute(conn: Connection, query: Union[str, sql.Composable], params: Sequence[Any] = ()) -> psycopg.Cursor:
    configure(conn)
    try:
        return conn.execute(query, params)
    except psycopg.Error as e:
        raise translate(e) from e


def _scalar(conn: Connection, query: Union[str, sql.Composable], params: Sequence[Any] = ()) -> Any:
    row = _execute(conn, query, params).fetchone()
    return None if row is None else row[0]


def _in_transaction(conn: Connection) -> bool:
    return conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR) \
        or not conn.autocommit


# ---------------------------------------------------------------------------
# QuerySet
# ---------------------------------------------------------------------------

Lookup = Union[Q, Mapping[str, Any]]


@dataclass(frozen=True)
class QuerySet:
    """An immutable, lazy queryset: a model and a spec.

    Builders return a new QuerySet; terminals take a psycopg connection and
    run exactly one statement (``cursor`` one plus its FETCHes).

    >>> base = QuerySet("catalog_product").using_manager("objects").use("active")
    >>> base.use("by_category", slug="laptops").values("id").to_spec()["use"]
    [{'active': {}}, {'by_category': {'slug': 'laptops'}}]
    >>> base.to_spec()["use"]    # unchanged: builders never mutate
    [{'active': {}}]
    >>> QuerySet("catalog_product")[10:30][5:10].to_spec()
    {'model': 'catalog_product', 'offset': 15, 'limit': 5}
    """
    model: str
    spec: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=True, hash=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "QuerySet":
        """A QuerySet from a raw JSON spec (a dict with ``model``)."""
        rest = {k: v for k, v in spec.items() if k != "model"}
        return cls(spec["model"], MappingProxyType(rest))

    # -- internals ----------------------------------------------------------
    def _with(self, **changes: Any) -> "QuerySet":
        new = {k: v for k, v in self.spec.items()}
        for k, v in changes.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        return replace(self, spec=MappingProxyType(new))

    def to_spec(self) -> Dict[str, Any]:
        """The spec as a JSON-ready dict (``model`` first, expressions expanded)."""
        out: Dict[str, Any] = {"model": self.model}
        out.update({k: _expr_json(v) for k, v in self.spec.items()})
        return out

    def __repr__(self) -> str:
        return f"<QuerySet {dumps(self.to_spec())}>"

    def _and_where(self, tree: JSON) -> "QuerySet":
        if tree == {}:
            return self
        where = self.spec.get("where")
        if where is None:
            return self._with(where=tree)
        if isinstance(where, Mapping) and list(where) == ["$and"]:
            return self._with(where={"$and": list(where["$and"]) + [tree]})   # AND is associative
        return self._with(where={"$and": [where, tree]})

    @staticmethod
    def _tree(args: Sequence[Lookup], lookups: Mapping[str, Any]) -> JSON:
        parts: List[Any] = [a for a in args]
        if lookups:
            parts.append(dict(lookups))
        return Q(*parts).to_json() if parts else {}

    # -- builders -----------------------------------------------------------
    def filter(self, *q: Lookup, **lookups: Any) -> "QuerySet":
        """AND lookups into ``where``: ``filter(price__gte=50)``, ``filter(Q(a=1) | Q(b=2))``."""
        return self._and_where(self._tree(q, lookups))

    def exclude(self, *q: Lookup, **lookups: Any) -> "QuerySet":
        """AND ``{"$not": lookups}`` into ``where``."""
        tree = self._tree(q, lookups)
        return self if tree == {} else self._and_where({"$not": tree})

    def order_by(self, *fields: Union[str, OrderBy, Expression]) -> "QuerySet":
        """Replace the ordering (``"-price"``, ``F("x").desc(nulls_last=True)``); ``order_by()`` clears it."""
        items = [f if isinstance(f, str) else (f if isinstance(f, OrderBy) else f.asc()) for f in fields]
        return self._with(order_by=items)

    def values(self, *fields: str) -> "QuerySet":
        """Rows as objects keyed by the given paths (all columns when none)."""
        return self._with(values=list(fields), values_list=None, flat=None, named=None)

    def values_list(self, *fields: str, flat: bool = False, named: bool = False) -> "QuerySet":
        """Rows as arrays; ``flat=True`` for bare values of one field."""
        return self._with(values_list=list(fields), values=None,
                          flat=True if flat else None, named=True if named else None)

    def only(self, *fields: str) -> "QuerySet":
        """Load only these columns (plus the primary key); replaces an earlier ``only``."""
        return self._with(only=list(fields))

    def defer(self, *fields: str) -> "QuerySet":
        """Defer columns (accumulates); ``defer()`` clears."""
        if not fields:
            return self._with(defer=None)
        return self._with(defer=list(self.spec.get("defer", [])) + list(fields))

    def distinct(self, *fields: str) -> "QuerySet":
        """``SELECT DISTINCT`` or, with fields, ``DISTINCT ON``."""
        return self._with(distinct=list(fields) if fields else True)

    def select_related(self, *paths: str) -> "QuerySet":
        """Embed forward relations as nested objects (accumulates)."""
        return self._with(select_related=list(self.spec.get("select_related", [])) + list(paths))

    def prefetch_related(self, *paths: str) -> "QuerySet":
        """Embed reverse / many-to-many relations as nested arrays (accumulates)."""
        return self._with(prefetch_related=list(self.spec.get("prefetch_related", [])) + list(paths))

    def annotate(self, *exprs: Mapping[str, Any], **named: Any) -> "QuerySet":
        """Named expressions returned with each row, in call order:
        ``annotate(revenue=Sum(F("quantity") * F("unit_price")))``."""
        return self._annotations("annotate", exprs, named)

    def alias(self, *exprs: Mapping[str, Any], **named: Any) -> "QuerySet":
        """Named expressions usable in filters and orderings, not returned."""
        return self._annotations("alias", exprs, named)

    def _annotations(self, key: str, exprs: Sequence[Mapping[str, Any]], named: Mapping[str, Any]) -> "QuerySet":
        entries = list(self.spec.get(key, []))
        for mapping in list(exprs) + [named]:
            entries.extend({k: v} for k, v in mapping.items())
        return self._with(**{key: entries})

    def using_manager(self, name: str) -> "QuerySet":
        """Start from a named manager (``Product.objects``)."""
        return self._with(manager=name)

    def use(self, method: str, /, **args: Any) -> "QuerySet":
        """Apply a named queryset method: ``use("by_category", slug="laptops")``."""
        return self._with(use=list(self.spec.get("use", [])) + [{method: dict(args)}])

    def slice(self, start: Optional[int] = None, stop: Optional[int] = None) -> "QuerySet":
        """Django's ``qs[start:stop]`` (relative to an earlier slice, as Django composes them)."""
        if (start is not None and start < 0) or (stop is not None and stop < 0):
            raise InvalidQuery("negative indexing is not supported", "22023")
        offset = int(self.spec.get("offset", 0))
        limit = self.spec.get("limit")
        new_offset = offset + (start or 0)
        end: Optional[int] = None if limit is None else offset + int(limit)
        if stop is not None:
            end = offset + stop if end is None else min(end, offset + stop)
        new_limit = None if end is None else max(0, end - new_offset)
        return self._with(offset=new_offset or None, limit=new_limit)

    def __getitem__(self, key: slice) -> "QuerySet":
        if not isinstance(key, slice):
            raise TypeError("index a QuerySet with a slice (qs[5:6].get(conn) for one row)")
        if key.step is not None:
            raise InvalidQuery("slices with a step are not supported", "22023")
        return self.slice(key.start, key.stop)

    # -- terminals ----------------------------------------------------------
    def json(self, conn: Connection) -> JSON:
        """``qs.json``: every row as one JSON array (parsed, exact decimals)."""
        return _scalar(conn, "SELECT qs.json(%s)", (_jsonb(self),))

    def rows(self, conn: Connection) -> List[JSON]:
        """``qs.rows``: a list with one JSON value per row."""
        return [r[0] for r in _execute(conn, "SELECT r FROM qs.rows(%s) AS r", (_jsonb(self),))]

    def count(self, conn: Connection) -> int:
        """``qs.count``."""
        return int(_scalar(conn, "SELECT qs.count(%s)", (_jsonb(self),)))

    def exists(self, conn: Connection) -> bool:
        """``qs.exists``."""
        return bool(_scalar(conn, "SELECT qs.exists(%s)", (_jsonb(self),)))

    def get(self, conn: Connection, *q: Lookup, **lookups: Any) -> Dict[str, Any]:
        """``qs.get``: exactly one row, else :class:`DoesNotExist` / :class:`MultipleObjectsReturned`."""
        tree = self._tree(q, lookups)
        if tree == {}:
            return _scalar(conn, "SELECT qs.get(%s)", (_jsonb(self),))
        return _scalar(conn, "SELECT qs.get(%s, %s)", (_jsonb(self), _jsonb(tree)))

    def aggregate(self, conn: Connection, *aggs: Mapping[str, Any], **named: Any) -> Dict[str, Any]:
        """``qs.aggregate``: ``aggregate(conn, total=Sum("price"))`` -> ``{"total": Decimal(...)}``."""
        spec: Dict[str, Any] = {}
        for m in list(aggs) + [named]:
            spec.update(m)
        return _scalar(conn, "SELECT qs.aggregate(%s, %s)", (_jsonb(self), _jsonb(spec)))

    def update(self, conn: Connection, values: Optional[Mapping[str, Any]] = None, **kw: Any) -> int:
        """``qs.update``: ``update(conn, stock=F("stock") - 2)``; returns the number of rows."""
        vals = dict(values or {}, **kw)
        return int(_scalar(conn, "SELECT qs.update(%s, %s)", (_jsonb(self), _jsonb(vals))))

    def delete(self, conn: Connection) -> int:
        """``qs.delete``; returns the number of rows."""
        return int(_scalar(conn, "SELECT qs.delete(%s)", (_jsonb(self),)))

    def sql(self, conn: Connection) -> str:
        """``qs.sql``: the statement a terminal would run (for debugging)."""
        return _scalar(conn, "SELECT qs.sql(%s)", (_jsonb(self),))

    def batches(self, conn: Connection, name: str, batch: Optional[int] = 100) -> Iterator[List[JSON]]:
        """``qs.cursor`` + ``FETCH batch FROM name`` until empty, yielding each
        non-empty batch (a list of rows) -- inside the caller's transaction.

        ``batch=None`` fetches everything with one ``FETCH ALL``.  The cursor
        stays open after the last row (the transaction's end closes it); it is
        closed if the caller stops iterating early.
        """
        if not _in_transaction(conn):
            raise DatabaseError("a cursor needs a transaction: use `with conn.transaction():`", "25P01")
        if batch is not None and (not isinstance(batch, int) or batch <= 0):
            raise InvalidQuery("batch must be a positive integer", "22023")
        _execute(conn, "SELECT qs.cursor(%s, %s)", (_jsonb(self), name))
        fetch = sql.SQL("FETCH {} FROM {}").format(
            sql.SQL("ALL") if batch is None else sql.Literal(batch), sql.Identifier(name))
        finished = False
        try:
            while True:
                rows = [r[0] for r in _execute(conn, fetch).fetchall()]
                if not rows:
                    finished = True
                    return
                yield rows
                if batch is None:
                    finished = True
                    return
        finally:
            if not finished and conn.info.transaction_status == TransactionStatus.INTRANS:
                _execute(conn, sql.SQL("CLOSE {}").format(sql.Identifier(name)))

    def cursor(self, conn: Connection, name: str, batch: Optional[int] = 100) -> Iterator[JSON]:
        """Rows one by one from a server-side cursor ``name``, FETCHed
        ``batch`` at a time in the caller's transaction (see :meth:`batches`)."""
        for rows in self.batches(conn, name, batch):
            yield from rows


# ---------------------------------------------------------------------------
# Model-level writes, tenancy, settings
# ---------------------------------------------------------------------------

def create(conn: Connection, model: str, values: Optional[Mapping[str, Any]] = None, **kw: Any) -> Dict[str, Any]:
    """``qs.create``: insert one row, returning it (with defaults and the pk)."""
    return _scalar(conn, "SELECT qs.create(%s::regclass, %s)", (model, _jsonb(dict(values or {}, **kw))))


def bulk_update(conn: Connection, model: str, rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> int:
    """``qs.bulk_update``: one statement for all rows (each with its pk); returns the count."""
    return int(_scalar(conn, "SELECT qs.bulk_update(%s::regclass, %s, %s::text[])",
                       (model, _jsonb(list(rows)), list(fields))))


def set_tenant_token(conn: Connection, token: str, local: bool = True) -> str:
    """``qs.set_tenant_token``: verify a signed token and make its tenant
    current -- for the transaction (``local=True``, the only safe form
    behind a transaction pooler) or the session.  Returns the tenant.
    Raises :class:`InvalidToken` when verification fails."""
    if local:
        return _scalar(conn, "SELECT qs.set_tenant_token(%s)", (token,))
    return _scalar(conn, "SELECT qs.set_tenant_token(%s, false)", (token,))


def reset_tenant(conn: Connection) -> None:
    """``qs.reset_tenant``: no tenant and no token for the rest of the session."""
    _execute(conn, "SELECT qs.reset_tenant()")


def current_tenant(conn: Connection) -> Optional[str]:
    """``qs.current_tenant``: the tenant, or ``None``."""
    return _scalar(conn, "SELECT qs.current_tenant()")


def set_query_budget(conn: Connection, budget: int, local: bool = True) -> None:
    """Limit the qs statements of this transaction (``local``) or session
    (``pg_queryset.query_budget``); exceeding it raises :class:`LimitExceeded`."""
    _execute(conn, "SELECT set_config('pg_queryset.query_budget', %s, %s)", (str(int(budget)), local))


def plan_cache_stats(conn: Connection) -> Dict[str, int]:
    """``qs.plan_cache_stats()`` of the backend serving this call."""
    cur = _execute(conn, "SELECT * FROM qs.plan_cache_stats()")
    row = cur.fetchone()
    return {d.name: v for d, v in zip(cur.description or (), row or ())}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret: str, tenant: Union[str, int], audience: str, ttl_seconds: int = 300,
               now: Optional[float] = None) -> str:
    """An HS256 JWT for ``qs.set_tenant_token``: payload
    ``{"tenant_id": "<tenant>", "aud": audience, "exp": now + ttl}``.

    >>> t = mint_token("s", 2, "aud", 60, now=0)
    >>> t.split(".")[:2]
    ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'eyJ0ZW5hbnRfaWQiOiIyIiwiYXVkIjoiYXVkIiwiZXhwIjo2MH0']
    """
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    exp = int(time.time() if now is None else now) + int(ttl_seconds)
    payload = _b64url(_json.dumps({"tenant_id": str(tenant), "aud": audience, "exp": exp},
                                  separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = _b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


if __name__ == "__main__":  # python3 pg_queryset_client.py: run the doctests
    import doctest
    import sys
    failures, _ = doctest.testmod()
    sys.exit(1 if failures else 0)
