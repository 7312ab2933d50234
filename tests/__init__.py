"""Test suite: one package per app under tests/<app>/."""
