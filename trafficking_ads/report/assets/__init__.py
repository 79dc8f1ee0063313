"""The report page's template, stylesheet and script (package data, inlined at build time)."""
