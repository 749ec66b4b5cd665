"""``fetch_instances``: the engine builds objects from rows as the ORM's decode plan says."""

from __future__ import annotations

from typing import Any

import pytest

from yara_orm import Pool, _engine

from ._util import create_table, ph


class Thing:
    """Records whether ``__init__`` ran, and refuses ordinary attribute assignment."""

    init_calls = 0

    def __init__(self) -> None:
        Thing.init_calls += 1

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("instances are filled through __dict__ only")


async def test_rows_become_instances_without_init(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, name TEXT, qty INTEGER")
    await pool.execute_many(
        f"INSERT INTO {table} (id, name, qty) VALUES ({ph(pool, 1)}, {ph(pool, 2)}, {ph(pool, 3)})",
        [[1, "a", 10], [2, None, 20]],
    )
    spec = _engine.InstanceSpec(
        Thing, ["id", "name", "qty"], [None, None, lambda v: v * 2], {"_loaded": "all"}
    )
    assert spec.width == 3
    Thing.init_calls = 0
    things = await pool.fetch_instances(f"SELECT id, name, qty FROM {table} ORDER BY id", None, spec)
    assert Thing.init_calls == 0
    assert [type(t) for t in things] == [Thing, Thing]
    assert [vars(t) for t in things] == [
        {"id": 1, "name": "a", "qty": 20, "_loaded": "all"},
        {"id": 2, "name": None, "qty": 40, "_loaded": "all"},
    ]
    # Each instance has its own dict.
    assert vars(things[0]) is not vars(things[1])
    async with pool.transaction():
        inside = await pool.fetch_instances(
            f"SELECT id, name, qty FROM {table} WHERE id = {ph(pool, 1)}", [1], spec
        )
    assert [t.qty for t in inside] == [20]


async def test_shape_mismatch_and_converter_errors_are_reported(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY")
    await pool.execute(f"INSERT INTO {table} (id) VALUES (1)")
    narrow = _engine.InstanceSpec(Thing, ["id", "missing"], [None, None])
    with pytest.raises(ValueError, match="2"):
        await pool.fetch_instances(f"SELECT id FROM {table}", None, narrow)

    def explode(value: Any) -> Any:
        raise RuntimeError(f"bad {value}")

    failing = _engine.InstanceSpec(Thing, ["id"], [explode])
    with pytest.raises(RuntimeError, match="bad 1"):
        await pool.fetch_instances(f"SELECT id FROM {table}", None, failing)
    # The pool is fine afterwards.
    assert await pool.fetch(f"SELECT id FROM {table}") == [(1,)]


def test_names_and_converters_must_match() -> None:
    with pytest.raises(ValueError, match="same length"):
        _engine.InstanceSpec(Thing, ["a", "b"], [None])


async def test_cursor_chunks_become_instances(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY")
    await pool.execute_many(f"INSERT INTO {table} (id) VALUES ({ph(pool, 1)})", [[i] for i in range(7)])
    spec = _engine.InstanceSpec(Thing, ["id"], [None])
    cursor = await pool.cursor(f"SELECT id FROM {table} ORDER BY id", None, 3)
    chunks = []
    while chunk := await cursor.fetch_chunk_instances(spec):
        chunks.append([vars(t)["id"] for t in chunk])
    assert chunks == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(type(t) is Thing for t in chunk)
    await cursor.close()


def test_lookup_converts_by_table_and_falls_back_on_a_miss() -> None:
    misses: list[Any] = []

    def fallback(value: Any) -> Any:
        misses.append(value)
        if isinstance(value, int):
            raise ValueError(f"{value!r} is not a colour")
        return ("fallback", value)

    marker = object()
    lookup = _engine.TableConverter({"red": marker, 2: "two"}, fallback)
    assert lookup("red") is marker
    assert lookup(2) == "two"
    assert lookup(None) is None  # NULL stays NULL without asking the fallback
    assert lookup([1]) == ("fallback", [1])  # unhashable: the fallback decides
    with pytest.raises(ValueError, match="not a colour"):
        lookup(7)
    assert misses == [[1], 7]


async def test_lookup_converters_run_inside_the_engine(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, colour TEXT")
    await pool.execute_many(
        f"INSERT INTO {table} (id, colour) VALUES ({ph(pool, 1)}, {ph(pool, 2)})",
        [[1, "red"], [2, None], [3, "mauve"]],
    )
    red = object()

    def unknown(value: Any) -> Any:
        raise LookupError(f"no colour {value!r}")

    spec = _engine.InstanceSpec(
        Thing, ["id", "colour"], [None, _engine.TableConverter({"red": red}, unknown)]
    )
    things = await pool.fetch_instances(
        f"SELECT id, colour FROM {table} WHERE id < 3 ORDER BY id", None, spec
    )
    assert [t.colour for t in things] == [red, None]
    with pytest.raises(LookupError, match="mauve"):
        await pool.fetch_instances(f"SELECT id, colour FROM {table} ORDER BY id", None, spec)


class Word(str):
    """A str subclass: a key the engine leaves to the dict (only the dict knows its equality)."""


async def test_lookups_in_the_engine_find_what_the_dict_finds(pool: Pool) -> None:
    # The engine looks text and integer cells up before making Python objects for them; for
    # every kind of key and cell its answer must be the table's own.
    table = await create_table(pool, "id INTEGER PRIMARY KEY, word TEXT, n INTEGER, flag BOOLEAN")
    words = ["red", "r\u00e9", "", "Red", "blue", None]
    await pool.execute_many(
        f"INSERT INTO {table} (id, word, n, flag) "
        f"VALUES ({ph(pool, 1)}, {ph(pool, 2)}, {ph(pool, 3)}, {ph(pool, 4)})",
        [[i, words[i % len(words)], i - 1, i % 2 == 0] for i in range(14)],
    )
    text_table: dict[Any, Any] = {"red": "R", "r\u00e9": "accented", "": "empty"}
    text_table[Word("blue")] = "subclass key"
    words_lookup = _engine.TableConverter(text_table, lambda v: ("miss", v))
    text_table["Red"] = "added after"  # the converter keeps a copy of its table
    # More entries than the engine compares one by one, and a float key equal to no int cell.
    numbers: dict[Any, Any] = {i: f"n{i}" for i in range(10)}
    numbers[2.5] = "a float key"
    numbers_lookup = _engine.TableConverter(numbers, lambda v: ("miss", v))
    # Bool cells against int keys: True == 1 in a dict.
    flags_lookup = _engine.TableConverter({1: "one", 0: "zero"}, lambda v: ("miss", v))
    spec = _engine.InstanceSpec(
        Thing, ["id", "word", "n", "flag"], [None, words_lookup, numbers_lookup, flags_lookup]
    )
    sql = f"SELECT id, word, n, flag FROM {table} ORDER BY id"
    things = await pool.fetch_instances(sql, None, spec)
    rows = await pool.fetch(sql)
    assert len(things) == len(rows) == 14
    for thing, (_, word, n, flag) in zip(things, rows, strict=True):
        assert vars(thing)["word"] == words_lookup(word)
        assert vars(thing)["n"] == numbers_lookup(n)
        assert vars(thing)["flag"] == flags_lookup(flag)
    words_read = [vars(t)["word"] for t in things[:6]]
    assert words_read == ["R", "accented", "empty", ("miss", "Red"), "subclass key", None]
    assert [vars(t)["n"] for t in things[:3]] == [("miss", -1), "n0", "n1"]
    assert [vars(t)["flag"] for t in things[:2]] == ["one", "zero"]


class Described:
    """A column name that is also a data descriptor on the class, and a shadowed column."""

    @property
    def label(self) -> str:
        return "from the property"


async def test_data_descriptors_and_shadowed_columns_keep_their_meaning(pool: Pool) -> None:
    table = await create_table(pool, "id INTEGER PRIMARY KEY, label TEXT, flag INTEGER")
    await pool.execute(f"INSERT INTO {table} (id, label, flag) VALUES (1, 'stored', 7)")
    sql = f"SELECT id, label, flag FROM {table}"
    # A property named like a column: the cell is stored beside it (its __set__ never runs, and
    # reading the attribute still goes through the property).
    (obj,) = await pool.fetch_instances(
        sql, None, _engine.InstanceSpec(Described, ["id", "label", "flag"], [None] * 3)
    )
    assert vars(obj) == {"id": 1, "label": "stored", "flag": 7}
    assert obj.label == "from the property"
    # An extra entry named like a column wins over the cell, in the column's place.
    spec = _engine.InstanceSpec(
        Thing, ["id", "label", "flag"], [None] * 3, {"flag": "extra", "_loaded": None}
    )
    (thing,) = await pool.fetch_instances(sql, None, spec)
    assert list(vars(thing).items()) == [("id", 1), ("label", "stored"), ("flag", "extra"), ("_loaded", None)]
    # An extra key that is not a str still lands in the instance's __dict__.
    odd = _engine.InstanceSpec(Thing, ["id"], [None], {1: "one"})
    (oddity,) = await pool.fetch_instances(f"SELECT id FROM {table}", None, odd)
    assert vars(oddity) == {"id": 1, 1: "one"}
    # Attributes set later land in the instance's own storage, as for any object.
    object.__setattr__(thing, "later", 1)
    assert vars(thing)["later"] == 1
