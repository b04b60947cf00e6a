"""Credentials: component tokens (HS256 JWTs), the root token, scopes and constraints."""
