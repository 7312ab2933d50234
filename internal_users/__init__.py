"""Internal staff users (Clerk application invitations)."""
