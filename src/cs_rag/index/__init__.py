"""Index backends behind one protocol."""
