"""Consequences of results: the abnormal-operation and serious lists, credit restrictions,
zombie and revocation candidates — driven by the versioned rulebook in data/rulebook/."""
