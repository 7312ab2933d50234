"""The project's URLs plus endpoints that fail in ways no handler knows (tests/core/test_hostile_bodies.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns


class BoomApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("an error no handler knows")


def plain_boom(request: HttpRequest) -> HttpResponse:
    raise ZeroDivisionError("outside DRF")


def html_503(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<h1>down</h1>", status=503, content_type="text/html")


urlpatterns: list[URLPattern | URLResolver] = [
    path("api/boom/", BoomApi.as_view()),
    path("api/plain-boom/", plain_boom),
    path("api/html-503/", html_503),
    path("page-boom/", plain_boom),
    *project_urlpatterns,
]
