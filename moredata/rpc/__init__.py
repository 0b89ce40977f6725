"""gRPC plumbing shared by the servers and clients: the server builder (health, reflection, error interceptor,
stream limits, graceful shutdown), tensor codecs, the health probe, and the generated stubs in `proto/`."""
