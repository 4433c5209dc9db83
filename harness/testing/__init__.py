"""Test support shipped with the package: the local OpenAI-compatible server (``testserver``),
a scripted judge client (``fakes``), run directories written from typed records
(``rundirs``) and the offline report's reference comparison (``golden``).

Import the modules themselves (``from harness.testing.rundirs import scored_run``): this
package imports nothing on its own, so the server's aiohttp stays out of every other import.
"""

__all__: list[str] = []
