"""Reading amounts and dates from text, one convention per whole column.

Detection runs aggregate queries over every value of a column (not a sample), or over
the distinct values and shapes an import's scan collected, then builds the SQL that
converts the column with the convention found. Values that do not follow it convert
to NULL, and the importer reports them by line. Detection also tells when DuckDB's
CSV reader can type a column itself, exactly as this module's SQL would.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

# Spaces a spreadsheet puts in numbers: space, no-break, narrow no-break, figure.
_SPACES = "[\\s\\x{00A0}\\x{202F}\\x{2007}]"
_STRIP = "[\\s\\x{00A0}\\x{202F}\\x{2007}€$£]|EUR|USD|GBP|CHF|eur"

DATE_ORDERS = ("dmy", "mdy", "ymd")

# How a yes/no cell is written, lower case, in French and English.
YES = ("oui", "o", "yes", "y", "true", "vrai", "1", "x")
NO = ("non", "n", "no", "false", "faux", "0")

# An amount DuckDB's reader types exactly as `number_sql` does: a minus, at most 15
# digits grouped by plain spaces, at most two decimals after one mark. Its reader
# rounds extra decimals and accepts exponents, so other shapes stay text.
_PLAIN_NUMBER = "-?[0-9]{1,3}( ?[0-9]{3}){0,4}([,.][0-9]{1,2})?"
_DIGITS = "'0123456789', '0000000000'"

# A date DuckDB's reader types exactly as `date_sql` does, per reader format. Its
# `%Y` also reads two-digit years as year 13, so only four-digit years qualify.
_READER_DATES = {
    "dmy": {"/": "%d/%m/%Y", ".": "%d.%m.%Y", "-": "%d-%m-%Y"},
    "mdy": {"/": "%m/%d/%Y", ".": "%m.%d.%Y", "-": "%m-%d-%Y"},
}
_ISO_DAY = "%Y-%m-%d"


def yes_no(text: str) -> bool | None:
    """A yes/no cell ('oui', 'N', 'true', '0' ...) as a boolean, else None."""
    word = str(text).strip().lower()
    if word in YES:
        return True
    return False if word in NO else None


def clean(expr: str) -> str:
    """A text cell trimmed, with odd spaces made plain, empty as NULL.

    A cell of ASCII characters (as many bytes as characters) with no tab and no
    space at either end is already clean and passes as it is: those tests are
    plain byte scans, while trimming writes every cell anew. Plain `contains`
    tests keep the other cells off the regular expression, which is several times
    slower over a million rows.
    """
    odd_spaces = "'[\\x{00A0}\\x{202F}\\t]'"
    odd = " OR ".join(
        f"contains({expr}, '{mark}')" for mark in ("\u00a0", "\u202f", "\t")
    )
    full = (
        f"NULLIF(trim(CASE WHEN {odd} THEN regexp_replace({expr}, {odd_spaces}, ' ', "
        f"'g') ELSE {expr} END), '')"
    )
    plain = (
        f"strlen({expr}) = length({expr}) AND NOT contains({expr}, '\t') "
        f"AND NOT prefix({expr}, ' ') AND NOT suffix({expr}, ' ') AND {expr} <> ''"
    )
    return f"CASE WHEN {plain} THEN {expr} ELSE {full} END"


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
    """How one column writes numbers: the decimal mark and whether it was settled.

    `typed` tells that every value has a plain shape DuckDB's CSV reader types
    exactly (with this decimal mark and spaces as thousands separators).
    """

    decimal: str  # "," or "."
    settled: bool
    note: str = ""
    typed: bool = False


def detect_number(con: duckdb.DuckDBPyConnection, table: str, column: str):
    """The decimal mark of a column, decided from all of its values.

    A value settles the question when its last separator is followed by one or two
    digits (`12,5`, `1 234,56`, `1.234,56`) or when both marks appear. A value such as
    `1,234` or `1.234` only suggests that the mark is a thousands separator.
    """
    values = (
        f"SELECT {_bare_number(column)} AS v, 1 AS n FROM {table} "
        f"WHERE {column} IS NOT NULL"
    )
    return _number_convention(*_number_counts(con, values))


def number_shape_sql(column: str) -> str:
    """A short key for the shape of an amount cell, digits written as 0.

    The whole column reduces to a few keys whose counts decide its convention like
    its values would: the rules of `detect_number` look at digits only as digits.
    A plain amount (see `_PLAIN_NUMBER`) is keyed by its decimal mark alone, `=,`,
    `=.` or `=`: cheaper than writing out its digits, which DuckDB's `translate`
    does slowly.
    """
    mark = (
        f"CASE WHEN contains({column}, ',') THEN ',' "
        f"WHEN contains({column}, '.') THEN '.' ELSE '' END"
    )
    return (
        f"CASE WHEN regexp_full_match({column}, '{_PLAIN_NUMBER}') "
        f"THEN '=' || {mark} ELSE translate({column}, {_DIGITS}) END"
    )


def detect_number_shapes(
    con: duckdb.DuckDBPyConnection, table: str, shape: str, count: str
) -> NumberConvention:
    """The convention of a column from its shapes (`number_shape_sql`) and counts.

    Same decision as `detect_number` over the values themselves, a plain amount
    standing for any with its mark; in addition the column is `typed` when all of
    its values are plain and use a single mark.
    """
    bare = _bare_number(shape)
    values = (
        f"SELECT CASE {shape} WHEN '=,' THEN '0,00' WHEN '=.' THEN '0.00' "
        f"WHEN '=' THEN '0' ELSE {bare} END AS v, {count} AS n "
        f"FROM {table} WHERE {shape} IS NOT NULL"
    )
    comma, dot, comma3, dot3 = _number_counts(con, values)
    convention = _number_convention(comma, dot, comma3, dot3)
    all_plain = con.execute(
        f"SELECT coalesce(bool_and({shape} IN ('=,', '=.', '=')), true) FROM {table} "
        f"WHERE {shape} IS NOT NULL"
    ).fetchone()[0]
    convention.typed = bool(all_plain) and not (comma and dot)
    return convention


def _number_counts(con, values: str) -> tuple[int, int, int, int]:
    """Counts of values that settle a comma, settle a dot, group by commas, by dots.

    `values` selects a bare value `v` and the number of cells `n` that hold it.
    """
    comma_groups = "'[-+(]?\\d{1,3}(,\\d{3})+\\)?-?'"
    dot_groups = "'[-+(]?\\d{1,3}(\\.\\d{3})+\\)?-?'"
    row = con.execute(
        f"""
        SELECT
          sum(n) FILTER (WHERE regexp_matches(v, ',\\d{{1,2}}\\)?-?$')
                            OR regexp_matches(v, '\\.\\d{{3}},')),
          sum(n) FILTER (WHERE regexp_matches(v, '\\.\\d{{1,2}}\\)?-?$')
                            OR regexp_matches(v, ',\\d{{3}}\\.')),
          sum(n) FILTER (WHERE regexp_full_match(v, {comma_groups})),
          sum(n) FILTER (WHERE regexp_full_match(v, {dot_groups}))
        FROM ({values})
        """
    ).fetchone()
    return tuple(int(count or 0) for count in row)


def _number_convention(comma: int, dot: int, comma3: int, dot3: int):
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
    A plain amount (`1 234,56`) takes a direct cast; the others go through the full
    rules, where plain string functions do the common work and a regular expression
    checks the grouping only for values that contain the thousands mark. DuckDB
    computes each repeated sub-expression once per row.
    """
    mark = convention.decimal
    plain_shape = _PLAIN_NUMBER.replace("[,.]", "," if mark == "," else "\\.")
    if mark == ",":
        group, shape = ".", "[+-]?[1-9]\\d{0,2}(\\.\\d{3})+(,\\d+)?"

        def plain(text: str) -> str:
            return f"replace(replace({text}, '.', ''), ',', '.')"

    else:
        group, shape = ",", "[+-]?[1-9]\\d{0,2}(,\\d{3})+(\\.\\d+)?"

        def plain(text: str) -> str:
            return f"replace({text}, ',', '')"

    # A plain amount holds no thousands mark but spaces, and at most two decimals.
    if mark == ",":
        direct = (
            f"TRY_CAST(replace(replace({column}, ' ', ''), ',', '.') AS DECIMAL(18,2))"
        )
    else:
        direct = f"TRY_CAST(replace({column}, ' ', '') AS DECIMAL(18,2))"
    r = f"({_bare_number(column)})"
    negative = (
        f"((starts_with({r}, '(') AND ends_with({r}, ')'))"
        f" OR (ends_with({r}, '-') AND NOT starts_with({r}, '-')))"
    )
    b = f"(CASE WHEN {negative} THEN trim({r}, '()-') ELSE {r} END)"
    sign = f"(CASE WHEN {negative} THEN -1 ELSE 1 END)"
    return f"""(CASE
        WHEN regexp_full_match({column}, '{plain_shape}') THEN {direct}
        WHEN regexp_full_match({b}, '[+-]?[0-9.,]+')
         AND (NOT contains({b}, '{group}') OR regexp_full_match({b}, '{shape}'))
         AND TRY_CAST({plain(b)} AS DECIMAL(18,2))
             = TRY_CAST({plain(b)} AS DECIMAL(38,10))
        THEN TRY_CAST({plain(b)} AS DECIMAL(18,2)) * {sign}
    END)"""


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


def reader_date_formats(
    con: duckdb.DuckDBPyConnection, table: str, column: str, order: str | None
) -> list[str]:
    """The formats with which DuckDB's reader types every value like `date_sql`.

    A value qualifies when it is written exactly (no padding) with a four-digit
    year, and is a real date: `31/02/2025` must stay text, so that it becomes NULL
    with a warning rather than a reader error. An empty column takes any format.
    """
    slashed = _READER_DATES["mdy" if order == "mdy" else "dmy"]
    shapes = {
        f"\\d{{1,2}}\\{mark}\\d{{1,2}}\\{mark}\\d{{4}}": fmt
        for mark, fmt in slashed.items()
    }
    shapes["\\d{4}-\\d{1,2}-\\d{1,2}"] = _ISO_DAY
    checks = ", ".join(
        f"coalesce(bool_and(coalesce(regexp_full_match(cell, '{shape}') "
        f"AND CAST(try_strptime(cell, '{fmt}') AS DATE) = day, false)), true)"
        for shape, fmt in shapes.items()
    )
    found = con.execute(
        f"SELECT {checks} FROM (SELECT cell, {date_sql('cell', order)} AS day "
        f"FROM (SELECT {column} AS cell FROM {table}) WHERE cell IS NOT NULL)"
    ).fetchone()
    return [fmt for fmt, ok in zip(shapes.values(), found, strict=True) if ok]


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
