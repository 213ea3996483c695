from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("export/", views.export, name="export"),
    path("implementation-report/", views.implementation_report, name="implementation-report"),
    path("amendment-table/", views.amendment_table, name="amendment-table"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job"),
    path("jobs/<uuid:job_id>/status/", views.job_status, name="job-status"),
    path("jobs/<uuid:job_id>/download/", views.job_download, name="job-download"),
]
