"""How things look on the wire: presenters, iCalendar, cursors, conditional requests,
timestamps and problem+json. Plain values in and out: no Connexion, no Starlette."""
