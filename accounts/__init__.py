"""Users, workspaces, memberships, and the Clerk gateway."""
