"""Media shared by both sides: recording, synthetic sources, quality probes (calls issue)."""
