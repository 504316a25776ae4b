"""Domain-free building blocks: database, errors, clock, ids, hashing, jobs."""
