"""Least-privilege RBAC for pipeline service accounts (see rbac/README.md)."""
