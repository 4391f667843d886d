"""Rendered reports (HTML) of results computed elsewhere."""
