"""Form mapping per domain: form fields ↔ request schemas, messages in Chinese."""
