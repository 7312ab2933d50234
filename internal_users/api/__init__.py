"""The staff JSON API under ``/api/admin/internal-users/`` (docs/internal-user-invitations.md, "API")."""
