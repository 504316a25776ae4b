"""The HTTP edge shared by all routers: dependencies and the denial auditor."""
