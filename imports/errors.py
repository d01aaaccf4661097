"""The refusals of the imports and exports app, each with a stable code."""

from loyalty.errors import Conflict, DomainError, InvalidInput, NotFound


class UnknownImportType(NotFound):
    code = "unknown_import_type"
    default_detail = "No such import type; GET /imports/importtypes lists them."


class UnknownExportTemplate(NotFound):
    code = "unknown_export_template"
    default_detail = "No such export template; GET /exports/templates lists them."


class BatchNotFound(NotFound):
    code = "batch_not_found"
    default_detail = "No import batch with this key."


class ExportJobNotFound(NotFound):
    code = "export_job_not_found"
    default_detail = "No export job with this key."


class InvalidImportFile(InvalidInput):
    """The upload as a whole is unusable; nothing was stored."""

    code = "invalid_file"


class EmptyImport(InvalidInput):
    code = "empty_import"
    default_detail = "The import holds no records."


class ImportTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class BatchNotResumable(Conflict):
    code = "batch_not_resumable"


class BatchNotCancellable(Conflict):
    code = "batch_not_cancellable"


class ExportNotReady(Conflict):
    code = "export_not_ready"
    default_detail = "The export job has not finished yet."
