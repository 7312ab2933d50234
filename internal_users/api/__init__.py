"""The staff JSON API under ``/api/admin/internal-users/`` (DESIGN.md, "HTTP surface")."""
