"""Request parsers of the import endpoints."""

from django.core.files.uploadedfile import TemporaryUploadedFile
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from imports import conf
from imports.errors import ImportTooLarge
from loyalty.api import json_input

COPY_CHUNK = 64 * 1024


class CsvBodyParser(BaseParser):
    """A raw `text/csv` body, spooled to a temporary file as it arrives (flat memory)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        upload = TemporaryUploadedFile("upload.csv", "text/csv", 0, "utf-8")
        limit, total = conf.max_bytes(), 0
        while stream is not None and (chunk := stream.read(COPY_CHUNK)):
            total += len(chunk)
            if total > limit:
                upload.close()
                raise ImportTooLarge(f"The file is larger than {limit} bytes.")
            upload.write(chunk)
        upload.seek(0)
        upload.size = total
        return {"file": upload}


class JsonImportParser(BaseParser):
    """A JSON body read from the request stream. DRF's JSONParser goes through `request.body`, which
    Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB); an import is capped by IMPORT_MAX_BYTES. Read by
    loyalty.api.json_input, as every JSON body: nesting and NUL limits."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        try:
            return json_input.loads(stream.read().decode("utf-8"))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
