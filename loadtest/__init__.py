"""Simulated support journeys and their reports."""
