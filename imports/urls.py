from django.urls import path

from imports import export_views, views

urlpatterns = [
    path("imports/importtypes", views.ImportTypesView.as_view(), name="imports-types"),
    path("imports/report", views.ReportView.as_view(), name="imports-report"),
    path("imports/cancelbatch", views.CancelBatchView.as_view(), name="imports-cancel"),
    path("imports/queuebatch", views.QueueBatchView.as_view(), name="imports-queuebatch"),
    path("imports/queuetype", views.QueueTypeView.as_view(), name="imports-queuetype"),
    path("imports/<str:key>", views.ImportBatchView.as_view(), name="imports-batch"),
    path("imports/<str:key>/csv", views.ImportBatchCsvView.as_view(), name="imports-batch-csv"),
    path("csvimports/<str:importType>", views.CsvImportView.as_view(), name="csvimports"),
    path("exports/templates", export_views.ExportTemplatesView.as_view(), name="exports-templates"),
    path("exports/jobs/<str:key>", export_views.ExportJobView.as_view(), name="exports-job"),
    path("exports/jobs/<str:key>/download", export_views.ExportJobDownloadView.as_view(), name="exports-download"),
    path("exports/<str:template>", export_views.ExportView.as_view(), name="exports-export"),
]
