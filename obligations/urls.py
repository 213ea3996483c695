from django.urls import path

from . import views

urlpatterns = [
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/ledger/", views.ledger_download, name="ledger-download"),
    path("tasks/ledger/import/", views.ledger_import, name="ledger-import"),
    path("regulation/", views.regulations, name="regulation"),
    path("regulation/import/", views.regulation_import, name="regulation-import"),
    path("regulation/<int:pk>/", views.regulation, name="regulation-detail"),
    path(
        "regulation/<int:pk>/amendment/withdraw/",
        views.regulation_amendment_withdraw,
        name="regulation-amendment-withdraw",
    ),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation-detail"),
    path("obligations/<int:pk>/act/<slug:name>/", views.obligation_action, name="obligation-action"),
    path("obligations/<int:pk>/milestones/<int:mid>/done/", views.milestone_done, name="milestone-done"),
    path("obligations/<int:pk>/review/confirm/", views.review_confirm, name="obligation-review-confirm"),
    path("obligations/<int:pk>/evidence/<int:eid>/download/", views.evidence_download, name="evidence-download"),
]
