"""Test support shipped with the package: the local OpenAI-compatible server."""

__all__: list[str] = []
