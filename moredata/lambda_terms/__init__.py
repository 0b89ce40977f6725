"""Lambda-calculus reduction traces: terms, the normal-order stepper, an independent normaliser, a biased
sampler, traces and chunked generation (see README.md here)."""
