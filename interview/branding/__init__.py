"""Branding per organisation: logo, accent colour and sender name for candidates."""
