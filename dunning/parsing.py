"""Reading amounts and dates from text, one convention per whole column.

Detection runs aggregate queries over a staged column (every row, not a sample), then
builds the SQL expression that converts the column with the convention found. Values
that do not follow it convert to NULL, and the importer reports them by line.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

# Spaces a spreadsheet puts in numbers: space, no-break, narrow no-break, figure.
_SPACES = "[\\s\\x{00A0}\\x{202F}\\x{2007}]"
_STRIP = "[\\s\\x{00A0}\\x{202F}\\x{2007}€$£]|EUR|USD|GBP|CHF|eur"

DATE_ORDERS = ("dmy", "mdy", "ymd")


def clean(expr: str) -> str:
    """A text cell trimmed, with odd spaces made plain, empty as NULL.

    Plain `contains` tests keep the common cell (no odd space) off the regular
    expression, which is several times slower over a million rows.
    """
    odd_spaces = "'[\\x{00A0}\\x{202F}\\t]'"
    odd = " OR ".join(
        f"contains({expr}, '{mark}')" for mark in ("\u00a0", "\u202f", "\t")
    )
    return (
        f"NULLIF(trim(CASE WHEN {odd} THEN regexp_replace({expr}, {odd_spaces}, ' ', "
        f"'g') ELSE {expr} END), '')"
    )


def _bare_number(expr: str) -> str:
    """The cell without spaces and currency symbols, by plain replacements.

    Most cells hold only digits, marks and plain spaces; only the others pay for
    the removal of odd spaces, symbols and currency codes.
    """
    odd = expr
    for mark in ("\u00a0", "\u202f", "\u2007", "\t", "€", "$", "£"):
        odd = f"replace({odd}, '{mark}', '')"
    odd = f"regexp_replace({odd}, '[A-Za-z]{{3}}$|^[A-Za-z]{{3}}', '')"
    return (
        f"CASE WHEN regexp_matches({expr}, '[^0-9 ,.()+-]') "
        f"THEN replace({odd}, ' ', '') ELSE replace({expr}, ' ', '') END"
    )


@dataclass
class NumberConvention:
    """How one column writes numbers: the decimal mark and whether it was settled."""

    decimal: str  # "," or "."
    settled: bool
    note: str = ""


def detect_number(con: duckdb.DuckDBPyConnection, table: str, column: str):
    """The decimal mark of a column, decided from all of its values.

    A value settles the question when its last separator is followed by one or two
    digits (`12,5`, `1 234,56`, `1.234,56`) or when both marks appear. A value such as
    `1,234` or `1.234` only suggests that the mark is a thousands separator.
    """
    bare = _bare_number(column)
    comma_groups = "'[-+(]?\\d{1,3}(,\\d{3})+\\)?-?'"
    dot_groups = "'[-+(]?\\d{1,3}(\\.\\d{3})+\\)?-?'"
    comma, dot, comma3, dot3 = con.execute(
        f"""
        SELECT
          count(*) FILTER (WHERE regexp_matches(v, ',\\d{{1,2}}\\)?-?$')
                              OR regexp_matches(v, '\\.\\d{{3}},')),
          count(*) FILTER (WHERE regexp_matches(v, '\\.\\d{{1,2}}\\)?-?$')
                              OR regexp_matches(v, ',\\d{{3}}\\.')),
          count(*) FILTER (WHERE regexp_full_match(v, {comma_groups})),
          count(*) FILTER (WHERE regexp_full_match(v, {dot_groups}))
        FROM (SELECT {bare} AS v FROM {table} WHERE {column} IS NOT NULL)
        """
    ).fetchone()
    if comma or dot:
        mark = "," if comma >= dot else "."
        note = ""
        if comma and dot:
            note = (
                f"{min(comma, dot)} value(s) use the other decimal mark than the "
                "rest of the column and are rejected"
            )
        return NumberConvention(mark, True, note)
    if dot3 and not comma3:
        return NumberConvention(",", False, "dots read as thousands separators")
    if comma3 and not dot3:
        return NumberConvention(".", False, "commas read as thousands separators")
    return NumberConvention(".", False)


def number_sql(column: str, convention: NumberConvention) -> str:
    """SQL converting a text column to DECIMAL(18,2), NULL when it does not parse.

    Accepts a leading or trailing minus and accounting parentheses `(12.00)`; refuses
    more than two significant decimals rather than rounding an amount silently, and
    a grouping that starts with zero (`0,001` is no thousand in a dot column).
    Plain string functions do the common work; a regular expression checks the
    grouping only for values that contain the thousands mark.
    """
    if convention.decimal == ",":
        group, shape = ".", "[+-]?[1-9]\\d{0,2}(\\.\\d{3})+(,\\d+)?"
        plain = "replace(replace(b, '.', ''), ',', '.')"
    else:
        group, shape = ",", "[+-]?[1-9]\\d{0,2}(,\\d{3})+(\\.\\d+)?"
        plain = "replace(b, ',', '')"
    negative = (
        "((starts_with(r, '(') AND ends_with(r, ')'))"
        " OR (ends_with(r, '-') AND NOT starts_with(r, '-')))"
    )
    return f"""(
        SELECT CASE
          WHEN regexp_full_match(b, '[+-]?[0-9.,]+')
           AND (NOT contains(b, '{group}') OR regexp_full_match(b, '{shape}'))
           AND TRY_CAST({plain} AS DECIMAL(18,2))
               = TRY_CAST({plain} AS DECIMAL(38,10))
          THEN TRY_CAST({plain} AS DECIMAL(18,2)) * sign_factor
        END
        FROM (SELECT CASE WHEN {negative} THEN -1 ELSE 1 END AS sign_factor,
                     CASE WHEN {negative} THEN trim(r, '()-') ELSE r END AS b
              FROM (SELECT {_bare_number(column)} AS r))
    )"""


@dataclass
class DateConvention:
    """How one column writes dates: the order of day and month, and how we know."""

    order: str | None  # "dmy", "mdy" or None when no slash dates
    settled: bool
    ambiguous: bool = False
    serials: bool = False


_SLASH = "^(\\d{1,2})[/.-](\\d{1,2})[/.-](\\d{2}|\\d{4})$"


def detect_date(
    con: duckdb.DuckDBPyConnection, table: str, column: str, serials: bool = False
) -> DateConvention:
    """Day-first or month-first, decided from every value of the column.

    A value whose first part is over 12 settles day-first; one whose second part is
    over 12 settles month-first. When neither appears but some value differs read
    either way (03/04/2025), the column stays ambiguous and the user is asked.
    """
    value = clean(column)
    first = f"TRY_CAST(regexp_extract(v, '{_SLASH}', 1) AS INTEGER)"
    second = f"TRY_CAST(regexp_extract(v, '{_SLASH}', 2) AS INTEGER)"
    dmy, mdy, differ, slashes = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE f > 12 AND s BETWEEN 1 AND 12),
               count(*) FILTER (WHERE s > 12 AND f BETWEEN 1 AND 12),
               count(*) FILTER (WHERE f <> s AND f BETWEEN 1 AND 12
                                AND s BETWEEN 1 AND 12),
               count(f)
        FROM (SELECT {first} AS f, {second} AS s
              FROM (SELECT {value} AS v
                    FROM (SELECT DISTINCT {column} FROM {table}) AS d({column}))
              WHERE v IS NOT NULL)
        """
    ).fetchone()
    if not slashes:
        return DateConvention(None, True, serials=serials)
    if dmy and not mdy:
        return DateConvention("dmy", True, serials=serials)
    if mdy and not dmy:
        return DateConvention("mdy", True, serials=serials)
    if dmy and mdy:
        order = "dmy" if dmy >= mdy else "mdy"
        return DateConvention(order, True, serials=serials)
    return DateConvention(None, False, ambiguous=bool(differ), serials=serials)


def date_sql(
    column: str, order: str | None, serials: bool = False, cleaned: bool = False
) -> str:
    """SQL converting a text column to DATE, NULL when the value is not a real date.

    `31/02/2025` stays NULL (no roll-over to March), `00/00/0000` too. With
    `cleaned`, the column is already trimmed (see `clean`).
    """
    value = column if cleaned else clean(column)
    day_first = "%d/%m/%Y" if order != "mdy" else "%m/%d/%Y"
    short = day_first.replace("%Y", "%y")
    serial = (
        "WHEN regexp_full_match(v, '\\d{5}(\\.0+)?') "
        "THEN DATE '1899-12-30' + CAST(CAST(v AS DOUBLE) AS INTEGER)"
        if serials
        else ""
    )
    iso_day = "regexp_extract(v, '^(\\d{4}-\\d{1,2}-\\d{1,2})', 1)"
    slashed = "regexp_replace(v, '[.-]', '/', 'g')"
    return f"""(
        SELECT CASE
          WHEN regexp_matches(v, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([ T].*)?$')
            THEN CAST(try_strptime({iso_day}, '%Y-%m-%d') AS DATE)
          WHEN regexp_full_match(v, '\\d{{4}}[/.]\\d{{1,2}}[/.]\\d{{1,2}}')
            THEN CAST(
              try_strptime(regexp_replace(v, '[.]', '/', 'g'), '%Y/%m/%d') AS DATE)
          WHEN regexp_full_match(v, '\\d{{8}}')
            THEN CAST(try_strptime(v, '%Y%m%d') AS DATE)
          WHEN regexp_full_match(v, '\\d{{1,2}}[/.-]\\d{{1,2}}[/.-]\\d{{4}}')
            THEN CAST(try_strptime({slashed}, '{day_first}') AS DATE)
          WHEN regexp_full_match(v, '\\d{{1,2}}[/.-]\\d{{1,2}}[/.-]\\d{{2}}')
            THEN CAST(try_strptime({slashed}, '{short}') AS DATE)
          {serial}
        END
        FROM (SELECT {value} AS v)
    )"""
