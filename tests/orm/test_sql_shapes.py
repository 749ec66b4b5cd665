"""The SQL each dialect generates (no database needed)."""

from __future__ import annotations

import pytest

from yara_orm import F, Q, Value
from yara_orm.exceptions import FieldError, ParamsError, UnSupportedError, ValidationError
from yara_orm.functions import Count, Lower, Sum

from .models import Article, Person, Product, Row


def ph(backend: str, n: int) -> str:
    return f"${n}" if backend == "postgres" else f"?{n}"


def test_select_lists_every_column_qualified(offline: str) -> None:
    sql = Row.all().sql()
    assert sql == 'SELECT "orm_row"."id", "orm_row"."n", "orm_row"."label" FROM "orm_row"'


def test_filters_are_bound_never_interpolated(offline: str) -> None:
    qs = Row.filter(label="x'; DROP TABLE orm_row; --", n__gte=3)
    sql, params = qs.sql_with_params()
    assert "DROP" not in sql
    assert sql.endswith(f'WHERE ("orm_row"."label" = {ph(offline, 1)} AND "orm_row"."n" >= {ph(offline, 2)})')
    assert params == ["x'; DROP TABLE orm_row; --", 3]


def test_identifiers_are_quoted(offline: str) -> None:
    assert Article.filter(title="a").sql().startswith('SELECT "orm_article"."id"')


def test_default_ordering_limit_offset(offline: str) -> None:
    sql = Article.all().offset(5).limit(10).sql()
    assert 'ORDER BY "orm_article"."id" DESC LIMIT 10 OFFSET 5' in sql
    only_offset = Row.all().offset(3).sql()
    expected = " LIMIT -1 OFFSET 3" if offline == "sqlite" else " OFFSET 3"
    assert only_offset.endswith(expected)


def test_like_lookups_escape_wildcards(offline: str) -> None:
    sql, params = Row.filter(label__icontains="50%_off\\").sql_with_params()
    assert "ESCAPE '\\'" in sql
    assert params == ["%50\\%\\_off\\\\%"]
    op = "ILIKE" if offline == "postgres" else "LIKE"
    assert f'"orm_row"."label" {op} {ph(offline, 1)}' in sql


def test_case_sensitive_contains(offline: str) -> None:
    sql, params = Row.filter(label__contains="a*b?[c]%").sql_with_params()
    if offline == "postgres":
        assert "LIKE $1 ESCAPE" in sql and params == ["%a*b?[c]\\%%"]
    else:
        # LIKE is case-insensitive on SQLite: GLOB with its metacharacters escaped instead.
        assert "GLOB ?1" in sql and params == ["*a[*]b[?][[]c]%*"]


def test_not_and_isnull(offline: str) -> None:
    sql = Row.filter(n__not=3).sql()
    assert ("IS DISTINCT FROM $1" in sql) if offline == "postgres" else ("IS NOT ?1" in sql)
    assert Row.filter(label__isnull=True).sql().endswith('"orm_row"."label" IS NULL')
    assert Row.filter(label=None).sql().endswith('"orm_row"."label" IS NULL')
    assert Row.filter(label__not_isnull=True).sql().endswith('"orm_row"."label" IS NOT NULL')


def test_in_and_empty_in(offline: str) -> None:
    sql, params = Row.filter(n__in=[1, 2, 3]).sql_with_params()
    assert sql.endswith(f"IN ({ph(offline, 1)}, {ph(offline, 2)}, {ph(offline, 3)})")
    assert params == [1, 2, 3]
    assert Row.filter(n__in=[]).sql().endswith("WHERE 1 = 0")
    assert Row.filter(n__not_in=[]).sql().endswith("WHERE 1 = 1")


def test_q_combinations(offline: str) -> None:
    sql = Row.filter(Q(n=1) | ~Q(label="x", n__lt=5)).sql()
    p = lambda i: ph(offline, i)  # noqa: E731
    assert sql.endswith(
        f'WHERE ("orm_row"."n" = {p(1)} OR NOT (("orm_row"."label" = {p(2)} AND "orm_row"."n" < {p(3)})))'
    )


def test_exclude_negates(offline: str) -> None:
    assert Row.exclude(n=1).sql().endswith(f'WHERE NOT ("orm_row"."n" = {ph(offline, 1)})')


def test_f_arithmetic_in_update_shape(offline: str) -> None:
    sql = Row.filter(n=1).annotate(double=F("n") * 2 + Value(1)).sql()
    assert '(("orm_row"."n" * ' in sql


def test_annotation_having_and_group_by(offline: str) -> None:
    qs = Row.annotate(total=Sum("n")).group_by("label").filter(total__gt=10).values("label", "total")
    sql = qs.sql()
    assert 'GROUP BY "orm_row"."label"' in sql
    assert 'HAVING SUM("orm_row"."n") > ' in sql


def test_aggregate_filter_and_distinct(offline: str) -> None:
    sql = Row.annotate(c=Count("label", distinct=True, _filter=Q(n__gt=1))).values("c").sql()
    assert 'COUNT(DISTINCT "orm_row"."label") FILTER (WHERE "orm_row"."n" > ' in sql


def test_function_spelling_per_dialect(offline: str) -> None:
    sql = Row.annotate(lower=Lower("label")).values("lower").sql()
    assert 'LOWER("orm_row"."label") AS "lower"' in sql


def test_upsert_and_returning_sql(offline: str) -> None:
    from yara_orm.query import ir
    from yara_orm.query.compiler import Compiler

    dialect = Row._meta.db.dialect  # type: ignore[union-attr]
    stmt = ir.Insert("t", ["a", "b"], [[ir.Param(1), ir.Param(2)]], ["id"], ir.OnConflict(["a"], ["b"]))
    sql, params = Compiler(dialect).compile(stmt)
    assert sql == (
        f'INSERT INTO "t" ("a", "b") VALUES ({ph(offline, 1)}, {ph(offline, 2)}) '
        'ON CONFLICT ("a") DO UPDATE SET "b" = EXCLUDED."b" RETURNING "id"'
    )
    assert params == [1, 2]


def test_select_for_update(offline: str) -> None:
    sql = Row.filter(n=1).select_for_update(skip_locked=True).sql()
    if offline == "postgres":
        assert sql.endswith("FOR UPDATE SKIP LOCKED")
    else:
        assert "FOR UPDATE" not in sql


def test_custom_manager_applies(offline: str) -> None:
    assert '"orm_product"."deleted" = ' in Product.all().sql()


def test_shape_cache_rebinds_new_values(offline: str) -> None:
    first = Row.filter(n=1, label__startswith="a").sql_with_params()
    second = Row.filter(n=2, label__startswith="b").sql_with_params()
    assert first[0] == second[0]
    assert second[1][0] == 2
    assert second[1][1] in ("b%", "b*")
    assert len(Row._meta.query_cache) >= 1


def test_unknown_field_names_choices(offline: str) -> None:
    with pytest.raises(FieldError, match=r"Unknown filter param 'nme'.*Allowed base values are .*label.*n"):
        Row.filter(nme=1).sql()
    with pytest.raises(FieldError, match=r"unknown lookup 'startwith'.*valid lookups: .*startswith"):
        Row.filter(label__startwith="x").sql()
    with pytest.raises(FieldError, match="cannot order by"):
        Row.all().order_by("nope").sql()


def test_wrong_typed_values_fail_before_sql(offline: str) -> None:
    with pytest.raises(ValidationError, match="expected int"):
        Row.filter(n="abc").sql()
    with pytest.raises(ParamsError, match="needs a list"):
        Row.filter(n__in=5).sql()
    with pytest.raises(ValidationError, match="True or False"):
        Row.filter(n__isnull="yes").sql()
    with pytest.raises(ParamsError, match="exactly two"):
        Row.filter(n__range=[1]).sql()
    with pytest.raises(ValidationError, match="out of range"):
        Row.filter(n=2**40).sql()


def test_regex_and_search_capabilities(offline: str) -> None:
    if offline == "postgres":
        assert '"orm_row"."label" ~* $1' in Row.filter(label__iregex="^a").sql()
        assert "PLAINTO_TSQUERY($1)" in Row.filter(label__search="cat").sql()
    else:
        with pytest.raises(UnSupportedError):
            Row.filter(label__regex="^a").sql()
        with pytest.raises(UnSupportedError):
            Row.filter(label__search="cat").sql()


def test_date_part_transforms(offline: str) -> None:
    sql = Person.filter(created__year=2024, created__month__gte=6).sql()
    if offline == "postgres":
        assert 'CAST(EXTRACT(YEAR FROM ("orm_person"."created" AT TIME ZONE \'UTC\')) AS INTEGER) = $1' in sql
    else:
        assert 'CAST(STRFTIME(\'%Y\', "orm_person"."created") AS INTEGER) = ?1' in sql


def test_sliced_update_delete_refused(offline: str) -> None:
    import asyncio

    with pytest.raises(ParamsError, match="sliced"):
        asyncio.run(Row.all().limit(3).delete())
    with pytest.raises(ParamsError, match="sliced"):
        asyncio.run(Row.all()[2:5].update(n=1))


def test_slicing_composes(offline: str) -> None:
    qs = Row.all()[10:30][5:10]
    assert qs._offset == 15 and qs._limit == 5


def test_register_dialect() -> None:
    from yara_orm import register_dialect
    from yara_orm.dialects import SQLiteDialect, get_dialect
    from yara_orm.exceptions import ConfigurationError

    class Custom(SQLiteDialect):
        name = "custom"

        def placeholder(self, index: int) -> str:
            return f":p{index}"

    register_dialect("custom", Custom)
    dialect = get_dialect("custom", {"max_bind_params": 99})
    assert isinstance(dialect, Custom) and dialect.max_bind_params == 99
    with pytest.raises(ConfigurationError, match="no dialect registered for backend 'nope'"):
        get_dialect("nope")
    with pytest.raises(ConfigurationError):
        register_dialect("bad", object)  # type: ignore[arg-type]
