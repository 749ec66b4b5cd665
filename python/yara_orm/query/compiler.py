"""Render IR statements to SQL text plus the ordered list of bound values.

The compiler knows SQL's overall shape (clauses, parentheses, parameter numbering); anything
that differs between databases — quoting, placeholders, lookups, functions, casts, upserts —
is asked of the dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import ParamsError
from . import ir

if TYPE_CHECKING:
    from ..dialects.base import Dialect


class Compiler:
    __slots__ = ("_dispatch", "dialect", "params", "q")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.q = dialect.quote
        self.params: list[Any] = []
        self._dispatch: dict[type, Callable[[Any], str]] = {
            ir.Column: self._column,
            ir.Param: self._param,
            ir.Literal: self._literal,
            ir.Raw: self._raw,
            ir.BinOp: self._binop,
            ir.Lookup: self._lookup,
            ir.Not: self._not,
            ir.Junction: self._junction,
            ir.Func: self._func,
            ir.Aggregate: self._aggregate,
            ir.Case: self._case,
            ir.Cast: self._cast,
            ir.SubSelect: self._subselect,
            ir.Exists: self._exists,
        }

    # -- entry points -----------------------------------------------------------------------------

    def compile(self, stmt: ir.Statement) -> tuple[str, list[Any]]:
        if isinstance(stmt, ir.Select):
            sql = self.select(stmt)
        elif isinstance(stmt, ir.Insert):
            sql = self.insert(stmt)
        elif isinstance(stmt, ir.Copy):
            sql = self.dialect.copy_sql(self, stmt)
        elif isinstance(stmt, ir.Update):
            sql = self.update(stmt)
        else:
            sql = self.delete(stmt)
        return sql, self.params

    def add_param(self, value: Any) -> str:
        self.params.append(value)
        return self.dialect.placeholder(len(self.params))

    def expr(self, node: ir.Node) -> str:
        try:
            handler = self._dispatch[type(node)]
        except KeyError:
            raise ParamsError(f"cannot compile {type(node).__name__} here") from None
        return handler(node)

    # -- statements -------------------------------------------------------------------------------

    def table(self, ref: ir.TableRef) -> str:
        q = self.q
        if ref.alias == ref.name:
            return q(ref.name)
        return f"{q(ref.name)} AS {q(ref.alias)}"

    def select(self, s: ir.Select) -> str:
        parts = ["SELECT DISTINCT " if s.distinct else "SELECT "]
        cols = []
        q = self.q
        for item in s.columns:
            sql = self.expr(item.expr)
            cols.append(f"{sql} AS {q(item.alias)}" if item.alias else sql)
        parts.append(", ".join(cols))
        if s.from_subquery is not None:
            parts.append(f" FROM ({self.select(s.from_subquery)}) AS {q(s.table.alias)}")
        else:
            parts.append(" FROM ")
            parts.append(self.table(s.table))
        for join in s.joins:
            parts.append(f" {join.kind} JOIN {self.table(join.table)} ON {self.expr(join.on)}")
        if s.where is not None:
            parts.append(" WHERE ")
            parts.append(self.expr(s.where))
        if s.group_by:
            parts.append(" GROUP BY ")
            parts.append(", ".join(self.expr(g) for g in s.group_by))
        if s.having is not None:
            parts.append(" HAVING ")
            parts.append(self.expr(s.having))
        if s.order_by:
            parts.append(" ORDER BY ")
            parts.append(", ".join(self.order_item(o) for o in s.order_by))
        if s.limit is not None or s.offset is not None:
            parts.append(self.dialect.limit_offset_sql(s.limit, s.offset))
        if s.for_update is not None:
            parts.append(self.dialect.for_update_sql(s.for_update))
        return "".join(parts)

    def order_item(self, o: ir.OrderBy) -> str:
        return self.dialect.order_sql(self.expr(o.expr), o.descending)

    def insert(self, s: ir.Insert) -> str:
        q = self.q
        head = self.dialect.insert_head_sql(q(s.table), s.on_conflict)
        if s.default_values:
            sql = f"{head} {self.dialect.default_values_sql()}"
        else:
            cols = ", ".join(q(c) for c in s.columns)
            if s.unnest is not None:
                body = self.dialect.unnest_sql(self, s.unnest)
            else:
                body = "VALUES " + ", ".join(
                    "(" + ", ".join(self.expr(v) for v in row) + ")" for row in s.rows
                )
            sql = f"{head} ({cols}) {body}"
        if s.on_conflict is not None:
            sql += self.dialect.on_conflict_sql(s.on_conflict)
        if s.returning:
            sql += " RETURNING " + ", ".join(q(c) for c in s.returning)
        return sql

    def update(self, s: ir.Update) -> str:
        q = self.q
        sets = ", ".join(f"{q(col)} = {self.expr(value)}" for col, value in s.assignments)
        sql = f"UPDATE {self.table(s.table)} SET {sets}"
        if s.where is not None:
            sql += " WHERE " + self.expr(s.where)
        if s.returning:
            sql += " RETURNING " + ", ".join(q(c) for c in s.returning)
        return sql

    def delete(self, s: ir.Delete) -> str:
        sql = f"DELETE FROM {self.table(s.table)}"
        if s.where is not None:
            sql += " WHERE " + self.expr(s.where)
        return sql

    # -- expressions ------------------------------------------------------------------------------

    def _column(self, n: ir.Column) -> str:
        q = self.q
        if n.alias:
            return f"{q(n.alias)}.{q(n.column)}"
        return q(n.column)

    def _param(self, n: ir.Param) -> str:
        ph = self.add_param(n.value)
        if n.cast:
            return self.dialect.param_cast_sql(ph, n.output_field, n.value)
        return ph

    def _literal(self, n: ir.Literal) -> str:
        return n.sql

    def _raw(self, n: ir.Raw) -> str:
        if not n.params:
            return n.sql.replace("%%", "%") if "%s" in n.sql else n.sql
        pieces = n.sql.split("%s")
        if len(pieces) - 1 != len(n.params):
            raise ParamsError(
                f"RawSQL has {len(pieces) - 1} %s marker(s) but {len(n.params)} parameter(s): {n.sql!r}"
            )
        out = [pieces[0].replace("%%", "%")]
        for value, piece in zip(n.params, pieces[1:], strict=True):
            out.append(self.add_param(value))
            out.append(piece.replace("%%", "%"))
        return "".join(out)

    def _binop(self, n: ir.BinOp) -> str:
        return self.dialect.binop_sql(self, n)

    def _lookup(self, n: ir.Lookup) -> str:
        return self.dialect.lookup_sql(self, n)

    def _not(self, n: ir.Not) -> str:
        return f"NOT ({self.expr(n.child)})"

    def _junction(self, n: ir.Junction) -> str:
        if not n.children:
            return "1 = 1" if n.connector == "AND" else "1 = 0"
        if len(n.children) == 1:
            return self.expr(n.children[0])
        return "(" + f" {n.connector} ".join(self.expr(c) for c in n.children) + ")"

    def _func(self, n: ir.Func) -> str:
        return self.dialect.func_sql(self, n)

    def _aggregate(self, n: ir.Aggregate) -> str:
        if n.filter is not None and not self.dialect.supports_aggregate_filter:
            # CASE WHEN: the condition's parameters come first, in text order (``?`` placeholders).
            cond = self.expr(n.filter)
            arg = f"CASE WHEN {cond} THEN {'1' if n.arg is None else self.expr(n.arg)} END"
            return self.dialect.aggregate_sql(n.name, ("DISTINCT " if n.distinct else "") + arg, n)
        arg = "*" if n.arg is None else self.expr(n.arg)
        if n.distinct:
            arg = "DISTINCT " + arg
        sql = self.dialect.aggregate_sql(n.name, arg, n)
        if n.filter is not None:
            sql += f" FILTER (WHERE {self.expr(n.filter)})"
        return sql

    def _case(self, n: ir.Case) -> str:
        whens = " ".join(f"WHEN {self.expr(c)} THEN {self.expr(r)}" for c, r in n.whens)
        return f"CASE {whens} ELSE {self.expr(n.default)} END"

    def _cast(self, n: ir.Cast) -> str:
        assert n.output_field is not None
        return self.dialect.cast_sql(self.expr(n.expr), n.output_field)

    def _subselect(self, n: ir.SubSelect) -> str:
        return f"({self.select(n.select)})"

    def _exists(self, n: ir.Exists) -> str:
        return f"EXISTS ({self.select(n.select)})"
