"""Official documents' numbers (发文字号): per-authority, per-year series, never reused."""
