"""The HTTP side of the service, one room per concern (README, "Where things are"):
operations/ (what the spec routes to), wire/ (how things look on the wire), platform/ (the
app, its middlewares and Connexion), outbound/ (webhook delivery), cli/ (`interviews`)."""
