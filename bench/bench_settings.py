"""Settings of the load benches: production settings (their required environment filled in for loopback by
``load_common.production_env``) with the benches' URLconf. Nothing else differs from production."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
