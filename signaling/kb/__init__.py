"""Knowledge base: articles, macros, their search, and the first-response bot."""
