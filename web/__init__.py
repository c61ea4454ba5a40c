"""Browser pages served by signaling: customer widget, agent console, demo host page."""
