"""The MariaDB adapter sends the repositories' `:name` statements in asyncmy's `%(name)s` style, reading
parameters exactly as SQLAlchemy's `text()` did before it (so every statement means what it meant)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.mysql.asyncmy import dialect

from market.infra.mysql import pyformat

STATEMENTS = [
    "SELECT qty FROM stock WHERE id = :id",
    "UPDATE stock SET qty = qty - :n WHERE id = :id AND qty >= :n",
    "INSERT IGNORE INTO inbox (event_id, consumer) VALUES (:e,:c)",
    "SELECT * FROM t WHERE name LIKE 'a%' AND note = '100%' AND x = :x",
    "SELECT '12:30:00' AS at, CAST(:v AS CHAR) AS v",  # a time literal holds no parameter
    "SELECT a::b, :p::q FROM t",  # `::` is no parameter
    r"SELECT '\:not_a_parameter' AS s, :real AS r",  # `\:` is a literal colon
    "SELECT :id_1, :id_2, :_x FROM t WHERE c = :c\n  AND d = :d",
    "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(8) DEFAULT '%')",
]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_a_statement_is_translated_as_sqlalchemy_text_compiled_it(sql: str) -> None:
    assert pyformat(sql) == str(text(sql).compile(dialect=dialect(paramstyle="pyformat")))


def test_parameters_become_named_placeholders_and_a_literal_percent_survives_formatting() -> None:
    sql = pyformat("SELECT * FROM t WHERE name LIKE 'a%' AND id = :id AND v = :id")
    assert sql == "SELECT * FROM t WHERE name LIKE 'a%%' AND id = %(id)s AND v = %(id)s"
    assert sql % {"id": "7"} == "SELECT * FROM t WHERE name LIKE 'a%' AND id = 7 AND v = 7"


def test_escaped_and_double_colons_are_left_as_text() -> None:
    assert pyformat(r"SELECT '\:x', a::int, :y") == "SELECT ':x', a::int, %(y)s"


def test_each_distinct_statement_is_translated_once() -> None:
    sql = "SELECT 1 FROM t WHERE id = :translated_once"
    assert pyformat(sql) is pyformat(sql)
