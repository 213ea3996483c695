from django.urls import path

from . import views

app_name = "dashboard-api"

urlpatterns = [
    path("summary/", views.SummaryView.as_view(), name="summary"),
    path("bodies/", views.BodiesView.as_view(), name="bodies"),
    path("chapters/", views.ChaptersView.as_view(), name="chapters"),
    path("grid/", views.GridView.as_view(), name="grid"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
    path("trend/", views.TrendView.as_view(), name="trend"),
    path("queue/", views.QueueView.as_view(), name="queue"),
]
