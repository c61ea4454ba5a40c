"""Who is calling: passwords, signed tokens, host-site identities, and what each role may do."""
