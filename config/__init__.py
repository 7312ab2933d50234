"""Project configuration: settings, root URLconf, WSGI and ASGI entry points."""
