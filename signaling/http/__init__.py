"""HTTP: pages, the REST API (described by /api/openapi.json), health."""
