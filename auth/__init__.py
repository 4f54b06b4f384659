"""OAuth2 for agencies: clients, signed tokens, the caller of each request, field scopes,
masking and jurisdiction."""
