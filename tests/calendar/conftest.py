"""The enforcement fixtures (an entity maker, the rulebook) for the provisional-deadline tests."""

from tests.enforcement.conftest import book, make_entity  # noqa: F401
