"""Reading uploads: a CSV file streamed row by row, or a JSON array. A file unusable as a whole is
refused with a clear code before anything is stored."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from djangorestframework_camel_case.util import camel_to_underscore

from imports.errors import EmptyImport, InvalidImportFile
from imports.registry import ImportType
from loyalty.csvfiles import unescape_formula

ROW_ERROR = "__row_error__"
# The columns GET /imports/{key}?format=csv adds to failed records: ignored on upload, so the
# fixed file goes straight back in.
REPORT_COLUMNS = {"line", "error_code", "error_message"}
SNIFF_BYTES = 64 * 1024


def _column_name(header: str) -> str:
    return camel_to_underscore(header.strip()) if header else ""


class CsvUpload:
    """Header checked at once; rows decoded lazily, so a large file never sits in memory whole."""

    def __init__(self, raw: IO[bytes], import_type: ImportType):
        self.import_type = import_type
        head = raw.read(SNIFF_BYTES)
        if not head.strip():
            raise EmptyImport("The file is empty.")
        if b"\x00" in head:
            raise InvalidImportFile("The file is not a CSV text file (it holds binary data).", code="invalid_file")
        try:
            # Only complete characters: the sniffed block may end inside a multi-byte one.
            codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        except UnicodeDecodeError as exc:
            raise InvalidImportFile(
                f"The file is not UTF-8 (byte {exc.start} of the first block). Save it as UTF-8 CSV.",
                code="invalid_encoding",
            ) from exc
        stream = io.BufferedReader(_Prepend(head, raw))
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        first = self._readline()
        self.delimiter = ";" if first.count(";") > first.count(",") else ","
        self.reader = csv.reader(_chain([first], self.text), delimiter=self.delimiter)
        try:
            header = next(self.reader)
        except StopIteration:
            raise EmptyImport("The file is empty.") from None
        except csv.Error as exc:
            raise InvalidImportFile(f"The header row is not valid CSV: {exc}.") from exc
        self.header = [h.strip() for h in header]
        self._check_header()
        self.keep = [
            _column_name(h) not in REPORT_COLUMNS or _column_name(h) in import_type.fields() for h in self.header
        ]

    def _readline(self) -> str:
        try:
            return self.text.readline()
        except UnicodeDecodeError as exc:
            raise InvalidImportFile("The file is not UTF-8. Save it as UTF-8 CSV.", code="invalid_encoding") from exc

    def _check_header(self) -> None:
        names = [_column_name(h) for h in self.header]
        if any(not n for n in names):
            raise InvalidImportFile("The header row has an empty column name.", code="invalid_header")
        duplicates = sorted({h for h, n in zip(self.header, names, strict=True) if names.count(n) > 1})
        if duplicates:
            raise InvalidImportFile(f"Columns given twice: {', '.join(duplicates)}.", code="invalid_header")
        fields = set(self.import_type.fields())
        alternatives = self.import_type.csv_alternatives
        extra = {c for cols in alternatives.values() for c in cols}
        unknown = [
            h
            for h, n in zip(self.header, names, strict=True)
            if n not in fields and n not in extra and n not in REPORT_COLUMNS
        ]
        if unknown:
            raise InvalidImportFile(
                f"Unknown columns: {', '.join(unknown)}. GET /imports/importtypes lists the fields of "
                f"{self.import_type.key}.",
                code="unknown_columns",
            )
        given = set(names)
        missing = [
            n
            for n in self.import_type.required_fields()
            if n not in given and not (alternatives.get(n) and given.issuperset({alternatives[n][0]}))
        ]
        if missing:
            from loyalty.api.errors import camel

            raise InvalidImportFile(
                f"Missing required columns: {', '.join(camel(n) for n in missing)}.", code="missing_columns"
            )

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        width = len(self.header)
        try:
            for row in self.reader:
                if not any(cell.strip() for cell in row):
                    continue
                # A cell the failed-records download escaped (loyalty.csvfiles) comes back as it was.
                cells = zip(self.header, row, self.keep, strict=False)
                record: dict[str, Any] = {h: unescape_formula(cell) for h, cell, keep in cells if keep}
                if len(row) > width:
                    record[ROW_ERROR] = f"The row has {len(row)} cells; the header has {width}."
                yield self.reader.line_num, record
        except UnicodeDecodeError as exc:
            raise InvalidImportFile(
                f"The file is not UTF-8 (near line {self.reader.line_num + 1}). Save it as UTF-8 CSV.",
                code="invalid_encoding",
            ) from exc
        except csv.Error as exc:
            raise InvalidImportFile(f"Line {self.reader.line_num}: {exc}.", code="invalid_file") from exc


def json_records(body: Any) -> Iterator[tuple[int, Any]]:
    if not isinstance(body, list):
        raise InvalidImportFile("The body must be a JSON array of records.", code="invalid_body")
    if not body:
        raise EmptyImport()
    yield from enumerate(body, start=1)


class _Prepend(io.RawIOBase):
    """The sniffed head, then the rest of the file: nothing read twice, nothing held whole."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def _chain(first: Iterable[str], rest: Iterable[str]) -> Iterator[str]:
    yield from first
    yield from rest
