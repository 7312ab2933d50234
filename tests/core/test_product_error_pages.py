"""With DEBUG on (the demo), pages still show the product's own 404 and 500 pages; the API is left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any) -> None:
    settings.DEBUG = True
    settings.PRODUCT_ERROR_PAGES_IN_DEBUG = True
    settings.ROOT_URLCONF = "tests.core.boom_urls"


@pytest.mark.usefixtures("demo")
def test_an_unknown_page_is_the_product_404() -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert "Go to the dashboard" in body
    assert "NOARCHIVE" not in body  # not Django's technical page


@pytest.mark.usefixtures("demo")
def test_a_page_that_fails_is_the_product_500() -> None:
    response = Client(raise_request_exception=False).get("/page-boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "ZeroDivisionError" not in body


@pytest.mark.usefixtures("demo")
def test_the_api_is_left_alone() -> None:
    response = Client().get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert "Go to the dashboard" not in response.content.decode()  # no product page under /api/


def test_off_django_shows_its_own_pages_for_debugging(settings: Any) -> None:
    settings.DEBUG = True
    settings.PRODUCT_ERROR_PAGES_IN_DEBUG = False
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert b"NOARCHIVE" in response.content
