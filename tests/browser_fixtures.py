"""Playwright fixtures for admin tests in headless Chromium (filled in by the browser-test work)."""
