"""Call recordings: deciding, keeping, processing, serving."""
