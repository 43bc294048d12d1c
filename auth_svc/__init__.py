"""auth_svc: users, credentials, sessions, roles, verification and password flows."""
