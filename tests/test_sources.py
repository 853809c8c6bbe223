"""Reading files into staging tables: encodings, separators, headers, lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from dunning import columns, sources
from dunning.errors import ImportRefused

DATA = Path(__file__).parent / "data"


def write(tmp_path: Path, data: bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def staged(path: Path, tmp_path: Path, **options) -> tuple[sources.Source, list]:
    con = duckdb.connect()
    source = sources.stage_csv(
        con, path, "staged", columns.looks_like_header, tmp_path, **options
    )
    rows = con.execute("SELECT * FROM staged ORDER BY line").fetchall()
    con.close()
    return source, rows


# ---------------------------------------------------------------------------
# Encodings and separators


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(b"Code;Nom\nC1;Caf\xc3\xa9\n", "utf-8", id="utf-8 é = C3 A9"),
        pytest.param(b"\xef\xbb\xbfCode;Nom\nC1;x\n", "utf-8-sig", id="BOM EF BB BF"),
        pytest.param(b"Code;Nom\nC1;plain\n", "utf-8", id="ASCII reads as utf-8"),
        pytest.param(b"Code;Lib\nC1;12 \x80 \x97 c\x9cur\n", "cp1252", id="cp1252 80"),
        pytest.param(b"Code;Lib\nC1;2 000 \xa4\n", "iso-8859-15", id="8859-15 A4 = €"),
        pytest.param(b"Code;Nom\nC1;Lef\xe8vre\n", "cp1252", id="latin letters only"),
        pytest.param(b"Code;Lib\nC1;\x80 \xa4\n", "cp1252", id="80 decides cp1252"),
    ],
)
def test_detect_encoding(tmp_path, data, encoding):
    assert sources.detect_encoding(write(tmp_path, data)) == encoding


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("echeancier_clients_cp1252.csv", "cp1252"),
        ("export_excel_csv_utf8.csv", "utf-8-sig"),
        ("123456789FEC20251231.txt", "iso-8859-15"),
        ("123456789FEC20251231_pipe_utf8.txt", "utf-8"),
        ("WA_Fn-UseC_-Accounts-Receivable.csv", "utf-8"),
    ],
)
def test_detect_encoding_of_the_case_files(name, encoding):
    assert sources.detect_encoding(DATA / name) == encoding


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        pytest.param("a,b,c\n1,2,3\n4,5,6\n", ",", id="comma"),
        pytest.param("a;b;c\n1,5;2,5;3\n4;5;6\n", ";", id="semicolon, comma decimals"),
        pytest.param("a\tb\tc\n1\t2\t3\n", "\t", id="tab"),
        pytest.param("a|b|c\n1|2|3\n", "|", id="pipe"),
        pytest.param('a,b,c\n"x;y",2,3\n"p;q",5,6\n', ",", id="quoted semicolons"),
        pytest.param("a;b\n1 234,56;x\n", ";", id="one row of two fields"),
        pytest.param(
            "a;b;c;d;e\n1;2;x;4;1,5\n1;2;y; z;4;2,5\n1;2;w;4;3,5;\n",
            ";",
            id="stray semicolons: 5 columns beat 2 decimal-comma fields",
        ),
    ],
)
def test_detect_delimiter(tmp_path, text, delimiter):
    path = write(tmp_path, text.encode())
    assert sources.detect_delimiter(path) == delimiter


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [
        ("postes_C00310.csv", ";"),
        ("123456789FEC20251231_pipe_utf8.txt", "|"),
        ("WA_Fn-UseC_-Accounts-Receivable.csv", ","),
        ("contacts_clients.csv", ";"),
    ],
)
def test_detect_delimiter_of_the_case_files(name, delimiter):
    assert sources.detect_delimiter(DATA / name) == delimiter


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        pytest.param(
            b"Code;Lib\nC1;ok\nC2;bad \x81 byte\n",
            None,
            r"cp1252 encoding: byte 0x81 on line 3 \(offset 22\)",
            id="0x81 is no cp1252 character; offset 9 + 6 + 7 = 22",
        ),
        pytest.param(
            b"\xef\xbb\xbfCode;Lib\nC1;Caf\xc3\n",
            None,
            r"utf-8-sig encoding: byte 0xc3 on line 2 \(offset 18\)",
            id="truncated utf-8 after a BOM; offset 3 + 9 + 6 = 18",
        ),
        pytest.param(
            b"Code;Lib\nC1;Lef\xe8vre\n",
            "utf-8",
            r"utf-8 encoding: byte 0xe8 on line 2 \(offset 15\)",
            id="cp1252 read as utf-8; offset 9 + 6 = 15",
        ),
        pytest.param(b"Code;Lib\n", "klingon", "Unknown encoding 'klingon'", id="name"),
    ],
)
def test_undecodable_file_is_refused_with_its_place(tmp_path, data, encoding, message):
    with pytest.raises(ImportRefused, match=message):
        staged(write(tmp_path, data), tmp_path, encoding=encoding)


def test_unquoted_separator_inside_a_value_is_a_malformed_line(tmp_path):
    """Header 3 fields; line 3 has 4; line 4 ends with an empty 4th field."""
    text = "Code client;Libellé;Montant\nC1;a;1\nC2;b; c;2\nC3;d;3;\n"
    source, rows = staged(write(tmp_path, text.encode()), tmp_path)
    assert [row[:2] for row in rows] == [(2, "C1"), (4, "C3")]
    assert [bad["line"] for bad in source.malformed] == [3]
    assert "more fields than the 3 columns" in source.malformed[0]["message"]
    assert source.rows == 2


def test_a_field_on_every_line_that_the_header_does_not_name_gets_a_column(tmp_path):
    text = "Code client;Montant\nC1;1,00;EUR\nC2;2,00;EUR\nC3;3,00;EUR;x\n"
    source, rows = staged(write(tmp_path, text.encode()), tmp_path)
    assert source.columns == ["Code client", "Montant", "column 3"]
    assert rows == [(2, "C1", "1,00", "EUR"), (3, "C2", "2,00", "EUR")]
    assert [bad["line"] for bad in source.malformed] == [4]


# ---------------------------------------------------------------------------
# Headers


def test_clean_header():
    raw = ["\ufeffN° client", " Nom ", '"Montant"', "Montant", "", None]
    assert sources.clean_header(raw) == [
        "N° client",
        "Nom",
        "Montant",
        "Montant (2)",
        "column 5",
        "column 6",
    ]


def test_header_of_a_utf8_bom_file_has_no_bom(tmp_path):
    source, rows = staged(DATA / "export_excel_csv_utf8.csv", tmp_path)
    assert source.columns == [
        "N° client",
        "Nom",
        "Pièce",
        "Échéance",
        "Montant",
        "Devise",
    ]
    assert source.columns[0].encode() == b"N\xc2\xb0 client"
    assert source.encoding == "utf-8-sig"
    assert [row[0] for row in rows] == [2, 3, 4]


def test_title_rows_above_the_header_are_skipped(tmp_path):
    text = (
        "Échéancier clients au 15/02/2026\n"
        "\n"
        "Société Exemple;;\n"
        "Code client;N° pièce;Montant\n"
        "C1;FA-1;10,00\n"
    )
    source, rows = staged(write(tmp_path, text.encode()), tmp_path, delimiter=";")
    assert source.columns == ["Code client", "N° pièce", "Montant"]
    assert source.header_line == 4
    assert rows == [(5, "C1", "FA-1", "10,00")]


def test_find_header_takes_the_first_row_with_known_names():
    records = [["Report"], [], ["Code client", "Montant"], ["C1", "12"]]
    assert sources.find_header(records, columns.looks_like_header) == 2


def test_find_header_without_known_names_takes_the_first_non_empty_row():
    records = [[], ["", ""], ["alpha", "beta"], ["1", "2"]]
    assert sources.find_header(records, columns.looks_like_header) == 2


# ---------------------------------------------------------------------------
# Lines a person sees


def test_case_10_lines_are_physical_lines(tmp_path):
    """Line 3-4 hold C00072 (quoted CR LF), 6-7 hold C00074 (quoted LF).

    Header 1, C00071 2, C00072 3, C00073 5, C00074 6, C00075 8, C00076 9, C00077 10.
    """
    source, rows = staged(DATA / "contacts_clients.csv", tmp_path)
    assert [(row[0], row[1]) for row in rows] == [
        (2, "C00071"),
        (3, "C00072"),
        (5, "C00073"),
        (6, "C00074"),
        (8, "C00075"),
        (9, "C00076"),
        (10, "C00077"),
    ]
    assert (
        rows[1][4]
        == "facturation@bureau-vallet.example\r\nBcc: collecte@attaquant.example"
    )
    assert source.rows == 7


def test_lines_after_a_quoted_newline_and_title_rows(tmp_path):
    """Title 1, header 2, A 3, B 4-5 (quoted LF), C 6."""
    text = 'Ledger\nCode client;Libellé;Montant\nA;x;1\nB;"two\nlines";2\nC;y;3\n'
    _, rows = staged(write(tmp_path, text.encode()), tmp_path)
    assert [(row[0], row[1]) for row in rows] == [(3, "A"), (4, "B"), (6, "C")]


def test_lines_after_empty_lines(tmp_path):
    """Header 1, A 2, empty 3, B 4, empty 5-6, C 7."""
    text = "Code client;Montant\r\nA;1\r\n\r\nB;2\r\n\r\n\r\nC;3\r\n"
    _, rows = staged(write(tmp_path, text.encode()), tmp_path)
    assert [(row[0], row[1]) for row in rows] == [(2, "A"), (4, "B"), (7, "C")]


def test_lines_of_a_plain_file(tmp_path):
    text = "Code client;Montant\nA;1\nB;2\n"
    _, rows = staged(write(tmp_path, text.encode()), tmp_path)
    assert [(row[0], row[1]) for row in rows] == [(2, "A"), (3, "B")]


def test_cp1252_file_is_staged_as_text(tmp_path):
    source, rows = staged(DATA / "echeancier_clients_cp1252.csv", tmp_path)
    assert source.columns[4] == "Libellé"
    assert source.columns[-1] == "Reste dû"
    assert rows[0][1:6] == (
        "C00012",
        "Boulangerie Lefèvre & Fils",
        "Facture",
        "FA-2026-0041",
        "Pains spéciaux — janvier",
    )
    assert rows[4][2] == "Cœur de Lion SARL"
    assert rows[4][5] == "Livraison; palettes et emballages"
    assert rows[1][8] == "12\u00a0500,00"


# ---------------------------------------------------------------------------
# Formats and Excel cells


@pytest.mark.parametrize(
    ("head", "name", "fmt"),
    [
        pytest.param(b"PAR1\x15\x04", "x.bin", "parquet", id="parquet magic"),
        pytest.param(b"PK\x03\x04\x14\x00", "x.xlsx", "excel", id="zip = xlsx"),
        pytest.param(
            b"JournalCode|JournalLib|CompteNum|CompAuxNum\n", "f.txt", "fec", id="fec"
        ),
        pytest.param(b"Code client;Montant\n", "x.txt", "csv", id="text"),
    ],
)
def test_detect_format(tmp_path, head, name, fmt):
    assert sources.detect_format(write(tmp_path, head, name)) == fmt


def test_old_excel_files_are_refused_with_advice(tmp_path):
    path = write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls")
    with pytest.raises(ImportRefused, match=r"\.xlsx"):
        sources.detect_format(path)


@pytest.mark.parametrize(
    ("cell", "decimal", "text"),
    [
        pytest.param(None, ".", None, id="empty"),
        pytest.param("", ".", None, id="empty text"),
        pytest.param("00012", ".", "00012", id="text with leading zeros"),
        pytest.param(12.0, ".", "12", id="whole number"),
        pytest.param(980.4, ".", "980.40", id="two decimals"),
        pytest.param(980.4, ",", "980,40", id="two decimals, comma column"),
        pytest.param(-250.0, ",", "-250", id="negative whole"),
        pytest.param(dt.date(2026, 1, 31), ".", "2026-01-31", id="date"),
        pytest.param(dt.datetime(2026, 1, 15), ".", "2026-01-15", id="midnight"),
        pytest.param(True, ".", "true", id="boolean"),
    ],
)
def test_cell_text(cell, decimal, text):
    assert sources.cell_text(cell, decimal) == text
