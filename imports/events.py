"""The event types and audit actions of the imports app."""

IMPORT_QUEUED = "import.queued"
IMPORT_CANCELLED = "import.cancelled"
IMPORT_RESUMED = "import.resumed"
IMPORT_COMPLETED = "import.completed"
IMPORT_FAILED = "import.failed"
EXPORT_COMPLETED = "export.completed"
EXPORT_FAILED = "export.failed"
