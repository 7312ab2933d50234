"""Root URLconf: pages, the JSON API under /api/, the Clerk webhook, and Django's admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from accounts.webhooks import clerk_webhook
from core.views import ApiDocsView

# Django tries the patterns in order, and each ``include`` under "" tries every pattern of its app: the webhook,
# the busiest URL (every Clerk event), comes first so it is not matched after some 70 page patterns.
urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/clerk/", clerk_webhook, name="clerk-webhook"),
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False)),
    path("", include("accounts.urls")),
    path("", include("invitations.urls")),
    path("", include("internal_users.urls")),
    path("api/", include("invitations.api.urls")),
    path("api/admin/internal-users/", include("internal_users.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]
