"""Workspace member invitations (Clerk organization invitations)."""
