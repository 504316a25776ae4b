"""Platform jobs: the maintenance of the job queue itself (stalled-job recovery)."""
