"""The report's sections, each a function from the report context to blocks."""

__all__: list[str] = []
