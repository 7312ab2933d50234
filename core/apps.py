from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        # Django's own server (runserver, rundemo, the tests' live server) writes a response's status line, headers
        # and body in separate small writes on a keep-alive connection: with Nagle's algorithm on, each later write
        # waits for the client's delayed ACK, about 40 ms on Linux, on every request (a 401 took 44 ms instead of
        # 2.6 ms). Production runs gunicorn, which this does not touch.
        from django.core.servers.basehttp import WSGIRequestHandler

        WSGIRequestHandler.disable_nagle_algorithm = True
