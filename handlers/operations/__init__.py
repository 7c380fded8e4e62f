"""What openapi.yaml routes to: one module per resource, holding only functions named after
operationIds (`showInterview` -> `show_interview`). Each takes the validated arguments, calls
one function in db/, and shapes the answer with handlers.wire."""
