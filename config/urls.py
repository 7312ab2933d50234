"""Root URLconf."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("django-admin/", admin.site.urls),
]
