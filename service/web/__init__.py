"""The quality department's web pages: sessions, rendering, role-scoped queries, exports and statistics."""
