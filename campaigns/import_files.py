"""Reading lead files: decode, find the columns, split into rows; every bad row named.

Only a file that cannot be a CSV of leads at all (empty, a spreadsheet, no
phone column) fails whole. Anything wrong with one row (a stray or
unterminated quote, a NUL byte, a name too long) is that row's error, and the
rows around it are read as if it were not there.

Decoding streams the file line by line, so a file is never held whole. UTF-16
(with or without a byte order mark) is read as such; any other file is read
as UTF-8 line by line, and a line that is not UTF-8 as Windows-1252: one
stray Windows byte late in a UTF-8 file changes that line alone, not the
"Zoë" of every other line.
"""

import codecs
import csv
import io
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from campaigns.models import Lead
from portal.phones import phone_parse

HEAD_BYTES = 4096  # enough to recognise UTF-16 and binary files
DELIMITERS = [",", ";", "\t", "|"]
# A quoted cell may hold line breaks (a note, an address), but not this many:
# past it the quote is taken for unterminated, its row is named, and reading
# starts again on the next line instead of swallowing the rest of the file.
MAX_LINES_PER_ROW = 10
NAME_MAX = Lead._meta.get_field("first_name").max_length

# Header words after folding (accents dropped, lower case, words joined by "_"),
# in English, French, Spanish and German.
PHONE_HEADERS = {
    "phone", "phone_number", "phonenumber", "phone_no", "mobile", "mobile_number",
    "mobile_phone", "mobilephone", "cell", "cell_phone", "cellphone", "cell_number",
    "number", "tel", "telephone", "msisdn", "sms", "contact_number", "whatsapp",
    "portable", "telephone_portable", "numero_de_telephone", "mobile_phone_number",
    "telefono", "telefono_movil", "movil", "celular", "numero_de_telefono",
    "telefon", "telefonnummer", "handy", "handynummer", "mobil", "mobilnummer",
    "mobiltelefon",
}  # fmt: skip
FIRST_NAME_HEADERS = {
    "first_name", "firstname", "first", "given_name", "forename",
    "prenom", "vorname",
}  # fmt: skip
LAST_NAME_HEADERS = {
    "last_name", "lastname", "last", "surname", "family_name",
    "nom_de_famille", "apellido", "apellidos", "nachname", "familienname",
}  # fmt: skip
NAME_HEADERS = {
    "name", "full_name", "fullname", "contact_name", "contact",
    "nom_complet", "nombre_completo", "vollstandiger_name",
}  # fmt: skip
# French "Nom" is the surname beside "Prénom", Spanish "Nombre" the first name
# beside "Apellido"; alone, each is the whole name.
SURNAME_BESIDE_FIRST = {"nom"}
FIRST_BESIDE_SURNAME = {"nombre"}


class ImportUnreadable(Exception):
    """The file cannot be read as a CSV of leads at all; nothing was imported."""


@dataclass
class Layout:
    encoding: str  # "utf-16" family, or "8bit": UTF-8 lines, else Windows-1252
    delimiter: str
    phone: int
    first_name: int | None
    last_name: int | None
    full_name: int | None
    extras: dict[int, str]
    has_header: bool


@dataclass
class Row:
    """One row of the file: its number (first line), cells, and what is wrong with it."""

    number: int
    cells: list[str]
    error: str = ""


def _fold(header: str) -> str:
    plain = unicodedata.normalize("NFKD", header.strip().casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "_", plain).strip("_")


def _detect_encoding(path: Path) -> str:
    """UTF-16 by its byte order mark or its NUL bytes; else "8bit" (decided per line)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise ImportUnreadable("The file is empty.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0::2], head[1::2]
    # ASCII text in UTF-16 has a NUL in every other byte.
    if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.1:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.1:
        return "utf-16-be"
    binary = head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))  # xlsx, xls
    if binary or head.count(0) > max(len(head) // 10, 16):
        raise ImportUnreadable(
            "The file is not a CSV text file (it looks like a spreadsheet or "
            "binary file). Save it as CSV and upload it again."
        )
    return "8bit"


def _decode_8bit(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; replace them rather than refuse the row.
        return raw.decode("cp1252", errors="replace")


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, text with its line break) for every line of the file."""
    with path.open("rb") as handle:
        if encoding != "8bit":
            text = io.TextIOWrapper(handle, encoding=encoding, newline="")
            yield from enumerate(text, start=1)
            return
        for number, raw in enumerate(handle, start=1):
            line = _decode_8bit(raw)
            yield number, line.removeprefix("\ufeff") if number == 1 else line


class _Source:
    """The lines fed to csv.reader, remembering those of the current row; lines can go back."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self.lines = lines
        self.back: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if len(self.taken) > MAX_LINES_PER_ROW:
            raise StopIteration  # ends the row here: _records names it
        line = self.back.popleft() if self.back else next(self.lines)
        self.taken.append(line)
        return line[1]

    def give_back_all_but_first(self) -> int:
        """Read the current row's later lines again; return its first line's number."""
        first, *rest = self.taken
        self.back.extendleft(reversed(rest))
        return first[0]


def _unterminated(
    taken: list[tuple[int, str]], starts_row: Callable[[str], bool]
) -> bool:
    """Say whether a row read over several lines is a quote left open, not a cell with breaks.

    A quote open at the end of the file, a row longer than MAX_LINES_PER_ROW,
    or a later line that reads as a row of its own (its phone cell holds a
    number) each mean the quote swallowed rows.
    """
    if len(taken) == 1:
        return False
    quotes = sum(text.count('"') for _, text in taken)
    return (
        len(taken) > MAX_LINES_PER_ROW
        or quotes % 2 == 1
        or any(starts_row(text) for _, text in taken[1:])
    )


def _records(
    path: Path, layout: Layout, starts_row: Callable[[str], bool]
) -> Iterator[Row]:
    """Yield every non-blank row; a row csv cannot read comes with its error."""
    source = _Source(_lines(path, layout.encoding))
    reader = csv.reader(source, delimiter=layout.delimiter)
    while True:
        source.taken = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number = source.give_back_all_but_first()
            yield Row(number, [], f"unreadable row ({exc})")
            continue
        if _unterminated(source.taken, starts_row):
            number = source.give_back_all_but_first()
            yield Row(number, [], "a quote opened in this row is never closed")
            continue
        if any(cell.strip() for cell in cells):
            yield Row(source.taken[0][0], cells)


def _detect_layout(path: Path, region: str) -> Layout:
    encoding = _detect_encoding(path)
    first = next((text for _, text in _lines(path, encoding) if text.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    folded = [_fold(h) for h in header]
    phone = next((i for i, h in enumerate(folded) if h in PHONE_HEADERS), None)
    has_header = True
    if phone is None:
        # No header row: a first row holding a number is data, its column the phone.
        phone = next(
            (i for i, v in enumerate(header) if phone_parse(v, region=region).e164),
            None,
        )
        if phone is None:
            raise ImportUnreadable(
                "No phone column: name one column Phone, Mobile or phone_number. "
                f"Columns found: {', '.join(h.strip() for h in header) or 'none'}."
            )
        has_header = False

    def find(words: set[str]) -> int | None:
        if not has_header:
            return None
        return next((i for i, h in enumerate(folded) if h in words), None)

    first_name, last_name = find(FIRST_NAME_HEADERS), find(LAST_NAME_HEADERS)
    if first_name is not None and last_name is None:
        last_name = find(SURNAME_BESIDE_FIRST)
    if last_name is not None and first_name is None:
        first_name = find(FIRST_BESIDE_SURNAME)
    full_name = (
        None
        if first_name is not None
        else find(NAME_HEADERS | SURNAME_BESIDE_FIRST | FIRST_BESIDE_SURNAME)
    )
    known = {phone, first_name, last_name, full_name}
    extras = (
        {i: h.strip() for i, h in enumerate(header) if i not in known and h.strip()}
        if has_header
        else {}
    )
    return Layout(
        encoding, delimiter, phone, first_name, last_name, full_name, extras, has_header
    )


def lead_file_rows(path: Path, layout: Layout, region: str) -> Iterator[Row]:
    """Yield every data row of the file (the header skipped), bad ones with their error."""

    def starts_row(text: str) -> bool:
        cells = next(csv.reader([text], delimiter=layout.delimiter), [])
        return bool(phone_parse(_cell(cells, layout.phone), region=region).e164)

    rows = _records(path, layout, starts_row)
    if layout.has_header:
        next(rows, None)
    return rows


def lead_import_count_rows(*, path: Path, region: str) -> tuple[Layout, int]:
    """Find the file's layout and count its data rows; raise ImportUnreadable."""
    layout = _detect_layout(path, region)
    try:
        total = sum(1 for _ in lead_file_rows(path, layout, region))
    except UnicodeDecodeError as exc:
        raise ImportUnreadable(f"The file is not readable text: {exc}.") from exc
    return layout, total


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


@dataclass
class LeadRow:
    """A data row read as a lead: the phone as written and in E.164, or why it is not one."""

    number: int
    value: str
    phone: str = ""
    data: dict = field(default_factory=dict)
    error: str = ""


def _lead_row(row: Row, layout: Layout, region: str) -> LeadRow:
    value = _cell(row.cells, layout.phone)
    if row.error:
        return LeadRow(row.number, value, error=row.error)
    if any("\x00" in cell for cell in row.cells):
        return LeadRow(
            row.number,
            value,
            error="the row holds a NUL byte (the file may be damaged)",
        )
    if layout.phone >= len(row.cells):
        return LeadRow(row.number, "", error="missing phone column")
    parsed = phone_parse(value, region=region)
    if parsed.reason:
        return LeadRow(row.number, value, error=parsed.reason)
    first, last = (
        _cell(row.cells, layout.first_name),
        _cell(row.cells, layout.last_name),
    )
    if layout.full_name is not None:
        first, _, last = _cell(row.cells, layout.full_name).partition(" ")
        last = last.strip()
    if len(first) > NAME_MAX or len(last) > NAME_MAX:
        return LeadRow(
            row.number, value, error=f"a name is longer than {NAME_MAX} characters"
        )
    fields = {
        name: row.cells[i].strip()
        for i, name in layout.extras.items()
        if i < len(row.cells) and row.cells[i].strip()
    }
    data = {"first_name": first, "last_name": last, "fields": fields}
    return LeadRow(row.number, value, parsed.e164, data)


def lead_rows(path: Path, layout: Layout, region: str) -> Iterator[LeadRow]:
    """Yield every data row of the file as a lead, or with why it cannot be one."""
    for row in lead_file_rows(path, layout, region):
        yield _lead_row(row, layout, region)
