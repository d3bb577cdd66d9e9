"""The generator of the 1vy legal site: Markdown policy versions in, a static site out."""
