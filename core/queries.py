"""Reading a queryset's rows straight from the database driver.

`driver_rows(queryset)`: the rows of a values_list() queryset exactly as psycopg (or sqlite3)
returns them, without Django's per-value converters. The ORM runs a converter for every value of
an annotation (Count, Min … turn into int(value) of what is already an int); over thousands of
grouped rows that is a large part of a request. Use it only where every column is one the driver
already returns as Python wants it (integers, text): on SQLite, dates, times and decimals come
back as text and need the converters.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def driver_rows(queryset: QuerySet) -> list[tuple]:
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. id__in=[]: no row, and (as the ORM does) no query
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Built queries, by key: see `rows_once_built`.
_BUILT: dict = {}
_BUILT_MAX = 512


def rows_once_built(key: tuple, base: QuerySet, build) -> tuple[list[str], list[tuple]]:
    """The column names and driver rows of `build(base)`, a values() queryset whose SQL is built
    once per process for each `key` and each SQL of `base`.

    An aggregate of a dozen COUNT ... FILTER expressions (the dashboard's figures, a CASE nested
    three deep) costs Django more to resolve and compile on every request than the database
    spends computing it over 20,000 rows; the SQL is the same for the same scope and day. `key`
    must name everything `build` reads besides `base` (the day, the light window, the grouping).
    """
    try:
        base_sql = base.query.sql_with_params()
    except EmptyResultSet:  # a scope that can match nothing: no row, and (as the ORM does) no query
        query = build(base).query
        return [*query.extra_select, *query.values_select, *query.annotation_select], []
    try:
        entry = _BUILT.get((key, base_sql))
    except TypeError:  # a parameter that cannot be a key: built for this call only
        key, entry = None, None
    if entry is None:
        queryset = build(base)
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        sql, params = query.sql_with_params()
        entry = (names, sql, params, queryset.db)
        if key is not None:
            if len(_BUILT) >= _BUILT_MAX:
                _BUILT.clear()
            _BUILT[(key, base_sql)] = entry
    names, sql, params, alias = entry
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return names, cursor.fetchall()
