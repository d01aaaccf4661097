"""`field__any=values`: `IN` for long lists, as one array parameter on PostgreSQL.

Django writes `field IN (%s, %s, ...)` with a placeholder per value, and psycopg merges thousands of
them into the statement on each call: for the bulk services' key checks (2,000 card numbers,
e-mail addresses or membership numbers at a time) that cost more than the query. `__any` sends
`field = ANY('{...}')`, the array written as one literal (the same index lookups). Elsewhere it is
`__in`.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


def array_literal(values) -> tuple[str, str] | None:
    """A PostgreSQL array literal of ints or of strings, and its element type; None for other values."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}", "bigint"
    if all(type(v) is str for v in values):
        quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        return "{" + ",".join(quoted) + "}", "text"
    return None


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = {v for v in self.rhs if v is not None}
        if not values:
            raise EmptyResultSet
        array = array_literal(values)
        if array is None:
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        literal, element = array
        return f"{lhs} = ANY(%s::{element}[])", (*lhs_params, literal)
