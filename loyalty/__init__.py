"""The program: configuration, API clients, audit log, event feed and the API conventions."""

__version__ = "0.1.0"
