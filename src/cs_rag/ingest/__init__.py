"""Knowledge readers: FAQ tables, passage sets and policy documents into Documents and Chunks."""
