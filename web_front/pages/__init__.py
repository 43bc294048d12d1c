"""One module per group of pages; each has `mount(app)` adding its routes."""
