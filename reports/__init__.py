"""PDF documents (WeasyPrint): templates and the functions that render them."""
