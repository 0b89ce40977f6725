"""RAG core, usable without the server: splitters, embedders, the document store, retrieval and answer
generation. The FastAPI service over it is services/rag."""
