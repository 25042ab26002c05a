"""The demo city: a seeded, reproducible 昌吉市-like registry, written as registration-office
export files and loaded through the real importer."""
