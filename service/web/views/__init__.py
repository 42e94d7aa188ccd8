"""Thin page views: parse the request, call queries or service functions, render."""
