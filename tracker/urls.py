from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import sso_views
from accounts import views as account_views

from . import views

handler500 = views.server_error

admin.site.site_header = "法规义务督办系统 · 管理后台"
admin.site.site_title = "督办系统管理"
admin.site.index_title = "数据管理"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", sso_views.LoginPage.as_view(), name="login"),
    path("accounts/logout/", account_views.Logout.as_view(), name="logout"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("api/auth/", include("accounts.api.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("obligations.api.urls")),
    path("", include("obligations.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("dashboard/", include("dashboard.urls")),
    path("api/dashboard/", include("dashboard.api.urls")),
    path("api/docs/", views.api_docs, name="api-docs"),
    path("reports/", include("reports.urls")),
    path("api/reports/", include("reports.api")),
    path("api/", include("notifications.api.urls")),
    path("notifications/", include("notifications.urls")),
]
