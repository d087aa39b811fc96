"""Users, roles, sessions (JWT), API tokens, login rate limiting."""
