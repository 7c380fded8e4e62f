"""Persistence (README, "Where things are"): connection.py binds the database and holds the
transactions, prepared.py the reads compiled once, integrity.py what its errors mean, models.py
and one module per rule family the rules next to the data, migrations/ the schema."""
