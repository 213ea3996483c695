from django.urls import path

from . import regulation_views, views

urlpatterns = [
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/ledger/", views.ledger_download, name="ledger-download"),
    path("tasks/ledger/import/", views.ledger_import, name="ledger-import"),
    path("tasks/ledger/returned/<str:token>/", views.ledger_returned, name="ledger-returned"),
    path("regulation/", regulation_views.regulations, name="regulation"),
    path("regulation/import/", regulation_views.regulation_import, name="regulation-import"),
    path("regulation/upload/status/", regulation_views.upload_status, name="regulation-upload-status"),
    path("regulation/<int:pk>/", regulation_views.regulation, name="regulation-detail"),
    path("regulation/<int:pk>/amend/", regulation_views.regulation_amend, name="regulation-amend"),
    path(
        "regulation/<int:pk>/amend/preview/", regulation_views.regulation_amend_preview, name="regulation-amend-preview"
    ),
    path(
        "regulation/<int:pk>/amend/correct/", regulation_views.regulation_amend_correct, name="regulation-amend-correct"
    ),
    path(
        "regulation/<int:pk>/amend/confirm/", regulation_views.regulation_amend_confirm, name="regulation-amend-confirm"
    ),
    path(
        "regulation/<int:pk>/amendment/withdraw/",
        regulation_views.regulation_amendment_withdraw,
        name="regulation-amendment-withdraw",
    ),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation-detail"),
    path("obligations/<int:pk>/act/<slug:name>/", views.obligation_action, name="obligation-action"),
    path("obligations/<int:pk>/milestones/<int:mid>/done/", views.milestone_done, name="milestone-done"),
    path("obligations/<int:pk>/review/confirm/", views.review_confirm, name="obligation-review-confirm"),
    path("obligations/<int:pk>/evidence/<int:eid>/download/", views.evidence_download, name="evidence-download"),
]
