"""Inspection results: recording by the team, review, publication within 20 working days,
corrections as new versions, and staff statistics."""
