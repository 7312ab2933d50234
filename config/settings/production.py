"""Production settings: secrets and the database come from the environment, with no defaults.

Minimal for now; later issues add REDIS_URL, Clerk keys, the email backend, django-tasks-db and security headers.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
