"""Service functions own the writes: keyword-only arguments, no HTTP exceptions here."""
