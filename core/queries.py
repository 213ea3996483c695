"""Reading a queryset's rows straight from the database driver.

`driver_rows(queryset)`: the rows of a values_list() queryset exactly as psycopg (or sqlite3)
returns them, without Django's per-value converters. The ORM runs a converter for every value of
an annotation (Count, Min … turn into int(value) of what is already an int); over thousands of
grouped rows that is a large part of a request. Use it only where every column is one the driver
already returns as Python wants it (integers, text): on SQLite, dates, times and decimals come
back as text and need the converters.
"""

from django.db import connections
from django.db.models import QuerySet


def driver_rows(queryset: QuerySet) -> list[tuple]:
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
