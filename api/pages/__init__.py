"""Server-rendered pages (Jinja2): the public portal and the staff pages."""
