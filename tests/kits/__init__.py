"""Reusable test kits: conformance checks every problem and optimizer conf passes."""
