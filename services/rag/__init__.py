"""The RAG service: ingest, retrieve, answer (see README.md)."""
