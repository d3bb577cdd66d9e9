"""The generator of the 1vy legal site: Markdown policy versions in, a static site out."""

# The release, as in pyproject.toml's [project] version (tests/test_packaging.py checks they are
# equal). versions.json names it as the generator that built the site; being in this file, it is
# part of the store's and the build stamp's digest of the code, so a new version builds again.
__version__ = "0.2.0.dev0"
