"""One router per resource: health, documents, and the answers (query, generate)."""
