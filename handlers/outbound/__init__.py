"""Work that leaves the service: webhook delivery and the SSRF checks on where it may go.
No Connexion, no Starlette."""
