"""Checks on a deployment: they take a client and a Deployment, never a launcher."""
